"""``pipeforge pr``: put a rendered pipeline on its stable branch and, with a forge, open or update its PR.

The library entry point is :func:`open_pull_request`; the CLI and (later) the API call it. Provider
``none`` pushes the branch only, for any git remote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import UsageError
from generator.gitops.branch import Author, BranchResult, publish_branch, target_locked, target_path
from generator.gitops.git import Credentials, RemoteError
from generator.lint import lint_text
from generator.rules import ERROR, INFO, WARNING
from generator.scaffold import MANIFEST_FILE, Pipeline

if TYPE_CHECKING:  # httpx and the forges load only when a forge is asked for
    import httpx

    from generator.gitops.forges import Forge

PROVIDERS = ("none", "github", "gitlab", "gitea")
BLOCK_START = "<!-- pipeforge:metadata "
BLOCK_END = " -->"


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str
    action: str  # created, updated or unchanged

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
    findings = lint_text(manifest, MANIFEST_FILE)
    counts = {s: sum(1 for f in findings if f.severity == s) for s in (ERROR, WARNING, INFO)}
    return ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items())


def title(pipeline: Pipeline, path: str) -> str:
    return f"pipeforge: {pipeline.template.name} {pipeline.template.version} in {path}"


def body(pipeline: Pipeline, path: str) -> str:
    """The PR description: what was rendered, how it fares, and a hidden block for later updates."""
    parameters = "\n".join(f"| `{k}` | `{json.dumps(v, ensure_ascii=False)}` |" for k, v in
                           sorted(pipeline.values.items()))
    metadata = {"template": pipeline.template.name, "version": pipeline.template.version,
                "digest": pipeline.digest, "path": path, "parameters": pipeline.values}
    return (
        f"pipeforge rendered **{pipeline.template.name}** {pipeline.template.version} into `{path}`.\n\n"
        f"- Template digest: `{pipeline.digest}`\n- Lint: {lint_summary(pipeline)}\n"
        f"- Simulated failures (`pipeforge simulate --matrix`): {pipeline.verdict}\n\n"
        f"### Parameters\n\n| parameter | value |\n| --- | --- |\n{parameters}\n\n"
        f"### Failure modes\n\n{pipeline.table}\n"
        "This branch is managed by pipeforge: it is rewritten when the pipeline is rendered again, and left "
        "alone (with an error) once someone else commits to it.\n\n"
        f"{hidden_block(metadata)}\n"
    )


def read_metadata(text: str) -> dict[str, Any] | None:
    """The hidden block of a PR body written by :func:`body`, or None."""
    start = text.rfind(BLOCK_START)
    end = text.find(BLOCK_END, start + len(BLOCK_START)) if start >= 0 else -1
    if end < 0:
        return None
    value = json.loads(text[start + len(BLOCK_START):end])
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
    requests give one branch and one pull request."""
    if provider not in PROVIDERS:
        raise UsageError(f"--provider {provider}: this build supports {', '.join(PROVIDERS)}")
    with target_locked(repo=repo, path=path, cache=cache):
        branch = publish_branch(pipeline, repo=repo, path=path, base=base, author=author, credentials=credentials,
                                cache=cache, lock=False)
        if provider == "none" or not branch.exists:
            return Outcome(branch, None)
        folder = target_path(path)
        pull = ensure_pull_request(branch, base=base, provider=provider, title=title(pipeline, folder),
                                   body=body(pipeline, folder), repo=repo, credentials=credentials,
                                   api_url=api_url, transport=transport)
        return Outcome(branch, pull)


def ensure_pull_request(branch: BranchResult, *, base: str, provider: str, title: str, body: str, repo: str,
                        credentials: Credentials | None, api_url: str | None,
                        transport: httpx.BaseTransport | None) -> PullRequest:
    """Open the pull request of ``branch`` on the ``provider`` forge, or update its title and body."""
    from generator.gitops.forges import FORGES

    forge = FORGES[provider](repo=repo, token=credentials.token if credentials else None, api_url=api_url,
                             transport=transport)
    try:
        return _ensure_pull_request(forge, branch, base, title, body)
    finally:
        forge.close()


def _ensure_pull_request(forge: Forge, branch: BranchResult, base: str, wanted_title: str,
                         wanted_body: str) -> PullRequest:
    """Update the open PR of the branch, or create it; a create that loses a race finds the winner's."""
    for _ in range(3):
        found = forge.find(branch.branch, base)
        if found is None:
            created = forge.create(branch.branch, base, wanted_title, wanted_body)
            if created is not None:
                return PullRequest(created.number, created.url, "created")
            continue
        if (found.title, found.body.replace("\r\n", "\n")) == (wanted_title, wanted_body):
            return PullRequest(found.number, found.url, "updated" if branch.changed else "unchanged")
        forge.update(found.number, wanted_title, wanted_body)
        return PullRequest(found.number, found.url, "updated")
    raise RemoteError(f"{forge.label} refuses to open a pull request for {branch.branch} yet lists none open; "
                      "check the repository's pull requests")
