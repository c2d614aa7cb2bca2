"""``pipeforge pr``: put a rendered pipeline on its stable branch and, with a forge, open or update its PR.

The library entry point is :func:`open_pull_request`; the CLI and (later) the API call it. Provider
``none`` pushes the branch only, for any git remote.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import RemoteError, UsageError, YamlLimitError
from generator.gitops.branch import (
    Author,
    BranchResult,
    Folder,
    branch_name,
    commit_message,
    publish_content,
    target_locked,
    target_path,
)
from generator.gitops.git import Credentials
from generator.lint import Finding, lint_text
from generator.scaffold import MANIFEST_FILE, Pipeline
from generator.severity import SEVERITIES
from generator.yamlio import load_json

if TYPE_CHECKING:  # httpx and the forges load only when a forge is asked for
    import httpx

    from generator.gitops.forges import Forge, Found  # lazy: httpx and the forges load only when a forge is asked for

PROVIDERS = ("none", "github", "gitlab", "gitea")
BLOCK_START = "<!-- pipeforge:metadata "
BLOCK_END = " -->"


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str
    action: str  # created, updated, unchanged, or declined (a person closed it unmerged: left closed)

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "url": self.url, "action": self.action}


@dataclass(frozen=True)
class Outcome:
    branch: BranchResult
    pull_request: PullRequest | None

    def as_dict(self) -> dict[str, Any]:
        return {"branch": self.branch.branch, "commit": self.branch.commit, "changed": self.branch.changed,
                "pull_request": self.pull_request.as_dict() if self.pull_request else None}


def lint_summary(pipeline: Pipeline) -> str:
    return lint_counts(pipeline.files[MANIFEST_FILE])


def lint_counts(manifest: str) -> str:
    """'0 errors, 1 warning, 2 infos': what ``pipeforge lint`` finds in a manifest."""
    return counted(lint_text(manifest, MANIFEST_FILE))


def counted(findings: Iterable[Finding]) -> str:
    """'0 errors, 1 warning, 2 infos' for these findings."""
    severities = [f.severity for f in findings]
    counts = {s: severities.count(s) for s in SEVERITIES}
    return ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items())


def title(pipeline: Pipeline, path: str) -> str:
    return f"pipeforge: {pipeline.template.name} {pipeline.template.version} in {path}"


def body(pipeline: Pipeline, path: str) -> str:
    """The PR description: what was rendered, how it fares, and a hidden block for later updates."""
    parameters = "\n".join(f"| `{k}` | `{json.dumps(v, ensure_ascii=False)}` |" for k, v in
                           sorted(pipeline.values.items()))
    return (
        f"pipeforge rendered **{pipeline.template.name}** {pipeline.template.version} into `{path}`.\n\n"
        f"- Template digest: `{pipeline.digest}`\n- Lint: {lint_summary(pipeline)}\n"
        f"- Simulated failures (`pipeforge simulate --matrix`): {pipeline.verdict}\n\n"
        f"### Parameters\n\n| parameter | value |\n| --- | --- |\n{parameters}\n\n"
        f"### Failure modes\n\n{pipeline.table}\n"
        "This branch is managed by pipeforge: it is rewritten when the pipeline is rendered again, and left "
        "alone (with an error) once someone else commits to it.\n\n"
        f"{hidden_block(metadata(pipeline, path))}\n"
    )


def metadata(pipeline: Pipeline, path: str) -> dict[str, Any]:
    """What a render PR proposes, as its hidden block records it (what tells two proposals apart)."""
    return {"template": pipeline.template.name, "version": pipeline.template.version, "digest": pipeline.digest,
            "path": path, "parameters": pipeline.values}


def read_metadata(text: str) -> dict[str, Any] | None:
    """The hidden block of a PR body written by :func:`body`, or None."""
    start = text.rfind(BLOCK_START)
    end = text.find(BLOCK_END, start + len(BLOCK_START)) if start >= 0 else -1
    if end < 0:
        return None
    try:
        value = load_json(text[start + len(BLOCK_START):end], file="pull request body")
    except YamlLimitError:
        return None  # not a block this module wrote
    return value if isinstance(value, dict) else None


def hidden_block(metadata: dict[str, Any]) -> str:
    """``metadata`` as an HTML comment a later run can read back (:func:`read_metadata`)."""
    text = json.dumps(metadata, sort_keys=True, ensure_ascii=True).replace("--", "\\u002d\\u002d")
    return f"{BLOCK_START}{text}{BLOCK_END}"


def open_pull_request(pipeline: Pipeline, *, repo: str, path: str, base: str = "main", provider: str = "none",
                      author: Author | None = None, credentials: Credentials | None = None,
                      cache: Path | None = None, api_url: str | None = None,
                      transport: httpx.BaseTransport | None = None) -> Outcome:
    """Push ``pipeline`` to its branch of ``repo`` (see :func:`publish_branch`), then, unless the provider is
    ``none``, open or update the branch's pull request; the target's lock is held throughout, so identical
    requests give one branch and one pull request. When a person closed this same proposal's pull request
    without merging it, it is not opened again and nothing is pushed (action ``declined``)."""
    if provider not in PROVIDERS:
        raise UsageError(f"--provider {provider}: this build supports {', '.join(PROVIDERS)}")
    folder = target_path(path)
    wanted, proposal = Folder(pipeline.files, commit_message(pipeline, folder)), metadata(pipeline, folder)
    with target_locked(repo=repo, path=path, cache=cache), Review.of(
            provider, repo=repo, branch=branch_name(folder), base=base, credentials=credentials, api_url=api_url,
            transport=transport) as review:
        branch = publish_content(lambda _base: None if review and review.declines(proposal) else wanted,
                                 repo=repo, path=path, base=base, author=author, credentials=credentials,
                                 cache=cache, lock=False)
        if review is None:
            return Outcome(branch, None)
        return Outcome(branch, review.ensure(branch, title(pipeline, folder), body(pipeline, folder)))


class Review:
    """The forge side of one target's pull request. Asked before anything is pushed whether a person
    declined this very proposal (closed its pull request unmerged: same template, version, digest,
    parameters and path in the hidden block), as Renovate leaves a closed update alone; then opens or
    updates the pull request."""

    def __init__(self, forge: Forge, branch: str, base: str) -> None:
        self.forge, self.branch, self.base = forge, branch, base
        self.open: Found | None = None
        self.declined: Found | None = None

    @classmethod
    @contextmanager
    def of(cls, provider: str, *, repo: str, branch: str, base: str, credentials: Credentials | None,
           api_url: str | None, transport: httpx.BaseTransport | None) -> Iterator[Review | None]:
        """A review on ``provider``'s forge for the block (None for provider ``none``)."""
        if provider == "none":
            yield None
            return
        from generator.gitops.forges import FORGES  # lazy: httpx and the forges load only when a forge is asked for

        forge = FORGES[provider](repo=repo, token=credentials.token if credentials else None, api_url=api_url,
                                 transport=transport)
        try:
            yield cls(forge, branch, base)
        finally:
            forge.close()

    def declines(self, proposal: dict[str, Any]) -> bool:
        """True when no pull request of the branch is open and a person closed one whose hidden block is
        ``proposal``."""
        self.open = self.forge.find(self.branch, self.base)
        if self.open is not None:
            return False
        same = [f for f in self.forge.declined(self.branch, self.base) if read_metadata(f.body) == proposal]
        self.declined = max(same, key=lambda f: f.number) if same else None
        return self.declined is not None

    def ensure(self, branch: BranchResult, wanted_title: str, wanted_body: str) -> PullRequest | None:
        """The declined pull request as it is, else the open one updated or a new one; None with no branch."""
        if self.declined is not None:
            return PullRequest(self.declined.number, self.declined.url, "declined")
        if not branch.exists:
            return None
        return _ensure_pull_request(self.forge, branch, self.base, wanted_title, wanted_body, self.open)


