"""The cached bare mirror of a GitOps repository, and the file locks that serialise work on it.

One mirror per repository URL under ``$XDG_CACHE_HOME/pipeforge/mirrors/<hash of the URL>.git``, reused
across runs: first a shallow fetch (the newest commit) of only the base branch and pipeforge's own branches,
later fetches bring what is new since. History is never needed: a pipeforge commit always sits directly on a
base commit, so a branch whose head is not pipeforge's commit for the target has someone else's work on it.
Commits are built in the mirror with plumbing (``hash-object``, ``mktree``, ``commit-tree``), so no working
tree of the (possibly huge) repository is ever checked out. The mirror is created by GitPython's ``Repo``
and every command runs through its ``Git`` object (:class:`generator.gitops.git.Git`).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from generator.errors import UsageError
from generator.gitops.git import Credentials, Git

BRANCH_PREFIX = "pipeforge/"
#: loose objects in a mirror beyond which a fetch packs them (git's own default); unreferenced objects (commits
#: built but never pushed, old fetches) are pruned once git's prune expiry (two weeks) has passed, so a commit
#: being built in another process is never taken away. (Constants so tests can lower them.)
GC_LOOSE_OBJECTS = 6700
PRUNE_EXPIRE = "2.weeks.ago"


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pipeforge"


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created if missing), held until the block ends; it also serialises
    threads of one process, since each call opens its own file description."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a")
    except OSError as exc:
        raise UsageError(f"cannot use the cache folder {path.parent}: {exc.strerror}; set XDG_CACHE_HOME to a "
                         "writable folder") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def target_lock(url: str, path: str, *, root: Path | None = None) -> Path:
    return (root or cache_root()) / "locks" / f"{_key(url, path)}.lock"


class Mirror:
    """A bare repository mirroring ``url``'s base branch and its ``pipeforge/*`` branches."""

    def __init__(self, url: str, credentials: Credentials | None, *, root: Path | None = None) -> None:
        self.url = url
        base = root or cache_root()
        self.path = base / "mirrors" / f"{_key(url)}.git"
        self.lock = base / "locks" / f"{_key(url)}.mirror.lock"
        self.git = Git(self.path, credentials)

    def _ensure(self) -> bool:
        """Create the mirror if missing; True when it was created (and needs its first, shallow, fetch)."""
        if (self.path / "HEAD").is_file():
            return False
        # The URL carries no credentials (check_url refuses them), so recording it is safe; no gc in the
        # background: fetch() collects, under the lock.
        self.git.init_bare({("remote \"origin\"", "url"): self.url, ("gc", "auto"): "0"})
        return True

    def fetch(self, base: str) -> None:
        """Bring the base branch and pipeforge's branches up to date (deleted ones disappear)."""
        with locked(self.lock):
            depth = ["--depth=1"] if self._ensure() else []  # later fetches bring what is new since
            self.git.run("fetch", "--quiet", "--prune", "--no-tags", *depth, "origin",
                         f"+refs/heads/{base}:refs/heads/{base}",
                         f"+refs/heads/{BRANCH_PREFIX}*:refs/heads/{BRANCH_PREFIX}*")
            self._collect()

    def _collect(self) -> None:
        """Pack loose objects once there are many, in the foreground and under the mirror's lock, so a
        long-lived cache does not grow without bound; a failed collection only leaves them loose."""
        counted = self.git.run("count-objects", check=False).stdout.split()  # "N objects, M kilobytes"
        if counted and counted[0].isdigit() and int(counted[0]) > GC_LOOSE_OBJECTS:
            self.git.run("gc", "--quiet", f"--prune={PRUNE_EXPIRE}", check=False)

    def resolve(self, ref: str) -> str | None:
        done = self.git.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return done.stdout.strip() or None
