"""What a template creates and deletes, from every recognised source, as ``(kind, name)`` pairs.

Sources: resource templates (action and embedded manifest, or kubectl-style ``flags``), the
``pipeforge.io/creates|produces|deletes`` annotations, and the shell commands its containers run
(``generator.commands``). Kinds are lower-case; a ``generateName`` or an unnamed (selector, ``--all``)
target ends in or is ``*``; objects from a file whose content is not shown are ``("", "file:PATH")``.
"""

from __future__ import annotations

import re
from typing import Any

from generator.commands import CREATE, DELETE, CommandEffect, effects_of_template, kube_kind
from generator.model import Template

Target = tuple[str, str]

_EXPR = re.compile(r"{{\s*(=?)\s*(.*?)\s*}}")
_MANIFEST_KIND = re.compile(r"^kind:\s*(\S+)", re.MULTILINE)
_MANIFEST_NAME = re.compile(r"^metadata:\s*\n(?:\s+.*\n)*?\s+name:\s*(\S.*?)\s*$", re.MULTILINE)
_SHELLS = {"sh", "bash", "zsh", "ash", "dash", "ksh", "python", "python3", "node", "perl", "ruby", "pwsh"}
_INLINE_FLAGS = {"-c", "-e", "-ec", "-ce", "-xc", "-euc", "-eu", "--command"}
#: Destructive commands ``generator.commands`` does not model (SQL, gsutil, gcloud, az).
_OTHER_DESTRUCTIVE = re.compile(
    r"\b(?:drop|truncate)\s+(?:table|database|schema)\b"
    r"|\bdelete\s+from\b"
    r"|\bgsutil\s+(?:-m\s+)?rm\b"
    r"|\b(?:gcloud|az)\b[^\n;&|]*?\sdelete\b",
    re.IGNORECASE,
)
#: The modelled ones, as a fallback when a command was too odd to parse.
_TOOL_DESTRUCTIVE = re.compile(
    r"\b(?:kubectl|oc)\b[^\n;&|]*?\sdelete\b|\bhelm\s+(?:uninstall|delete)\b|\bterraform\s+destroy\b"
    r"|\baws\s+s3\s+(?:rm|rb)\b",
    re.IGNORECASE,
)


def normalise(name: str) -> str:
    """A resource name with Argo expressions written one way, so two references compare equal."""
    return _EXPR.sub(lambda m: "{{" + m.group(1) + m.group(2) + "}}", name.strip())


def key(kind: str, name: str) -> Target:
    return kind.strip().lower(), normalise(name)


def resource_target(template: Template) -> Target | None:
    """(kind, name) a resource template acts on; generateName ends with ``*``, a selector is ``*``.

    Falls back to the raw manifest text when an unquoted ``{{...}}`` name made it unparsable YAML, and to
    ``flags`` (``[configmap, --selector, x]``) when there is no manifest.
    """
    res = template.resource
    if res is None:
        return None
    if res.kind and (res.name or res.generate_name):
        return key(res.kind, res.name or f"{res.generate_name}*")
    raw = template.raw.get("resource")
    text = raw.get("manifest") if isinstance(raw, dict) else None
    if isinstance(text, str):
        kind_match = _MANIFEST_KIND.search(text)
        name_match = _MANIFEST_NAME.search(text)
        if kind_match and name_match:
            return key(kind_match.group(1), name_match.group(1).strip("'\""))
    if text or not res.flags:
        return None
    return _flags_target(res.flags)


def _flags_target(flags: tuple[str, ...]) -> Target | None:
    positional, selector, skip = [], False, False
    for flag in flags:
        if skip:
            skip = False
        elif flag in ("-l", "--selector", "--field-selector", "--all"):
            selector, skip = True, flag != "--all"
        elif flag in ("-n", "--namespace", "-o", "--output", "--grace-period", "--timeout", "--cascade"):
            skip = True
        elif not flag.startswith("-"):
            positional.append(flag)
    if not positional:
        return None
    kind_text, _, object_name = positional[0].partition("/")
    object_name = object_name or (positional[1] if len(positional) > 1 and not selector else "*")
    return key(kube_kind(kind_text), object_name)


def command_effects(template: Template) -> list[CommandEffect]:
    """What the template's containers run, read by ``generator.commands`` (memoised per template)."""
    if template.kind not in ("container", "script", "containerSet"):
        return []
    return _effects_memo(id(template.raw), template.raw)


