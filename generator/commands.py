"""What shell commands create and delete: the one recogniser of command side effects.

Lint (is a delete the workflow's own cleanup?) and the simulator (what does a failed step leave behind?)
both need to know that ``kubectl apply -f - <<EOF ... kind: ChaosEngine`` creates a ChaosEngine and that
``helm uninstall web`` removes release ``web``. Tokenising is ``shlex``'s; the grammars of kubectl, helm,
argocd, aws s3, terraform (``generator.command_tools``) and the Litmus images are hand-written because no
library parses them.

Names keep Argo expressions (``{{inputs.parameters.app}}``) verbatim; a ``generateName`` is reported as
the prefix followed by ``*``. ``kind`` is ``""`` when the objects come from a file whose content the
command does not show.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

from generator.command_tools import (
    CREATE,
    DELETE,
    Command,
    CommandEffect,
    Parsed,
    argocd,
    aws,
    dry_run,
    helm,
    parse_flags,
    terraform,
)

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


@lru_cache(maxsize=1024)
def _tokens(text: str) -> tuple[str, ...]:
    """The shell words of a text; remembered, as several rules read the same script and shlex is pure
    Python (a third of the time of the rules that read commands)."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=_PUNCTUATION)
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    try:
        return tuple(lexer)
    except ValueError:  # an unbalanced quote: read it word by word rather than not at all
        return tuple(word for line in text.split("\n") for word in ([*line.split(), ";"]))


def _is_separator(token: str) -> bool:
    return bool(token) and all(c in _PUNCTUATION for c in token) and not any(c in "<>" for c in token)


def _commands(text: str) -> Iterator[Command]:
    """The simple commands of a shell text, each with its pipeline's stdin bodies."""
    text = text.replace("\\\r\n", " ").replace("\\\n", " ")
    text, bodies = _cut_heredocs(text)
    protected, saved = _protect(text)
    pipeline: list[Command] = []
    current = Command([])
    tokens = iter(_tokens(protected))
    for token in tokens:
        if _is_separator(token):
            pipeline.append(current)
            if token not in ("|", "|&"):
                yield from _finish(pipeline)
                pipeline = []
            current = Command([])
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


def _finish(pipeline: list[Command]) -> Iterator[Command]:
    stdin = [body for command in pipeline for body in command.stdin]
    for position, command in enumerate(pipeline):
        argv = _strip_prefixes(command.argv)
        if argv:
            yield Command(argv, stdin, [c.argv for c in pipeline[:position]])


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


def _kubectl(command: Command, files: Mapping[str, str], line: str) -> list[CommandEffect]:
    tool = command.argv[0].rsplit("/", 1)[-1]
    parsed = parse_flags(command.argv[1:], _KUBECTL_VALUED)
    if not parsed.positional or dry_run(parsed):
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


def _from_files(action: str, parsed: Parsed, command: Command, files: Mapping[str, str],
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
    parsed = parse_flags(argv[1:], _KUBECTL_VALUED)
    words = parsed.positional
    if len(words) < 3 or words[0] != "create" or not dry_run(parsed):
        return []
    kind = kube_kind(words[1])
    names = words[3:] if kind in _TYPED_CREATE else words[2:]
    return [(kind, names[0])] if names else []


# ---------------------------------------------------------------- entry points


def _effects(command: Command, files: Mapping[str, str], depth: int) -> list[CommandEffect]:
    argv = command.argv
    program = argv[0].rsplit("/", 1)[-1]
    line = " ".join(argv)
    if program in SHELLS:
        script = inline_script(argv[1:] if program != "busybox" else argv[2:])
        return _text_effects(script, files, depth + 1) if script is not None and depth < 8 else []
    if program in ("kubectl", "oc"):
        return _kubectl(command, files, line)
    handlers = {"helm": helm, "argocd": argocd, "aws": aws, "terraform": terraform, "tofu": terraform}
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
        effects += _effects(Command(argv), files, 0)
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
