"""``pipeforge pr --upgrade``: propose moving a delivered pipeline to a new template version, as a PR.

The pipeline folder at PATH on the base branch is what is deployed, local edits included. Its
``.pipeforge-answers.yaml`` names the template, version and parameters that produced it; the folder is
upgraded exactly as ``pipeforge upgrade`` would in a checkout (three-way merge per file, migrations,
conflicts written with markers), but in the repository's tree, and the result goes on the same stable
branch ``pipeforge/<path-slug>`` that ``pipeforge pr`` uses: one target, one branch, one pull request. Files
of the folder that the template does not manage are carried over untouched.

A folder already at the target version (or above it: a downgrade is never proposed) is up to date:
nothing is pushed and no pull request is opened. The PR body lists the changelog of every version
crossed, the conflicts as a checklist, lint and fault-matrix verdicts before and after, and the diff.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import PipeforgeError, UsageError
from generator.gitops.branch import (
    TRAILER,
    Author,
    BranchResult,
    Folder,
    branch_name,
    publish_content,
    read_folder,
    target_locked,
    target_path,
)
from generator.gitops.git import Credentials, check_url
from generator.gitops.mirror import Mirror
from generator.gitops.pull_request import PROVIDERS, PullRequest, Review, counted, hidden_block, lint_counts
from generator.scaffold import ANSWERS_FILE, MANIFEST_FILE
from generator.upgrade import ANSWERS_SIZE, Answers, Builder, DowngradeError, Resolver, UpgradePlan, plan_from
from generator.verdict import verdict_of_text
from generator.yamlio import check_size, load_documents

if TYPE_CHECKING:
    import httpx

#: (name, after, upto) -> [(version, changelog text or None)] for the versions in (after, upto], oldest first.
History = Callable[[str, str, str], list[tuple[str, str | None]]]

OPENED, UP_TO_DATE, CONFLICT, DECLINED = "opened", "up-to-date", "conflict", "declined"
MAX_DIFF = 30_000  # characters of diff in a PR body (forges cap bodies at about 65,000)


@dataclass
class UpgradeOutcome:
    branch: BranchResult
    pull_request: PullRequest | None
    template: str
    from_version: str
    to_version: str
    digest: str
    plan: UpgradePlan | None = None  # None: already at (or above) the target
    notes: list[str] = field(default_factory=list)
    declined: bool = False  # a person closed this upgrade's pull request unmerged: nothing pushed

    @property
    def status(self) -> str:
        if self.declined:
            return DECLINED
        if self.plan is None:
            return UP_TO_DATE
        return CONFLICT if self.plan.conflicts else OPENED

    def as_dict(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "branch": self.branch.branch, "commit": self.branch.commit, "changed": self.branch.changed,
            "pull_request": self.pull_request.as_dict() if self.pull_request else None,
            "upgrade": {
                "template": self.template, "from": self.from_version, "to": self.to_version, "digest": self.digest,
                "status": self.status,
                "conflicts": [c.path for c in plan.conflicts] if plan else [],
                "changes": [{"path": c.path, "status": c.status, "detail": c.detail}
                            for c in plan.changes if c.status != "unchanged" or c.detail] if plan else [],
                "renamed": dict(plan.renamed) if plan else {},
                "dropped": list(plan.dropped) if plan else [],
                "added": dict(plan.added) if plan else {},
                "notes": list(self.notes),
            },
        }


def open_upgrade_pull_request(*, repo: str, path: str, to: str, resolve: Resolver, base: str = "main",
                              provider: str = "none", author: Author | None = None,
                              credentials: Credentials | None = None, cache: Path | None = None,
                              api_url: str | None = None, transport: httpx.BaseTransport | None = None,
                              history: History | None = None, build_with: Builder | None = None) -> UpgradeOutcome:
    """Upgrade the pipeline at PATH of ``repo``'s ``base`` to ``to`` (a version spec) on its stable branch,
    and with a forge open or update the branch's pull request. See the module. ``build_with`` renders the
    template versions (a server passes ``scaffold.build_bounded``: the answers come from the repository)."""
    if provider not in PROVIDERS:
        raise UsageError(f"--provider {provider}: this build supports {', '.join(PROVIDERS)}")
    url, folder = check_url(repo), target_path(path)
    with target_locked(repo=url, path=folder, cache=cache), Review.of(
            provider, repo=url, branch=branch_name(folder), base=base, credentials=credentials, api_url=api_url,
            transport=transport) as review:
        proposal = _Proposal(Mirror(url, credentials, root=cache), folder, base, to or "latest", resolve, review,
                             build_with)
        branch = publish_content(proposal.content, repo=url, path=folder, base=base, author=author,
                                 credentials=credentials, cache=cache, lock=False)
        outcome = proposal.outcome(branch)
        if outcome.plan is None or review is None:
            return outcome
        if outcome.declined:
            outcome.pull_request = review.ensure(branch, "", "")  # the declined one, left as it is
            return outcome
        changelog = history(outcome.template, outcome.from_version, outcome.to_version) if history else \
            [(outcome.to_version, proposal.target_changelog)]
        outcome.pull_request = review.ensure(branch, title(outcome.plan, folder),
                                             body(outcome, folder, proposal.before_manifest, changelog))
        return outcome


class _Proposal:
    """The upgrade of one folder, planned again on each base commit the branch writer fetches."""

    def __init__(self, mirror: Mirror, folder: str, base: str, to: str, resolve: Resolver,
                 review: Review | None, build_with: Builder | None = None) -> None:
        self.mirror, self.folder, self.base, self.to, self.resolve = mirror, folder, base, to, resolve
        self.build_with = build_with
        self.review = review
        self.declined = False
        self.answers: Answers | None = None
        self.plan: UpgradePlan | None = None
        self.target: tuple[str, str] = ("", "")  # (version, digest) when up to date
        self.target_changelog: str | None = None
        self.before_manifest: str | None = None
        self.notes: list[str] = []

    def content(self, base_commit: str) -> Folder | None:
        entries = read_folder(self.mirror, base_commit, self.folder)
        blobs = {name: sha for name, (_, kind, sha) in entries.items() if kind == "blob"}

        def read(name: str) -> str | None:
            sha = blobs.get(name)
            if sha is None:
                return None
            if name == ANSWERS_FILE:  # anyone who can push may plant it: its size is checked before it is read
                check_size(int(self.mirror.git.out("cat-file", "-s", sha)), file=f"{self.folder}/{name}",
                           limit=ANSWERS_SIZE)
            data = self.mirror.git.blob(sha)
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                raise UsageError(f"{self.folder}/{name} on {self.base} is not UTF-8 text, yet the template "
                                 "renders that file; pipeforge cannot merge it") from None

        answers_text = read(ANSWERS_FILE)
        if answers_text is None:
            raise UsageError(f"{self.folder} on {self.base} holds no pipeline made by pipeforge (no {ANSWERS_FILE}); "
                             "deliver it first with `pipeforge pr TEMPLATE --path ...`")
        where = f"{self.folder}/{ANSWERS_FILE} on {self.base}"
        self.answers = Answers.parse(load_documents(answers_text, file=where, limit=ANSWERS_SIZE), where)
        self.before_manifest = read(MANIFEST_FILE)
        self.plan, self.notes = None, []
        try:
            plan = plan_from(Path(self.folder), self.answers, read, self.to, self._resolve,
                             **({"build_with": self.build_with} if self.build_with else {}))
        except DowngradeError as exc:
            self.target = (exc.target, "")
            self.notes.append(f"{self.folder} is at {self.answers.version}, newer than {exc.target}: "
                              "a downgrade is never proposed")
            return None
        if plan.noop:
            self.target = (plan.to_version, plan.to_digest)
            return None
        self.plan, self.notes = plan, list(plan.warnings)
        self.declined = self.review is not None and self.review.declines(metadata(plan, self.folder))
        if self.declined:
            return None
        kept = {name: entry for name, entry in entries.items() if plan.contents.get(name, "") is not None}
        files = {name: text for name, text in plan.contents.items() if text is not None}
        return Folder(files, upgrade_message(plan, self.folder), kept)

    def _resolve(self, name: str, spec: str) -> Any:
        found = self.resolve(name, spec)
        if spec == self.to:
            self.target_changelog = found[0].changelog
        return found

    def outcome(self, branch: BranchResult) -> UpgradeOutcome:
        assert self.answers is not None  # content() ran, or raised
        if self.plan is None:
            version, digest = self.target
            return UpgradeOutcome(branch, None, self.answers.template, self.answers.version, version, digest,
                                  notes=self.notes)
        plan = self.plan
        return UpgradeOutcome(branch, None, plan.template, plan.from_version, plan.to_version, plan.to_digest,
                              plan, notes=self.notes, declined=self.declined)


def upgrade_message(plan: UpgradePlan, folder: str) -> str:
    conflicts = f"\n{len(plan.conflicts)} file(s) hold conflict markers: " + \
        ", ".join(c.path for c in plan.conflicts) + "\n" if plan.conflicts else ""
    return (
        f"pipeforge: upgrade {plan.template} {plan.from_version} to {plan.to_version} in {folder}\n\n"
        f"Merged by pipeforge: the local files, the template's {plan.from_version} render as the base, and its "
        f"{plan.to_version} render (digest {plan.to_digest}).\n{conflicts}\n"
        f"{TRAILER}: {folder}\nPipeforge-Template: {plan.template}@{plan.to_version}\n"
        f"Pipeforge-Digest: {plan.to_digest}\n"
    )


def title(plan: UpgradePlan, folder: str) -> str:
    conflicts = " (conflicts to resolve)" if plan.conflicts else ""
    return f"pipeforge: upgrade {plan.template} {plan.from_version} to {plan.to_version} in {folder}{conflicts}"


def verdicts(manifest: str | None) -> tuple[str, str]:
    """(lint summary, fault-matrix verdict) of a manifest's text, or why it could not be checked."""
    if manifest is None:
        return "no manifest", "no manifest"
    if any(line.startswith(("<<<<<<<", ">>>>>>>")) for line in manifest.splitlines()):
        return "not checked: conflict markers", "not checked: conflict markers"
    try:
        verdict = verdict_of_text(manifest, MANIFEST_FILE)  # a roll-out meets the same manifest many times
    except PipeforgeError as exc:
        return lint_counts(manifest), f"not simulated: {exc.message}"
    return counted(verdict.findings), verdict.summary


