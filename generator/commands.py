"""What shell commands create and delete: the one recogniser of command side effects.

Lint (is a delete the workflow's own cleanup?) and the simulator (what does a failed step leave behind?)
both need to know that ``kubectl apply -f - <<EOF ... kind: ChaosEngine`` creates a ChaosEngine and that
``helm uninstall web`` removes release ``web``. Tokenising is ``shlex``'s; the grammars of kubectl, helm,
argocd, aws s3, terraform and the Litmus images are hand-written here because no library parses them.

Names keep Argo expressions (``{{inputs.parameters.app}}``) verbatim; a ``generateName`` is reported as
the prefix followed by ``*``. ``kind`` is ``""`` when the objects come from a file whose content the
command does not show.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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
class _Command:
    """One simple command: its words, what its pipeline feeds it on stdin, and the command line."""

    argv: list[str]
    stdin: list[str] = field(default_factory=list)  # heredoc / here-string bodies of the pipeline
    piped_from: list[list[str]] = field(default_factory=list)  # earlier commands of the same pipeline


_ARGO_EXPR = re.compile(r"{{.*?}}", re.DOTALL)
_HEREDOC = re.compile(r"<<-?[ \t]*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
SHELLS = frozenset({"sh", "bash", "zsh", "ash", "dash", "ksh", "busybox"})
_PREFIXES = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "}", "time", "sudo",
                       "exec", "nohup", "command", "eval"})
_PUNCTUATION = "();<>|&\n"


# ---------------------------------------------------------------- tokenising


def _protect(text: str) -> tuple[str, list[str]]:
    """Replace each ``{{...}}`` by a placeholder word so shlex keeps it whole (it may hold spaces or quotes)."""
    saved: list[str] = []

    def keep(match: re.Match[str]) -> str:
        saved.append(match.group(0))
        return f"\x00{len(saved) - 1}\x00"

    return _ARGO_EXPR.sub(keep, text), saved


def _restore(word: str, saved: Sequence[str]) -> str:
    return re.sub("\x00(\\d+)\x00", lambda m: saved[int(m.group(1))], word) if "\x00" in word else word


def _cut_heredocs(text: str) -> tuple[str, list[str]]:
    """Take heredoc bodies out of the text (shlex cannot), leaving a ``<< \\x01N\\x01`` marker word."""
    lines = text.split("\n")
    out: list[str] = []
    bodies: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        tags = [m.group(2) for m in _HEREDOC.finditer(line)]
        for position in range(len(tags)):
            line = _HEREDOC.sub(f"<< \x01{len(bodies) + position}\x01", line, count=1)
        out.append(line)
        index += 1
        for tag in tags:
            body: list[str] = []
            while index < len(lines) and lines[index].strip() != tag:
                body.append(lines[index])
                index += 1
            index += 1
            bodies.append("\n".join(body))
    return "\n".join(out), bodies


def _tokens(text: str) -> list[str]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=_PUNCTUATION)
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:  # an unbalanced quote: read it word by word rather than not at all
        return [word for line in text.split("\n") for word in ([*line.split(), ";"])]


def _is_separator(token: str) -> bool:
    return bool(token) and all(c in _PUNCTUATION for c in token) and not any(c in "<>" for c in token)


def _commands(text: str) -> Iterator[_Command]:
    """The simple commands of a shell text, each with its pipeline's stdin bodies."""
    text = text.replace("\\\r\n", " ").replace("\\\n", " ")
    text, bodies = _cut_heredocs(text)
    protected, saved = _protect(text)
    pipeline: list[_Command] = []
    current = _Command([])
    tokens = iter(_tokens(protected))
    for token in tokens:
        if _is_separator(token):
            pipeline.append(current)
            if token not in ("|", "|&"):
                yield from _finish(pipeline)
                pipeline = []
            current = _Command([])
        elif token and token[0] in "<>&" and any(c in "<>" for c in token):
            target = next(tokens, "")
            if token.startswith("<<") and target.startswith("\x01"):
                current.stdin.append(bodies[int(target.strip("\x01"))])
            elif token == "<<<":
                current.stdin.append(_restore(target, saved))
        else:
            current.argv.append(_restore(token, saved))
    pipeline.append(current)
    yield from _finish(pipeline)