def _ensure_pull_request(forge: Forge, branch: BranchResult, base: str, wanted_title: str, wanted_body: str,
                         known: Found | None = None) -> PullRequest:
    """Update the open PR of the branch, or create it; a create that loses a race finds the winner's.
    ``known``: the open PR as just looked up (saves a second listing)."""
    from generator.gitops.forges import MaybeCreated  # lazy: httpx and the forges load only when a forge is asked for

    unsure: MaybeCreated | None = None
    for _ in range(3):
        found, known = known or forge.find(branch.branch, base), None
        if found is None:
            try:  # a create that may have arrived is never repeated blindly: the forge is asked first
                created, unsure = forge.create(branch.branch, base, wanted_title, wanted_body), None
            except MaybeCreated as exc:
                created, unsure = None, exc
            if created is not None:
                return PullRequest(created.number, created.url, "created")
            continue
        if (found.title, found.body.replace("\r\n", "\n")) == (wanted_title, wanted_body):
            return PullRequest(found.number, found.url, "updated" if branch.changed else "unchanged")
        forge.update(found.number, wanted_title, wanted_body)
        return PullRequest(found.number, found.url, "updated")
    if unsure is not None:
        raise RemoteError(f"{unsure.message}, and lists no pull request for {branch.branch}; the branch is pushed, "
                          "so running again will open the pull request")
    raise RemoteError(f"{forge.label} refuses to open a pull request for {branch.branch} yet lists none open; "
                      "check the repository's pull requests")
