"""Repository URLs parsed strictly, and compared with an allowlist segment by segment.

A prefix test on the raw text (``url.startswith(entry)``) accepts ``https://git.example/team/../other.git``:
the server (or git, or curl) resolves the dot-segment and the push lands outside the prefix, with the
token. So a URL is refused outright unless it has a single meaning: an ASCII ``scheme://host[:port]/path``
with no userinfo, query or fragment, no backslash, blank or control character, no empty, ``.`` or ``..``
path segment, and no percent-encoded dot, slash, backslash or percent sign (the forms that a later decoding
turns into dot-segments or separators). Then scheme and host are compared case-insensitively (a default port
is the same as none) and the path segment by segment, after decoding the remaining percent escapes.
``urllib.parse`` splits the URL; the rules on top of it are ours, since no library refuses these forms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from generator.errors import UsageError

SCHEMES = ("https", "http", "ssh", "file")
_DEFAULT_PORTS = {"https": 443, "http": 80, "ssh": 22}
_UNSAFE_ESCAPE = re.compile(r"%(2e|2f|5c|25|[01][0-9a-f]|7f)", re.IGNORECASE)
_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOST = re.compile(r"[a-z0-9]([a-z0-9._-]*[a-z0-9])?|[0-9a-f.]*:[0-9a-f:.]*")  # a name, or IPv6 in [ ]


class UnsafeURLError(UsageError):
    """A repository URL that could mean more than one repository, or carries credentials."""


@dataclass(frozen=True)
class RepoURL:
    """A repository URL in comparable form: scheme and host lower-case, path as decoded segments."""

    scheme: str
    host: str
    port: int | None
    segments: tuple[str, ...]
    folder: bool  # the text ended with '/': an allowlist entry naming every repository under it

    def same_server(self, other: RepoURL) -> bool:
        return (self.scheme, self.host, self.port) == (other.scheme, other.host, other.port)

    def repository(self) -> tuple[str, ...]:
        """The segments with a trailing '.git' dropped: ``team/app`` and ``team/app.git`` are one repository."""
        *head, last = self.segments or ("",)
        return (*head, last.removesuffix(".git"))


def _refuse(url: str, why: str, what: str) -> UnsafeURLError:
    return UnsafeURLError(f"{what} {url!r}: {why}; give a plain URL such as https://git.example.com/team/app.git")


def _text_problem(url: str) -> str | None:
    if not url.isascii():
        return "it holds non-ASCII characters (percent-encode them)"
    if re.search(r"[\x00-\x20\x7f]", url):
        return "it holds a blank or control character"
    if "\\" in url:
        return "it holds a backslash"
    if "?" in url or "#" in url:
        return "it holds a query or fragment"
    if _UNSAFE_ESCAPE.search(url):
        return "it percent-encodes a dot, slash, backslash, percent sign or control character"
    if _ESCAPE.search(url):
        return "it holds a '%' that is not a percent escape"
    return None


def _server(url: str, scheme: str, netloc: str, what: str) -> tuple[str, int | None]:
    if "@" in netloc:
        raise UnsafeURLError(
            f"{what}: the URL carries credentials; pass the bare URL and put the token in PIPEFORGE_GIT_TOKEN "
            "(pipeforge sends it in a header, never in the URL)")
    parts = urlsplit(f"//{netloc}")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0 or netloc.endswith(":"):
        raise _refuse(url, "its port is not a number from 1 to 65535", what)
    host = parts.hostname or ""
    if scheme == "file":
        if host not in ("", "localhost") or port is not None:
            raise _refuse(url, "a file:// URL names no host (file:///path/to/repo.git)", what)
        return "", None
    if not _HOST.fullmatch(host):
        raise _refuse(url, f"{host!r} is not a host name", what)
    return host, None if port == _DEFAULT_PORTS[scheme] else port


def _segments(url: str, path: str, what: str) -> tuple[tuple[str, ...], bool]:
    if not path.startswith("/"):
        raise _refuse(url, "it names no repository path", what)
    if path == "/":
        return (), True  # an allowlist entry naming every repository of the server
    raw = path[1:].split("/")
    folder = raw[-1] == ""
    if folder:
        raw.pop()
    for segment in raw:
        if segment in ("", ".", ".."):
            raise _refuse(url, "its path has an empty, '.' or '..' segment", what)
    return tuple(unquote(s) for s in raw), folder


def parse_repo_url(url: str, *, what: str = "--repo") -> RepoURL:
    """``url`` in comparable form, or an UnsafeURLError saying which rule it breaks (see the module)."""
    problem = _text_problem(url)
    if problem is not None:
        raise _refuse(url, problem, what)
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.lower() not in SCHEMES:
        raise _refuse(url, "expected an https://, http://, ssh:// or file:// URL", what)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host, port = _server(url, scheme, parts.netloc, what)
    segments, folder = _segments(url, parts.path, what)
    return RepoURL(scheme, host, port, segments, folder)


def matches(url: RepoURL, entry: RepoURL) -> bool:
    """``url`` is the repository ``entry`` names (exact), or lies under it (an entry ending with '/')."""
    if not url.same_server(entry):
        return False
    if entry.folder:
        return len(url.segments) > len(entry.segments) and url.segments[: len(entry.segments)] == entry.segments
    return url.repository() == entry.repository()


def allowed(url: str, allowlist: Iterable[str]) -> bool:
    """``url`` parses strictly and is named by an entry of ``allowlist``; an entry that does not parse
    allows nothing."""
    try:
        parsed = parse_repo_url(url)
    except UnsafeURLError:
        return False
    for entry in allowlist:
        try:
            if matches(parsed, parse_repo_url(entry.strip(), what="allowlist entry")):
                return True
        except UnsafeURLError:
            continue
    return False