def _finish(pipeline: list[_Command]) -> Iterator[_Command]:
    stdin = [body for command in pipeline for body in command.stdin]
    for position, command in enumerate(pipeline):
        argv = _strip_prefixes(command.argv)
        if argv:
            yield _Command(argv, stdin, [c.argv for c in pipeline[:position]])


def _strip_prefixes(argv: list[str]) -> list[str]:
    """Drop keywords, ``sudo``/``time``-style wrappers and leading ``VAR=value`` assignments."""
    index = 0
    while index < len(argv):
        word = argv[index]
        if word in _PREFIXES or _ASSIGNMENT.match(word):
            index += 1
        elif word == "env":
            index += 1
            while index < len(argv) and (argv[index].startswith("-") or _ASSIGNMENT.match(argv[index])):
                index += 1
        elif word == "timeout" and index + 1 < len(argv):
            index += 2
        else:
            break
    return argv[index:]


# ---------------------------------------------------------------- flags


@dataclass
class _Parsed:
    positional: list[str]
    flags: dict[str, list[str]]

    def get(self, *names: str) -> str | None:
        values = [value for name in names for value in self.flags.get(name, [])]
        return values[0] if values else None

    def all(self, *names: str) -> list[str]:
        return [value for name in names for value in self.flags.get(name, [])]

    def has(self, *names: str) -> bool:
        return any(name in self.flags for name in names)


def _parse_flags(args: Sequence[str], valued: frozenset[str], *, valued_default: bool = False,
                 boolean: frozenset[str] = frozenset()) -> _Parsed:
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
    return _Parsed(positional, flags)


def _dry_run(parsed: _Parsed) -> bool:
    return any(value in ("", "client", "server", "true") for value in parsed.all("--dry-run", "--dryrun"))


# ---------------------------------------------------------------- manifests inside commands

_KIND_LINE = re.compile(r"^kind:\s*['\"]?([A-Za-z0-9.]+)", re.MULTILINE)
_METADATA = re.compile(r"^metadata:[ \t]*\n((?:[ \t]+\S.*\n?|[ \t]*\n)*)", re.MULTILINE)
_META_NAME = re.compile(r"^([ \t]+)(name|generateName):[ \t]*(\S.*?)[ \t]*$", re.MULTILINE)


def objects_in_text(text: str) -> list[tuple[str, str | None]]:
    """(lower-case kind, name) of each Kubernetes object written out in YAML text (generateName ends in ``*``)."""
    found: list[tuple[str, str | None]] = []
    for document in re.split(r"^---.*$", text, flags=re.MULTILINE):
        kind = _KIND_LINE.search(document)
        if kind is None:
            continue
        found.append((kind.group(1).lower(), _metadata_name(document)))
    return found


def _metadata_name(document: str) -> str | None:
    block = _METADATA.search(document)
    if block is None:
        return None
    indents = [m for m in _META_NAME.finditer(block.group(1))]
    if not indents:
        return None
    shallowest = min(len(m.group(1)) for m in indents)
    for match in indents:
        if len(match.group(1)) == shallowest:
            name = match.group(3).strip("'\"")
            return f"{name}*" if match.group(2) == "generateName" else name
    return None


# ---------------------------------------------------------------- kubectl

