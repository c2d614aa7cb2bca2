"""Render a pipeline into PATH of a GitOps repository on the branch ``pipeforge/<path-slug>``, idempotently.

One target (repository and PATH) always uses the same branch. The branch holds one pipeforge commit on top
of the base branch: the base's tree with PATH replaced by the pipeline folder. Nothing is committed or
pushed when PATH on the branch (or, with no branch yet, on the base) already holds exactly that folder.
A branch that carries a commit pipeforge did not make (no ``Pipeforge-Target`` trailer for this PATH) is
never overwritten. Work on one target is serialised by a file lock; a concurrent push from elsewhere is
detected by ``--force-with-lease`` and resolved by fetching and deciding again.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import ConflictError, RemoteError, UsageError
from generator.gitops.git import Credentials, check_branch, check_url, explain
from generator.gitops.mirror import BRANCH_PREFIX, Mirror, locked, target_lock
from generator.paths import UnsafePathError, path_problem, shown, tree_problems
from generator.safe_write import write_files
from generator.scaffold import Pipeline

TRAILER = "Pipeforge-Target"
_AUTHOR = re.compile(r"^\s*(?P<name>[^<>]+?)\s*<(?P<email>[^<>\s]+@[^<>\s]+)>\s*$")
_RACE = ("stale info", "fetch first", "non-fast-forward", "failed to lock", "failed to update ref",
         "cannot lock ref", "reference already exists")


@dataclass(frozen=True)
class Author:
    """Who pipeforge's commits are by (author and committer)."""

    name: str = "pipeforge"
    email: str = "pipeforge@users.noreply.github.com"

    @classmethod
    def parse(cls, text: str) -> Author:
        match = _AUTHOR.match(text)
        if match is None:
            raise UsageError(f"--author {text!r}: expected 'Name <email@example.com>'")
        return cls(match["name"], match["email"])

    def env(self) -> dict[str, str]:
        return {"GIT_AUTHOR_NAME": self.name, "GIT_AUTHOR_EMAIL": self.email,
                "GIT_COMMITTER_NAME": self.name, "GIT_COMMITTER_EMAIL": self.email}


@dataclass(frozen=True)
class Folder:
    """What to put at PATH: text files, plus entries carried over from the base as they are
    (path -> (mode, type, object id): files pipeforge does not manage, symlinks, executables)."""

    files: dict[str, str]
    message: str
    kept: dict[str, tuple[str, str, str]] = field(default_factory=dict)


#: The base branch's head commit -> the folder to write there, or None when nothing should be written.
Content = Callable[[str], Folder | None]


@dataclass(frozen=True)
class BranchResult:
    """What happened on the remote: the branch, its head commit, and whether pipeforge pushed."""

    branch: str
    commit: str  # the branch's head; the base's head when the base already holds the pipeline
    changed: bool  # pipeforge pushed a new commit
    exists: bool  # the branch exists on the remote after the run and is needed (the base does not hold PATH)
    created: bool  # the branch did not exist before


def target_path(path: str) -> str:
    """PATH as a relative POSIX folder inside the repository (surrounding blanks and one trailing '/'
    dropped); a UsageError unless it is a clean relative path (``generator.paths``: no '..', no '.git' in any
    case or short name, no backslash, no control character)."""
    text = path.strip()
    text = text[:-1] if text.endswith("/") and len(text) > 1 else text
    problem = path_problem(text)
    if problem is not None:
        raise UnsafePathError(f"--path {shown(path)}: {problem}; expected a folder inside the repository, such as "
                              "'apps/orders/pipeline' (plain names separated by '/', not the repository root)")
    return text


