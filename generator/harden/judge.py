"""Judgement before edits: whether a deadline or a retry is safe for one template, and why not.

A fix that is wrong for the template it lands on is worse than no fix: a deadline kills a daemon the
pipeline needs, a retry repeats a change request in a ticketing system. Each function here answers for
one template, from what the manifest itself says; what it cannot tell is handed to a human with the
reason and the edit to make.
"""

from __future__ import annotations

import importlib
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from generator.commands import DELETE, CommandEffect, effects_of_command, effects_of_template
from generator.model import Template

#: A template whose side effects are safe to repeat says so, with the reason as the value
#: (``pipeforge.io/idempotent: "upserts by order id"``); ``"false"`` declares it must never be retried.
IDEMPOTENT = "pipeforge.io/idempotent"

#: Metadata keys that mark a file compiled by Kubeflow Pipelines: its components' deadlines and retries
#: belong in the pipeline source (the SDK), not in the generated YAML that the next compile overwrites.
_KFP_PREFIX = "pipelines.kubeflow.org/"
_KFP_IMAGES = re.compile(r"(?:^|/)kfp-(?:driver|launcher)(?::|@|$)")

#: Tools whose commands act outside the pod: SaaS and ticketing CLIs, chaos and load generators, cloud and
#: cluster CLIs. A retry repeats what they did, and nothing in the manifest says whether that is safe.
_EXTERNAL_TOOLS = {
    "curl": "HTTP call", "wget": "HTTP call", "http": "HTTP call", "httpie": "HTTP call",
    "snow": "ServiceNow", "servicenow": "ServiceNow", "jira": "Jira", "jira-cli": "Jira", "acli": "Jira",
    "gh": "GitHub", "glab": "GitLab", "slack": "Slack", "pd": "PagerDuty", "pagerduty": "PagerDuty",
    "litmusctl": "chaos injection", "chaos": "chaos injection", "pumba": "chaos injection",
    "chaosctl": "chaos injection", "toxiproxy-cli": "chaos injection",
    "k6": "load test", "locust": "load test", "jmeter": "load test", "vegeta": "load test", "hey": "load test",
    "ab": "load test", "wrk": "load test", "artillery": "load test", "gatling": "load test",
    "kubectl": "cluster change", "oc": "cluster change", "helm": "cluster change", "argocd": "cluster change",
    "terraform": "infrastructure change", "aws": "cloud API", "gcloud": "cloud API", "az": "cloud API",
    "gsutil": "cloud storage", "psql": "database", "mysql": "database", "mongo": "database",
    "mongosh": "database", "redis-cli": "database",
}
#: Subcommands of those tools that only read, so repeating them is harmless.
_READ_ONLY = {
    "kubectl": {"get", "describe", "logs", "wait", "version", "explain", "api-resources", "top", "auth"},
    "oc": {"get", "describe", "logs", "wait", "version", "whoami"},
    "helm": {"list", "status", "get", "version", "template", "lint", "show", "search", "history"},
    "argocd": {"version", "login"},
    "terraform": {"plan", "validate", "fmt", "init", "show", "output", "version"},
    "gh": {"auth", "version"},
}
_IMAGE_TOOLS = re.compile(
    r"(?:^|/)(?:curl|curlimages/curl|k6|grafana/k6|locust|locustio/locust|jmeter|vegeta|litmuschaos/[\w.-]+|"
    r"chaos-mesh/[\w.-]+|gaiaadm/pumba)(?::|@|$)"
)
_URL = re.compile(r"https?://[^\s'\"`)]+")
#: HTTP calls that change something (POST, PUT, PATCH, DELETE), written in a script's own language
#: (Python, JavaScript) rather than through a CLI, and the client libraries of the SaaS tools above.
_HTTP_CALL = re.compile(
    r"\b(?:requests|httpx|aiohttp|urllib3|session|client|axios|got|superagent)\s*\.\s*(post|put|patch|delete)\s*\("
    r"|\.request\s*\(\s*['\"](post|put|patch|delete)['\"]"
    r"|\bmethod\s*[=:]\s*['\"](post|put|patch|delete)['\"]"
    r"|\burlopen\s*\([^)\n]*\bdata\s*=()",
    re.IGNORECASE,
)
_SAAS_CLIENTS = {"slack_sdk": "Slack", "slack": "Slack", "jira": "Jira", "pysnow": "ServiceNow",
                 "servicenow": "ServiceNow", "pdpyras": "PagerDuty", "pagerduty": "PagerDuty",
                 "github": "GitHub", "gitlab": "GitLab"}
_IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_][\w]*)", re.MULTILINE)
_WORD = re.compile(r"[A-Za-z0-9_.\-/]+")
_READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def compiler_of(document: Mapping[str, Any]) -> str | None:
    """The compiler that generated this document, when it carries one's markers (Kubeflow Pipelines)."""
    for meta in _metadata_blocks(document):
        for field in ("annotations", "labels"):
            keys = meta.get(field)
            if isinstance(keys, dict) and any(str(k).startswith(_KFP_PREFIX) for k in keys):
                return "Kubeflow Pipelines"
    for image in _images(document):
        if _KFP_IMAGES.search(image):
            return "Kubeflow Pipelines"
    return None


def _spec(document: Mapping[str, Any]) -> dict[str, Any]:
    spec = document.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    if document.get("kind") == "CronWorkflow":
        inner = spec.get("workflowSpec")
        return inner if isinstance(inner, dict) else {}
    return spec


def _templates(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    templates = _spec(document).get("templates")
    return [t for t in templates if isinstance(t, dict)] if isinstance(templates, list) else []


def _metadata_blocks(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    blocks = [document.get("metadata"), *(t.get("metadata") for t in _templates(document))]
    return [b for b in blocks if isinstance(b, dict)]


def _images(document: Mapping[str, Any]) -> list[str]:
    images = []
    for template in _templates(document):
        for kind in ("container", "script"):
            body = template.get(kind)
            if isinstance(body, dict) and isinstance(body.get("image"), str):
                images.append(body["image"])
    return images


@dataclass(frozen=True)
class RetryVerdict:
    """Whether retrying a template is safe: ``policy`` to write (None: add no retryStrategy) and why."""

    policy: str | None
    reason: str
    needs_human: bool = False


def retry_verdict(template: Template) -> RetryVerdict:
    """Retries only where the step's side effects are known to be idempotent, or it has none."""
    declared = template.annotations.get(IDEMPOTENT)
    if declared is not None and declared.strip().lower() == "false":
        return RetryVerdict(None, f"declared not idempotent ({IDEMPOTENT}: \"false\")")
    if declared is not None and declared.strip():
        return RetryVerdict("OnError", f"declared idempotent ({IDEMPOTENT}: {declared.strip()})")
    res = template.resource
    if res is not None:
        return _resource_verdict(template)
    effects = template.side_effects
    if effects:
        if all(effect.verb == "deletes" for effect in effects):
            return RetryVerdict("Always", "it only deletes (declared), which is idempotent")
        return RetryVerdict("OnError", "its declared side effects are keyed by fixed names")
    external = external_call(template)
    if external:
        return RetryVerdict(None, f"it makes an external call ({external}) that a retry would repeat",
                            needs_human=True)
    if converging_effects(template):
        return RetryVerdict("OnError", "its cluster changes converge (apply, upgrade or delete of fixed names)")
    return RetryVerdict("OnError", "it has no side effect outside its pod")


def _resource_verdict(template: Template) -> RetryVerdict:
    res = template.resource
    assert res is not None
    fixed = bool(res.name) and not _per_attempt(res.name or "")
    if res.action in ("get", "delete"):
        # Argo runs a resource delete with --ignore-not-found, so a repeat is a no-op
        return RetryVerdict("Always", f"resource {res.action} is idempotent")
    if res.action == "apply" and fixed and "chaos" not in (res.kind or "").lower():
        return RetryVerdict("Always", "resource apply of a fixed name is idempotent")
    what = f"resource {res.action or '?'} of {res.target or 'an object'}"
    return RetryVerdict(None, f"{what} is not known to be idempotent", needs_human=True)


def external_call(template: Template) -> str | None:
    """What external call the template makes (``"ServiceNow (snow)"``), or None when it makes none we know."""
    raw = template.raw
    if template.kind == "http":
        return _http_call(raw.get("http"))
    if template.kind == "plugin":
        return "an executor plugin"
    for effect in effects_of_template(raw):
        if not converges(effect):
            target = f"{effect.kind or 'objects'}{'/' + effect.name if effect.name else ''}"
            return f"{effect.tool} {effect.action} of {target}"
    for body in _containers(template):
        found = _tool_call(body)
        if found:
            return found
    return None


def _http_call(body: Any) -> str | None:
    body = body if isinstance(body, dict) else {}
    method = str(body.get("method") or "GET").upper()
    url = str(body.get("url") or "")
    if method in _READ_METHODS or _in_cluster(url):
        return None
    return f"HTTP {method} {url[:80]}"


def _containers(template: Template) -> list[dict[str, Any]]:
    raw = template.raw
    if template.kind in ("container", "script"):
        body = raw.get(template.kind)
        return [body] if isinstance(body, dict) else []
    if template.kind == "containerSet":
        containers = (raw.get("containerSet") or {}).get("containers") if isinstance(raw.get("containerSet"),
                                                                                    dict) else None
        return [c for c in containers if isinstance(c, dict)] if isinstance(containers, list) else []
    return []


def _tool_call(body: dict[str, Any]) -> str | None:
    image = str(body.get("image") or "")
    # command and args are one argv (shell-quoted back together); a script's source is shell text
    # command and args are one argv (shell-quoted back together); an element with blanks is also read as
    # shell text (``sh -c "curl ..."``), and so is a script's source
    words = [*_strings(body.get("command")), *_strings(body.get("args"))]
    inline = [w for w in words if any(c.isspace() for c in w)]
    text = "\n".join([shlex.join(words), *inline, *_strings(body.get("source"))])
    for words in _commands(text):
        found = _external_words(words)
        if found:
            return found
    found = _script_call("\n".join([*inline, *_strings(body.get("source"))]))
    if found:
        return found
    # Without a command of its own the image's entrypoint runs: a load or chaos tool image acts by itself.
    if not body.get("command") and not body.get("source") and _IMAGE_TOOLS.search(image.split("@")[0]):
        return f"image {image}"
    return None


def _script_call(text: str) -> str | None:
    """A mutating HTTP call or a SaaS client a script makes in its own language (``requests.post(...)``,
    ``fetch(url, {method: "POST"})``, ``from slack_sdk import ...``). A call whose line names only URLs
    inside the cluster is no external call, as for curl; one whose URL is not on its line may be anything."""
    for module in _IMPORT.findall(text):
        if module.lower() in _SAAS_CLIENTS:
            return f"{_SAAS_CLIENTS[module.lower()]} ({module})"
    for match in _HTTP_CALL.finditer(text):
        line = text[match.start():].split("\n", 1)[0]
        urls = _URL.findall(line)
        if urls and all(_in_cluster(u) for u in urls):
            continue
        method = next((g for g in match.groups() if g), "POST").upper()
        return f"HTTP {method} from the script ({' '.join(match.group(0).split())[:40]})"
    return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int | float)]
    return []