_KUBECTL_VALUED = frozenset({
    "-n", "--namespace", "--context", "--cluster", "--kubeconfig", "--user", "-o", "--output", "-l", "--selector",
    "-f", "--filename", "-k", "--kustomize", "--field-selector", "--grace-period", "--timeout", "--cascade",
    "-s", "--server", "--token", "--as", "--type", "--from-literal", "--from-file", "--from-env-file", "--image",
    "--port", "--replicas", "--field-manager", "-c", "--container", "--docker-server", "--docker-username",
    "--docker-password", "--docker-email", "--cert", "--key", "--schedule", "--restart", "--to-revision",
    "--serviceaccount", "--clusterrole", "--role", "--verb", "--resource", "--namespace-selector", "-p", "--patch",
    "--prune-allowlist", "--selector-filter", "--save-config-as",
})
_KIND_ALIASES = {
    "deploy": "deployment", "svc": "service", "cm": "configmap", "ns": "namespace", "po": "pod",
    "pvc": "persistentvolumeclaim", "pv": "persistentvolume", "sa": "serviceaccount", "ds": "daemonset",
    "sts": "statefulset", "rs": "replicaset", "ing": "ingress", "cj": "cronjob", "crd": "customresourcedefinition",
    "quota": "resourcequota", "pc": "priorityclass", "pdb": "poddisruptionbudget", "netpol": "networkpolicy",
    "hpa": "horizontalpodautoscaler", "ep": "endpoints", "wf": "workflow", "wftmpl": "workflowtemplate",
    "cwf": "cronworkflow", "app": "application", "apps": "application", "endpoints": "endpoints",
    "ingresses": "ingress",
}
_TYPED_CREATE = {"secret", "service"}  # `kubectl create secret generic NAME`, `create service clusterip NAME`


def kube_kind(word: str) -> str:
    """The lower-case singular kind for what kubectl accepts: ``deploy``, ``Deployments``, ``x.litmuschaos.io``."""
    kind = word.split(".", 1)[0].lower()
    if kind in _KIND_ALIASES:
        return _KIND_ALIASES[kind]
    if kind.endswith("ies"):
        return kind[:-3] + "y"
    if kind.endswith(("sses", "xes")):
        return kind[:-2]
    if kind.endswith("s") and not kind.endswith(("ss", "us")):
        return kind[:-1]
    return kind


def _kubectl(command: _Command, files: Mapping[str, str], line: str) -> list[CommandEffect]:
    tool = command.argv[0].rsplit("/", 1)[-1]
    parsed = _parse_flags(command.argv[1:], _KUBECTL_VALUED)
    if not parsed.positional or _dry_run(parsed):
        return []
    verb, rest = parsed.positional[0], parsed.positional[1:]
    if verb in ("apply", "create") and parsed.has("-f", "--filename", "-k", "--kustomize"):
        return _from_files(CREATE, parsed, command, files, tool, line)
    if verb == "create" and rest:
        kind = kube_kind(rest[0])
        names = rest[2:] if kind in _TYPED_CREATE else rest[1:]
        if kind == "token" or not names:
            return []
        return [CommandEffect(CREATE, kind, names[0], None, None, tool, line)]
    if verb == "delete":
        if parsed.has("-f", "--filename", "-k", "--kustomize"):
            return _from_files(DELETE, parsed, command, files, tool, line)
        return _named(DELETE, rest, parsed.get("-l", "--selector"), tool, line)
    if verb == "rollout" and rest[:1] == ["undo"]:
        return _named(DELETE, rest[1:], parsed.get("-l", "--selector"), tool, line)
    return []


def _named(action: str, words: list[str], selector: str | None, tool: str, line: str) -> list[CommandEffect]:
    """``KIND NAME...``, ``KIND/NAME...``, ``KIND1,KIND2 NAME`` or ``KIND -l selector`` / ``--all``."""
    if not words:
        return []
    if "/" in words[0]:
        pairs = [word.split("/", 1) for word in words if "/" in word]
        return [CommandEffect(action, kube_kind(k), n, None, None, tool, line) for k, n in pairs]
    kinds = [kube_kind(k) for k in words[0].split(",") if k]
    if words[1:]:
        return [CommandEffect(action, k, n, None, None, tool, line) for k in kinds for n in words[1:]]
    return [CommandEffect(action, k, None, selector, None, tool, line) for k in kinds]


