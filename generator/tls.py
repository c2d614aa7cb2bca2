"""The TLS context of pipeforge's HTTPS clients (the forges' APIs, the registry's API), made once per process.

httpx builds a context for every client it makes and reads the whole CA bundle each time (tens of
milliseconds of CPU); the registry makes a forge client per pull-request job. The context is cached per
``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` (which httpx honours), so setting either still takes effect.
An ``SSLContext`` may be shared by threads.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING

from generator.errors import UsageError

if TYPE_CHECKING:
    import ssl  # for the annotations only: ssl takes 15 ms to import, and the CLI imports this module at start


def client_context() -> ssl.SSLContext:
    """The context httpx would make for a client with ``verify=True``, shared."""
    return _context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=4)
def _context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """Not cached when it fails: the error names the variable to fix."""
    import httpx  # lazy: a command that never speaks HTTPS does not load httpx

    try:
        return httpx.create_ssl_context()
    except OSError as exc:  # ssl.SSLError included: a file that holds no certificate
        where = (f"SSL_CERT_FILE={cert_file}" if cert_file else f"SSL_CERT_DIR={cert_dir}" if cert_dir
                 else "the CA bundle")
        raise UsageError(f"{where}: cannot be read as CA certificates ({exc.strerror or exc})") from None