#: Commands are read once per template object although several rules ask (id plus identity check).
_MEMO: dict[int, tuple[Any, list[CommandEffect]]] = {}


def _effects_memo(raw_id: int, raw: Any) -> list[CommandEffect]:
    cached = _MEMO.get(raw_id)
    if cached is not None and cached[0] is raw:
        return cached[1]
    if len(_MEMO) > 4096:
        _MEMO.clear()
    effects = effects_of_template(raw)
    _MEMO[raw_id] = (raw, effects)
    return effects


def _effect_target(effect: CommandEffect) -> Target:
    if not effect.kind and effect.file:
        return "", f"file:{effect.file}"
    return key(effect.kind, effect.name or "*")


_TARGETS: dict[tuple[str, int], tuple[Template, list[Target]]] = {}


def _memo_targets(verb: str, template: Template, compute: Any) -> list[Target]:
    """Creations and deletions are asked for many times per template by several rules: compute them once."""
    key = (verb, id(template))
    cached = _TARGETS.get(key)
    if cached is not None and cached[0] is template:
        return cached[1]
    if len(_TARGETS) > 8192:
        _TARGETS.clear()
    found: list[Target] = compute(template)
    _TARGETS[key] = (template, found)
    return found


def creations(template: Template) -> list[Target]:
    """(kind, name) of what a leaf template creates or produces (generateName ends with ``*``)."""
    return _memo_targets("creates", template, _creations)


def deletions(template: Template) -> list[Target]:
    """(kind, name) of what a leaf template deletes, reverts or rolls back."""
    return _memo_targets("deletes", template, _deletions)


def _creations(template: Template) -> list[Target]:
    found = [key(e.kind, e.name) for e in template.side_effects if e.verb != "deletes"]
    res = template.resource
    target = resource_target(template)
    if res and res.action in ("create", "apply") and target:
        found.append(target)
    found += [_effect_target(e) for e in command_effects(template) if e.action == CREATE]
    return found


def _deletions(template: Template) -> list[Target]:
    found = [key(e.kind, e.name) for e in template.effects("deletes")]
    res = template.resource
    target = resource_target(template)
    if res and res.action == "delete" and target:
        found.append(target)
    found += [_effect_target(e) for e in command_effects(template) if e.action == DELETE]
    return found


def has_side_effects(template: Template) -> bool:
    res = template.resource
    return (bool(template.side_effects) or (res is not None and res.action not in (None, "get"))
            or bool(command_effects(template)))


def command_text(template: Template) -> str:
    """What a container or script runs, as one string (command, args and source)."""
    parts = [str(p) for k in ("command", "args") for p in _as_list(template.container.get(k))]
    if template.source:
        parts.append(template.source)
    return " ".join(parts)


def unmodelled_destructive(template: Template) -> str | None:
    """A destructive command the effect model does not read (SQL, gsutil, a command too odd to parse)."""
    if template.kind not in ("container", "script"):
        return None
    text = command_text(template)
    match = _OTHER_DESTRUCTIVE.search(text)
    if match is None and not any(e.action == DELETE for e in command_effects(template)):
        match = _TOOL_DESTRUCTIVE.search(text)
    return match.group(0).strip()[:60] if match else None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def inline_scripts(template: Template) -> list[str]:
    """The strings a shell or interpreter runs from ``-c``/``-e`` (where parameters must not go)."""
    argv = [str(p) for k in ("command", "args") for p in _as_list(template.container.get(k))]
    if not argv or argv[0].rsplit("/", 1)[-1] not in _SHELLS:
        return []
    return [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg in _INLINE_FLAGS]


def matches(target: Target, created: set[Target], created_kinds: set[str]) -> bool:
    """Whether a deleted target is one of the created ones.

    Equal (kind, name); a ``*`` (selector, ``--all``) or a templated name against a created kind; a
    ``generateName`` prefix; an S3 prefix inside a created one; the same file applied and deleted.
    """
    kind, name = target
    if target in created:
        return True
    if kind and (name == "*" or "{{" in name) and kind in created_kinds:
        return True
    for created_kind, created_name in created:
        if created_kind != kind:
            continue
        if created_name == "*" or (created_name.endswith("*") and name.startswith(created_name[:-1])):
            return True
        if kind == "s3-prefix" and name.startswith(created_name.rstrip("/") + "/"):
            return True
    return False