def _from_files(action: str, parsed: _Parsed, command: _Command, files: Mapping[str, str],
                tool: str, line: str) -> list[CommandEffect]:
    """One effect per object in each ``-f`` file whose content is known (stdin, an artifact), else one per file."""
    effects: list[CommandEffect] = []
    selector = parsed.get("-l", "--selector")
    for path in parsed.all("-f", "--filename", "-k", "--kustomize"):
        if path == "-":
            objects = [obj for body in command.stdin for obj in objects_in_text(body)]
            objects += [obj for argv in command.piped_from for obj in _dry_run_objects(argv)]
        else:
            objects = objects_in_text(files[path]) if path in files else []
        if not objects:
            effects.append(CommandEffect(action, "", None, selector, path, tool, line))
        effects.extend(CommandEffect(action, kind, name, selector, path, tool, line) for kind, name in objects)
    return effects


def _dry_run_objects(argv: list[str]) -> list[tuple[str, str | None]]:
    """What ``kubectl create KIND NAME --dry-run -o yaml`` prints into a pipe (then applied from stdin)."""
    if not argv or argv[0].rsplit("/", 1)[-1] not in ("kubectl", "oc"):
        return []
    parsed = _parse_flags(argv[1:], _KUBECTL_VALUED)
    words = parsed.positional
    if len(words) < 3 or words[0] != "create" or not _dry_run(parsed):
        return []
    kind = kube_kind(words[1])
    names = words[3:] if kind in _TYPED_CREATE else words[2:]
    return [(kind, names[0])] if names else []


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


def _helm(command: _Command, line: str) -> list[CommandEffect]:
    parsed = _parse_flags(command.argv[1:], _HELM_VALUED)
    words = parsed.positional
    if not words or _dry_run(parsed) or parsed.has("--dry-run"):
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


def _argocd(command: _Command, line: str) -> list[CommandEffect]:
    parsed = _parse_flags(command.argv[1:], frozenset(), valued_default=True, boolean=_ARGOCD_BOOLEAN)
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


def _aws(command: _Command, line: str) -> list[CommandEffect]:
    parsed = _parse_flags(command.argv[1:], frozenset(), valued_default=True, boolean=_AWS_BOOLEAN)
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


def _terraform(command: _Command, line: str) -> list[CommandEffect]:
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


# ---------------------------------------------------------------- entry points


def _effects(command: _Command, files: Mapping[str, str], depth: int) -> list[CommandEffect]:
    argv = command.argv
    program = argv[0].rsplit("/", 1)[-1]
    line = " ".join(argv)
    if program in SHELLS:
        script = inline_script(argv[1:] if program != "busybox" else argv[2:])
        return _text_effects(script, files, depth + 1) if script is not None and depth < 8 else []
    if program in ("kubectl", "oc"):
        return _kubectl(command, files, line)
    handlers = {"helm": _helm, "argocd": _argocd, "aws": _aws, "terraform": _terraform, "tofu": _terraform}
    handler = handlers.get(program)
    return handler(command, line) if handler else []


def inline_script(args: Sequence[str]) -> str | None:
    """The script of ``sh -c SCRIPT`` (also ``-ec``, ``-xc``, ``-euo pipefail -c``)."""
    for index, word in enumerate(args):
        if word.startswith("-") and not word.startswith("--") and "c" in word[1:] and index + 1 < len(args):
            return args[index + 1]
        if word == "--command" and index + 1 < len(args):
            return args[index + 1]
        if not word.startswith("-") and word not in ("pipefail", "errexit", "nounset", "xtrace"):
            return None
    return None


def _text_effects(text: str, files: Mapping[str, str], depth: int = 0) -> list[CommandEffect]:
    return [effect for command in _commands(text) for effect in _effects(command, files, depth)]