def body(outcome: UpgradeOutcome, folder: str, before_manifest: str | None,
         changelog: list[tuple[str, str | None]]) -> str:
    """The upgrade PR's description, ending with a hidden block a later run can read."""
    plan = outcome.plan
    assert plan is not None
    counts: dict[str, int] = {}
    for change in plan.changes:
        counts[change.status] = counts.get(change.status, 0) + 1
    files = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()) if s != "unchanged") or "none"
    lines = [
        f"pipeforge proposes upgrading **{plan.template}** from {plan.from_version} to {plan.to_version} "
        f"in `{folder}`, keeping the folder's local edits.\n",
        f"- Template digest: `{plan.to_digest}`",
        f"- Files: {files}",
    ]
    lines += [f"- Parameter `{old}` is now `{new}`" for old, new in plan.renamed.items()]
    lines += [f"- Parameter `{name}` is gone from the template: dropped" for name in plan.dropped]
    lines += [f"- New parameter `{name}` = `{value!r}`" for name, value in plan.added.items()]
    lines += [f"- Note: {note}" for note in outcome.notes]
    if plan.conflicts:
        lines += ["", "### Conflicts to resolve", "",
                  "Local edits and the template change overlap here: these files hold `<<<<<<<` markers. Resolve "
                  "them on this branch before merging (once someone commits to the branch, pipeforge leaves it "
                  "to them).", ""]
        lines += [f"- [ ] `{folder}/{c.path}`: {c.detail}" for c in plan.conflicts]
    before, after = verdicts(before_manifest), verdicts(plan.contents.get(MANIFEST_FILE))
    lines += ["", "### Before and after", "", f"| `{MANIFEST_FILE}` | before ({plan.from_version}, as deployed) "
              f"| after ({plan.to_version}) |", "| --- | --- | --- |",
              f"| `pipeforge lint` | {before[0]} | {after[0]} |",
              f"| `pipeforge simulate --matrix` | {_cell(before[1])} | {_cell(after[1])} |"]
    lines += ["", "### Changelog", ""]
    entries = [(version, text) for version, text in changelog if text and text.strip()]
    if not entries:
        lines.append(f"The template declares no changelog for the versions after {plan.from_version}.")
    for version, text in entries:
        lines += [f"**{version}**", "", (text or "").strip(), ""]
    diff = plan.diff(prefix=f"{folder}/")
    if len(diff) > MAX_DIFF:
        diff = diff[:MAX_DIFF].rsplit("\n", 1)[0] + "\n"
        cut = f"\n(the diff is cut at {MAX_DIFF:,} characters: the branch has all of it)\n"
    else:
        cut = ""
    fence = "````" if "```" in diff else "```"
    lines += ["", "### Diff", "", "<details><summary>What this changes in the folder</summary>", "",
              f"{fence}diff", diff.rstrip("\n"), fence, cut, "</details>", "",
              "This branch is managed by pipeforge: it is rewritten when the pipeline is rendered or upgraded "
              "again, and left alone (with an error) once someone else commits to it.", ""]
    return "\n".join(lines) + hidden_block(metadata(plan, folder)) + "\n"


def metadata(plan: UpgradePlan, folder: str) -> dict[str, Any]:
    """What an upgrade PR proposes, as its hidden block records it."""
    return {"template": plan.template, "version": plan.to_version, "from": plan.from_version,
            "digest": plan.to_digest, "path": folder, "upgrade": True, "conflicts": [c.path for c in plan.conflicts]}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
