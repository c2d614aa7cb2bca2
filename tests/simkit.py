"""Small builders for simulator tests: a workflow from a few lines of YAML, run with faults."""

from __future__ import annotations

import textwrap
from typing import Any

from generator.model import parse_documents
from generator.sim.nodes import SimNode
from generator.simulate import Faults, SimulationResult, Target, simulate
from generator.yamlio import load_documents

HEADER = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: t-
spec:
  entrypoint: main
"""


def target(spec_yaml: str) -> Target:
    """A Workflow whose spec is ``spec_yaml`` (indented as under ``spec:``, entrypoint main)."""
    text = HEADER + textwrap.indent(textwrap.dedent(spec_yaml).strip("\n"), "  ") + "\n"
    manifests = parse_documents(load_documents(text), file="t.yaml")
    return Target(manifests[0], manifests)


def run(spec_yaml: str, **faults: Any) -> SimulationResult:
    return simulate(target(spec_yaml), Faults(**faults))


def node(result: SimulationResult, name: str) -> SimNode:
    found = [n for n in result.nodes if n.name == name]
    assert found, f"no node {name!r}; nodes: {[n.name for n in result.nodes]}"
    return found[-1]


def phases(result: SimulationResult) -> dict[str, str]:
    return {n.name: n.phase for n in result.nodes}


def starts(result: SimulationResult, name: str) -> list[float]:
    """Virtual times at which the attempts of ``name`` started."""
    return [e.time for e in result.events if e.node == name and e.phase == "Running" and e.attempt is not None]


def container(name: str, extra: str = "") -> str:
    """A container template named ``name`` (``extra``: more YAML at template level)."""
    more = textwrap.indent(textwrap.dedent(extra).strip("\n"), "  ") + "\n" if extra else ""
    return f"- name: {name}\n{more}  container: {{image: busybox:1.36.1}}\n"