def branch_name(path: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
    return BRANCH_PREFIX + (slug or "root")


def commit_message(pipeline: Pipeline, path: str) -> str:
    name, version = pipeline.template.name, pipeline.template.version
    return (
        f"pipeforge: {name} {version} in {path}\n\n"
        f"Rendered by pipeforge from the template {name}, version {version} (digest {pipeline.digest}).\n"
        f"Simulated failures: {pipeline.verdict}\n\n"
        f"{TRAILER}: {path}\nPipeforge-Template: {name}@{version}\nPipeforge-Digest: {pipeline.digest}\n"
    )


@contextmanager
def target_locked(*, repo: str, path: str, cache: Path | None = None) -> Iterator[None]:
    """Hold the lock of one target (repository and PATH) in the cache, for work beyond the branch."""
    with locked(target_lock(check_url(repo), target_path(path), root=cache)):
        yield


def publish_branch(pipeline: Pipeline, *, repo: str, path: str, base: str = "main", author: Author | None = None,
                   credentials: Credentials | None = None, cache: Path | None = None,
                   attempts: int = 5, lock: bool = True) -> BranchResult:
    """Make ``pipeforge/<slug>`` of ``repo`` hold ``pipeline`` at ``path`` over ``base``; see the module.

    ``lock=False`` when the caller already holds :func:`target_locked` for this target."""
    wanted = Folder(pipeline.files, commit_message(pipeline, target_path(path)))
    return publish_content(lambda _base: wanted, repo=repo, path=path, base=base, author=author,
                           credentials=credentials, cache=cache, attempts=attempts, lock=lock)


def publish_content(content: Content, *, repo: str, path: str, base: str = "main", author: Author | None = None,
                    credentials: Credentials | None = None, cache: Path | None = None,
                    attempts: int = 5, lock: bool = True) -> BranchResult:
    """:func:`publish_branch` for a folder that depends on the base: ``content`` is asked again on every
    attempt, with the base's head commit as fetched then (it may read the base's tree through
    :func:`read_folder`)."""
    url, folder = check_url(repo), target_path(path)
    check_branch(base)
    writer = _Writer(Mirror(url, credentials, root=cache), content, folder, base, author or Author())
    with locked(target_lock(url, folder, root=cache)) if lock else nullcontext():
        for _ in range(attempts):
            writer.mirror.fetch(base)
            result = writer.attempt()
            if result is not None:
                return result
    raise RemoteError(f"the branch {writer.branch} of {url} changed under every one of {attempts} attempts "
                      "to update it; run again once the other writer is done")


def read_folder(mirror: Mirror, commit: str, path: str) -> dict[str, tuple[str, str, str]]:
    """The entries under ``path`` of ``commit``'s tree: relative path -> (mode, type, object id)."""
    listing = mirror.git.run("ls-tree", "-r", "-z", "--full-tree", commit, "--", f"{path}/").stdout
    entries: dict[str, tuple[str, str, str]] = {}
    for record in filter(None, listing.split("\0")):
        meta, name = record.split("\t", 1)
        mode, kind, sha = meta.split()
        entries[name[len(path) + 1:]] = (mode, kind, sha)
    return entries


class _Writer:
    def __init__(self, mirror: Mirror, content: Content, path: str, base: str, author: Author) -> None:
        self.mirror, self.git = mirror, mirror.git
        self.content, self.path, self.base, self.author = content, path, base, author
        self.branch = branch_name(path)

    def attempt(self) -> BranchResult | None:
        """One decision on fresh refs; None when the remote moved under the push (try again)."""
        base = self.mirror.resolve(f"refs/heads/{self.base}")
        if base is None:
            raise RemoteError(f"the repository has no branch {self.base!r}: check --base")
        current = self.mirror.resolve(f"refs/heads/{self.branch}")
        wanted = self.content(base)
        if wanted is None:
            return BranchResult(self.branch, current or base, changed=False, exists=current is not None,
                                created=False)
        folder = self._folder_tree(wanted)
        if self._tree_at(base, self.path) == folder:  # merged already: no branch (and no pull request) needed
            return BranchResult(self.branch, base, changed=False, exists=False, created=False)
        if current is not None and self._tree_at(current, self.path) == folder:
            return BranchResult(self.branch, current, changed=False, exists=True, created=False)
        if current is not None:
            self._refuse_foreign_commits(base, current)
        tree = self._replace(base, self.path.split("/"), folder)
        commit = self.git.out("commit-tree", tree, "-p", base, input=wanted.message, env=self.author.env())
        if not self._push(commit, current):
            return None
        return BranchResult(self.branch, commit, changed=True, exists=True, created=current is None)

    def _folder_tree(self, wanted: Folder) -> str:
        """The folder as a tree object in the mirror, paths checked again before they become tree entries. The
        blobs are hashed by one ``git hash-object`` from numbered files in a private folder: no file named by
        a template is ever created."""
        problems = tree_problems(wanted.files)  # the kept entries come from the repository's own tree
        if problems:
            raise UnsafePathError(f"refusing to commit into {self.path}: " + "; ".join(problems))
        names = sorted(wanted.files)
        with tempfile.TemporaryDirectory(prefix="pipeforge-blobs-") as staging:
            numbered = {str(index): wanted.files[name] for index, name in enumerate(names)}
            write_files(Path(staging), numbered)
            blobs = self.git.out("hash-object", "-w", "--no-filters", "--stdin-paths",
                                 input="".join(f"{staging}/{number}\n" for number in numbered)).split()
        written = {name: ("100755" if wanted.kept.get(name, ("",))[0] == "100755" else "100644", "blob", blob)
                   for name, blob in zip(names, blobs, strict=True)}
        return self._mktree_nested({**wanted.kept, **written})

    def _mktree_nested(self, objects: dict[str, tuple[str, str, str]]) -> str:
        entries: list[str] = []
        children: dict[str, dict[str, tuple[str, str, str]]] = {}
        for name, (mode, kind, sha) in objects.items():
            head, sep, rest = name.partition("/")
            if sep:
                children.setdefault(head, {})[rest] = (mode, kind, sha)
            else:
                entries.append(f"{mode} {kind} {sha}\t{name}")
        entries += [f"040000 tree {self._mktree_nested(sub)}\t{d}" for d, sub in children.items()]
        return self.git.out("mktree", "-z", input="\0".join(entries) + "\0")

    def _tree_at(self, commit: str, path: str) -> str | None:
        done = self.git.run("rev-parse", "--verify", "--quiet", f"{commit}:{path}", check=False)
        return done.stdout.strip() or None

    def _replace(self, tree_ish: str | None, parts: list[str], subtree: str) -> str:
        """The tree ``tree_ish`` with ``parts`` (a path) replaced by ``subtree``, built level by level."""
        listing = self.git.out("ls-tree", "-z", tree_ish) if tree_ish else ""
        kept = [e for e in listing.split("\0") if e and e.split("\t", 1)[1] != parts[0]]
        if len(parts) == 1:
            new = subtree
        else:
            below = next((e for e in listing.split("\0") if e and e.split("\t", 1)[1] == parts[0]
                          and e.split()[1] == "tree"), None)
            new = self._replace(below.split()[2] if below else None, parts[1:], subtree)
        kept.append(f"040000 tree {new}\t{parts[0]}")
        return self.git.out("mktree", "-z", input="\0".join(kept) + "\0")

    def _refuse_foreign_commits(self, base: str, current: str) -> None:
        log = self.git.out("log", "--format=%H%x1f%an <%ae>%x1f%s%x1f%(trailers:key=" + TRAILER +
                           ",valueonly,separator=%x2C)%x1e", f"{base}..{current}")
        for record in filter(None, (r.strip() for r in log.split("\x1e"))):
            sha, who, subject, targets = (record.split("\x1f") + [""] * 4)[:4]
            named = [t.strip() for t in targets.split(",") if t.strip()]
            if named and self.path not in named:
                raise ConflictError(
                    f"the branch {self.branch} belongs to pipeforge's target {named[0]!r}, whose folder name "
                    f"gives the same branch as {self.path!r}; write this pipeline to another --path"
                )
            if not named:
                raise ConflictError(
                    f"the branch {self.branch} has a commit pipeforge did not make: {sha[:12]} by {who} "
                    f"({subject!r}); pipeforge never overwrites a person's work. Merge or close that pull "
                    f"request, or delete the branch, then run again"
                )

    def _push(self, commit: str, expected: str | None) -> bool:
        """Push with a lease on what we saw; False on a race (someone else moved the branch)."""
        ref = f"refs/heads/{self.branch}"
        done = self.git.run("push", "--porcelain", f"--force-with-lease={ref}:{expected or ''}", "origin",
                            f"{commit}:{ref}", check=False)
        if done.returncode == 0:
            return True
        rejected = [line for line in done.stdout.splitlines() if line.startswith("!")]
        reason = " ".join(rejected)
        if rejected and any(mark in reason for mark in _RACE):
            return False
        if rejected:
            raise RemoteError(f"the push of {self.branch} was refused; nothing changed on the remote: "
                              f"{explain(done.stderr + ' ' + reason)}")
        raise RemoteError(f"the push of {self.branch} failed, and it cannot be told whether it arrived: "
                          f"{explain(done.stderr)}. Run again: pipeforge fetches and pushes only what is missing")