def _commands(text: str) -> list[list[str]]:
    """Each simple command of a shell text as words (``shlex``; unbalanced quotes fall back to splitting)."""
    commands = []
    for chunk in re.split(r"[;&|\n]+|\$\(|`", text):
        try:
            words = shlex.split(chunk, comments=True)
        except ValueError:
            words = chunk.split()
        if words:
            commands.append(words)
    return commands


def _external_words(words: list[str]) -> str | None:
    if effects_of_command(shlex.join(words)):
        return None  # a create or delete generator.commands reads: judged with the template's effects
    for index, word in enumerate(words):
        tool = word.rsplit("/", 1)[-1]
        what = _EXTERNAL_TOOLS.get(tool)
        if what is None:
            continue
        rest = [w for w in words[index + 1:] if not w.startswith("-")]
        if tool in _READ_ONLY and rest and rest[0] in _READ_ONLY[tool]:
            return None
        if what == "HTTP call":
            urls = [u for w in words[index + 1:] for u in _URL.findall(w)]
            if urls and all(_in_cluster(u) for u in urls):
                return None
        return f"{what} ({tool})"
    return None


def _per_attempt(name: str) -> bool:
    """A name built from something that changes on every attempt (the pod name, the retry number, the
    time): the same markers the PF202 rule reads, from wherever the rules keep them."""
    rules = importlib.import_module("generator.rules")
    home = getattr(rules, "retries", rules)
    return name.endswith("*") or any(home._PER_ATTEMPT.search(m.group(2)) for m in home._EXPR.finditer(name))


def converges(effect: CommandEffect) -> bool:
    """A command effect that a second run leaves as the first did: a delete, ``kubectl apply``, ``helm
    upgrade``, an ``aws s3`` copy or sync, each of a name that is the same on every attempt."""
    if _per_attempt(effect.name or ""):
        return False
    if effect.action == DELETE:
        return True
    if "chaos" in effect.kind:
        return False  # applying a ChaosEngine or a chaos-mesh object injects the fault again
    words = set(effect.command.split())
    if effect.tool in ("kubectl", "oc"):
        return "apply" in words
    if effect.tool == "helm":
        return "upgrade" in words
    if effect.tool == "aws":
        return bool(words & {"sync", "cp"})
    return False  # kubectl create, helm install, argocd app create, terraform, chaos: not known to converge


def converging_effects(template: Template) -> list[CommandEffect]:
    return [e for e in effects_of_template(template.raw) if converges(e)]


def _in_cluster(url: str) -> bool:
    """A URL to a Service of the cluster (``http://svc``, ``*.svc``, ``*.cluster.local``) or the pod itself."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    if not host or ("{{" in url and not host.strip("{}")):
        return False
    return (host in ("localhost", "127.0.0.1", "::1") or "." not in host
            or host.endswith((".svc", ".svc.cluster.local", ".cluster.local")))
