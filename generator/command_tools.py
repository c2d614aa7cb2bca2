"""The parts of the command recogniser shared by its grammars, and the helm, argocd, aws s3 and terraform grammars.

``generator.commands`` is the entry point (tokenising, kubectl, manifests, templates); this module holds the
effect record, the flag splitter and the tool grammars it dispatches to. They are hand-written because no
library parses these tools' command lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

CREATE, DELETE = "create", "delete"


@dataclass(frozen=True)
class CommandEffect:
    """One object a command creates or deletes."""

    action: str  # CREATE or DELETE
    kind: str  # lower-case Kubernetes kind, or helm-release, argocd-application, s3-prefix, terraform-stack
    name: str | None  # None when by selector or from a file
    selector: str | None
    file: str | None
    tool: str
    command: str


@dataclass
class Command:
    """One simple command: its words, what its pipeline feeds it on stdin, and the command line."""

    argv: list[str]
    stdin: list[str] = field(default_factory=list)  # heredoc / here-string bodies of the pipeline
    piped_from: list[list[str]] = field(default_factory=list)  # earlier commands of the same pipeline


# ---------------------------------------------------------------- flags


@dataclass
class Parsed:
    """A command line split into positional words and flag values, for the rules reading what a step runs."""

    positional: list[str]
    flags: dict[str, list[str]]

    def get(self, *names: str) -> str | None:
        values = [value for name in names for value in self.flags.get(name, [])]
        return values[0] if values else None

    def all(self, *names: str) -> list[str]:
        return [value for name in names for value in self.flags.get(name, [])]

    def has(self, *names: str) -> bool:
        return any(name in self.flags for name in names)


def parse_flags(args: Sequence[str], valued: frozenset[str], *, valued_default: bool = False,
                 boolean: frozenset[str] = frozenset()) -> Parsed:
    """Split arguments into positionals and flags; ``valued`` flags take the next word unless given ``=``."""
    positional: list[str] = []
    flags: dict[str, list[str]] = {}
    index = 0
    while index < len(args):
        word = args[index]
        index += 1
        if word == "--":
            positional.extend(args[index:])
            break
        if not word.startswith("-") or word == "-":
            positional.append(word)
            continue
        name, equals, value = word.partition("=")
        takes_value = name in valued or (valued_default and name not in boolean)
        if not equals and takes_value and index < len(args) and (name in valued or not args[index].startswith("-")):
            value = args[index]
            index += 1
        flags.setdefault(name, []).append(value)
    return Parsed(positional, flags)


def dry_run(parsed: Parsed) -> bool:
    return any(value in ("", "client", "server", "true") for value in parsed.all("--dry-run", "--dryrun"))


# ---------------------------------------------------------------- helm, argocd, aws, terraform

_HELM_VALUED = frozenset({
    "-n", "--namespace", "-f", "--values", "--set", "--set-string", "--set-file", "--set-json", "--version",
    "--kube-context", "--kubeconfig", "--repo", "--timeout", "--post-renderer", "-o", "--output", "--description",
    "--username", "--password", "--ca-file", "--cert-file", "--key-file", "--history-max", "--name-template",
    "--post-renderer-args", "--registry-config", "--repository-cache", "--repository-config", "--cascade",
})
_ARGOCD_BOOLEAN = frozenset({
    "--grpc-web", "--insecure", "--plaintext", "--upsert", "--yes", "-y", "--core", "--auto-prune",
    "--self-heal", "--validate", "--sync-option-create-namespace", "--allow-empty", "--prune", "--dry-run",
    "--force", "--async", "--wait", "--cascade",
})
_AWS_BOOLEAN = frozenset({
    "--recursive", "--quiet", "--dryrun", "--only-show-errors", "--no-progress", "--delete", "--exact-timestamps",
    "--follow-symlinks", "--no-follow-symlinks", "--force", "--no-guess-mime-type", "--size-only",
    "--no-sign-request", "--no-verify-ssl", "--debug", "--no-paginate",
})


def helm(command: Command, line: str) -> list[CommandEffect]:
    parsed = parse_flags(command.argv[1:], _HELM_VALUED)
    words = parsed.positional
    if not words or dry_run(parsed) or parsed.has("--dry-run"):
        return []
    verb, rest = words[0], words[1:]
    if verb in ("install", "upgrade") and rest:
        name = None if parsed.has("--generate-name", "-g") else rest[0]
        return [CommandEffect(CREATE, "helm-release", name, None, None, "helm", line)]
    if verb in ("uninstall", "delete", "del", "un"):
        return [CommandEffect(DELETE, "helm-release", name, None, None, "helm", line) for name in rest]
    if verb == "rollback" and rest:
        return [CommandEffect(DELETE, "helm-release", rest[0], None, None, "helm", line)]
    return []


def argocd(command: Command, line: str) -> list[CommandEffect]:
    parsed = parse_flags(command.argv[1:], frozenset(), valued_default=True, boolean=_ARGOCD_BOOLEAN)
    words = parsed.positional
    if len(words) < 2 or words[0] not in ("app", "application", "apps") or parsed.has("--dry-run"):
        return []
    verb, names = words[1], words[2:]
    selector = parsed.get("-l", "--selector")
    kind = "argocd-application"
    if verb == "create" and names:
        return [CommandEffect(CREATE, kind, names[0], None, None, "argocd", line)]
    if verb == "create" and parsed.has("-f", "--file"):
        return [CommandEffect(CREATE, kind, None, None, parsed.get("-f", "--file"), "argocd", line)]
    if verb == "delete":
        if not names:
            return [CommandEffect(DELETE, kind, None, selector, None, "argocd", line)] if selector else []
        return [CommandEffect(DELETE, kind, name, None, None, "argocd", line) for name in names]
    if verb == "rollback" and names:
        return [CommandEffect(DELETE, kind, names[0], None, None, "argocd", line)]
    return []


def aws(command: Command, line: str) -> list[CommandEffect]:
    parsed = parse_flags(command.argv[1:], frozenset(), valued_default=True, boolean=_AWS_BOOLEAN)
    words = parsed.positional
    if len(words) < 2 or words[0] != "s3" or parsed.has("--dryrun"):
        return []
    verb, paths = words[1], [w for w in words[2:] if w.startswith("s3://")]
    effects: list[CommandEffect] = []
    if verb in ("cp", "sync", "mv") and len(words) >= 4 and words[3].startswith("s3://"):
        effects.append(CommandEffect(CREATE, "s3-prefix", words[3], None, None, "aws", line))
    if verb == "mv" and words[2].startswith("s3://"):
        effects.append(CommandEffect(DELETE, "s3-prefix", words[2], None, None, "aws", line))
    if verb in ("rm", "rb"):
        effects.extend(CommandEffect(DELETE, "s3-prefix", path, None, None, "aws", line) for path in paths)
    return effects


def terraform(command: Command, line: str) -> list[CommandEffect]:
    args = command.argv[1:]
    chdir = next((a.partition("=")[2] for a in args if a.startswith("-chdir=")), None)
    words = [a for a in args if not a.startswith("-")]
    if not words:
        return []
    verb = words[0]
    if verb == "destroy" or (verb == "apply" and any(a in ("-destroy", "--destroy") for a in args)):
        return [CommandEffect(DELETE, "terraform-stack", chdir, None, None, "terraform", line)]
    if verb == "apply":
        return [CommandEffect(CREATE, "terraform-stack", chdir, None, None, "terraform", line)]
    return []
