"""harden's text edits on open-ended layouts: any indentation, sequence offset and comment placement.

Manifests are generated as data, written with a random mapping indent and sequence offset, and sprinkled
with comment lines; whatever the layout, harden's output parses, keeps every line it did not report as
changed, keeps every comment, fixes what it claims to, and a second pass changes nothing.
"""

from __future__ import annotations

import io
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from generator.harden import harden_text
from generator.lint import lint_text
from tests.hypokit import examples

STEP = st.fixed_dictionaries({
    "kind": st.sampled_from(["container", "script", "resource", "suspend"]),
    "retry": st.sampled_from([None, {}, {"limit": 2}, {"retryPolicy": "OnError"}, {"limit": 1, "backoff": {
        "duration": "5s"}}]),
    "deadline": st.booleans(),
    "cleanup": st.booleans(),
})


def _template(index: int, step: dict[str, Any]) -> dict[str, Any]:
    name = f"cleanup-{index}" if step["cleanup"] else f"step-{index}"
    template: dict[str, Any] = {"name": name}
    if step["deadline"] and step["kind"] != "suspend":
        template["activeDeadlineSeconds"] = "60"
    if step["retry"] is not None and step["kind"] != "suspend":
        template["retryStrategy"] = step["retry"]
    if step["kind"] == "container":
        template["container"] = {"image": "busybox:1.36.1", "command": ["sh", "-c", "echo hi"]}
    elif step["kind"] == "script":
        template["script"] = {"image": "python:3.12", "command": ["python"], "source": "print(1)"}
    elif step["kind"] == "resource":
        template["resource"] = {"action": "apply", "manifest": "apiVersion: v1\nkind: ConfigMap\n"
                                "metadata:\n  name: cm-{{workflow.name}}\n"}
    else:
        template["suspend"] = {}
    return template


def _document(steps: list[dict[str, Any]], dag: bool) -> dict[str, Any]:
    templates = [_template(i, s) for i, s in enumerate(steps)]
    names = [t["name"] for t in templates]
    if dag:
        tasks = [{"name": n, "template": n, **({"depends": names[i - 1]} if i else {})} for i, n in enumerate(names)]
        main: dict[str, Any] = {"name": "main", "dag": {"tasks": tasks}}
    else:
        main = {"name": "main", "steps": [[{"name": n, "template": n}] for n in names]}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "lay-"},
            "spec": {"entrypoint": "main", "templates": [main, *templates]}}


def _write(document: dict[str, Any], indent: int, offset: int, comments: list[int]) -> str:
    writer = YAML(typ="rt")
    writer.indent(mapping=indent, sequence=indent + offset, offset=offset)
    out = io.StringIO()
    writer.dump(document, out)
    lines = out.getvalue().splitlines()
    for n, where in enumerate(sorted(set(comments), reverse=True)):
        at = where % (len(lines) + 1)
        following = lines[at] if at < len(lines) else ""
        pad = len(following) - len(following.lstrip(" -")) if following.strip() else 0
        if following.strip() and not _inside_block_scalar(lines, at):
            lines.insert(at, " " * pad + f"# note {n}")
    return "\n".join(lines) + "\n"


def _inside_block_scalar(lines: list[str], at: int) -> bool:
    return any(line.rstrip().endswith("|") or line.rstrip().endswith("|-") for line in lines[max(at - 4, 0):at])


@settings(max_examples=examples(60), deadline=None)
@example(  # a comment inside a moved DAG task, after the dependency line that is dropped
    [{"kind": "container", "retry": {}, "deadline": True, "cleanup": False},
     {"kind": "container", "retry": None, "deadline": False, "cleanup": True},
     {"kind": "resource", "retry": {}, "deadline": False, "cleanup": True}], True, 2, 0, [180, 200])
@given(st.lists(STEP, min_size=1, max_size=4), st.booleans(), st.sampled_from([2, 4]), st.sampled_from([0, 2]),
       st.lists(st.integers(0, 200), max_size=6))
def test_any_layout_is_edited_in_place_and_reaches_a_fixed_point(
        steps: list[dict[str, Any]], dag: bool, indent: int, offset: int, comments: list[int]) -> None:
    text = _write(_document(steps, dag), indent, offset, comments)
    result = harden_text(text, "layout.yaml")
    assert not any(h.rule == "harden" for h in result.held), text
    output = result.text.splitlines()
    position = 0
    for number, line in enumerate(text.splitlines(), 1):
        if number not in result.touched:
            position = output.index(line, position) + 1
    def comments(of: str) -> list[str]:
        return sorted(line.strip() for line in of.splitlines() if line.strip().startswith("#"))

    assert comments(text) == comments(result.text), text + "=====\n" + result.text
    after = {(f.rule, f.template) for f in lint_text(result.text, "layout.yaml")}
    claimed = {(c.rule, c.template) for c in result.changes if c.rule != "PF101"}
    assert not after & claimed, after & claimed
    assert harden_text(result.text, "layout.yaml").text == result.text
