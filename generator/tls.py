"""The TLS context of pipeforge's HTTPS clients (the forges' APIs, the registry's API), made once per process.

httpx builds a context for every client it makes and reads the whole CA bundle each time (tens of
milliseconds of CPU); the registry makes a forge client per pull-request job. The context is cached per
``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` (which httpx honours), so setting either still takes effect.
An ``SSLContext`` may be shared by threads.
"""

from __future__ import annotations

import functools
import os
import ssl


def client_context() -> ssl.SSLContext:
    """The context httpx would make for a client with ``verify=True``, shared."""
    return _context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=4)
def _context(_cert_file: str | None, _cert_dir: str | None) -> ssl.SSLContext:
    import httpx  # lazy: a command that never speaks HTTPS does not load httpx

    return httpx.create_ssl_context()