def simple_commands(text: str) -> list[list[str]]:
    """The words of each simple command of a shell text (keywords, wrappers and assignments dropped)."""
    return [command.argv for command in _commands(text)]


#: A text naming none of the tools read here has no effects: most scripts are skipped without tokenising.
_TOOLS = re.compile(r"\b(?:kubectl|oc|helm|argocd|aws|terraform|tofu)\b")


def effects_of_command(text: str) -> list[CommandEffect]:
    """Every create and delete in a shell text (lines, ``&&``, ``;``, pipes, heredocs, ``sh -c '...'``)."""
    return _text_effects(text, {}) if _TOOLS.search(text) else []


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _artifact_files(template: Mapping[str, Any]) -> dict[str, str]:
    """Input artifacts with inline ``raw.data``: a ``kubectl apply -f /tmp/x.yaml`` reads what they hold."""
    inputs = template.get("inputs")
    artifacts = inputs.get("artifacts") if isinstance(inputs, Mapping) else None
    files: dict[str, str] = {}
    for artifact in artifacts if isinstance(artifacts, list) else []:
        raw = artifact.get("raw") if isinstance(artifact, Mapping) else None
        data = raw.get("data") if isinstance(raw, Mapping) else None
        if isinstance(artifact.get("path"), str) and isinstance(data, str):
            files[artifact["path"]] = data
    return files


def _container_effects(container: Mapping[str, Any], source: str | None,
                       files: Mapping[str, str]) -> list[CommandEffect]:
    argv = _strings(container.get("command")) + _strings(container.get("args"))
    program = argv[0].rsplit("/", 1)[-1] if argv else ""
    effects: list[CommandEffect] = []
    if source is not None and program in SHELLS and _TOOLS.search(source):
        effects += _text_effects(source, files)
    if argv and any(_TOOLS.search(word) for word in argv):
        effects += _effects(_Command(argv), files, 0)
    image = container.get("image")
    if isinstance(image, str) and "litmuschaos/" in image:
        effects += _litmus(image, argv, files)
    return effects


def _litmus(image: str, argv: list[str], files: Mapping[str, str]) -> list[CommandEffect]:
    """Litmus' images: the app deployer (``-operation=apply|delete -app=X``) and the checker (``-file=F``)."""
    options = dict(word.lstrip("-").partition("=")[::2] for word in argv if word.startswith("-"))
    line = " ".join([image, *argv])
    operation = options.get("operation", "apply")  # the deployer's default operation installs the app
    if "litmus-app-deployer" in image and operation in ("apply", "delete"):
        action = CREATE if operation == "apply" else DELETE
        return [CommandEffect(action, "litmus-application", options.get("app"), None, None, "litmus", line)]
    if "litmus-checker" in image and options.get("file"):
        path = options["file"]
        objects = objects_in_text(files[path]) if path in files else [("", None)]
        return [CommandEffect(CREATE, kind, name, None, path, "litmus", line) for kind, name in objects]
    return []


def effects_of_template(template: Mapping[str, Any]) -> list[CommandEffect]:
    """Every create and delete the containers of a raw Argo template run (container, script, containerSet)."""
    files = _artifact_files(template)
    effects: list[CommandEffect] = []
    for key in ("container", "script"):
        container = template.get(key)
        if isinstance(container, Mapping):
            source = container.get("source") if key == "script" else None
            effects += _container_effects(container, source if isinstance(source, str) else None, files)
    container_set = template.get("containerSet")
    containers = container_set.get("containers") if isinstance(container_set, Mapping) else None
    for container in containers if isinstance(containers, list) else []:
        if isinstance(container, Mapping):
            effects += _container_effects(container, None, files)
    return effects


__all__ = ["CREATE", "DELETE", "SHELLS", "CommandEffect", "effects_of_command", "effects_of_template",
           "inline_script", "kube_kind", "objects_in_text", "simple_commands"]
