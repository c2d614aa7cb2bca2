"""``pipeforge explain FILE``: the failure-mode table of each Argo workflow in a manifest."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from generator.cli.common import command
from generator.errors import UsageError
from generator.exit_codes import ExitCode


def add_command(commands: Any) -> None:
    explain = command(
        commands, "explain", "print the failure-mode table of a manifest",
        "For each step of each Argo workflow in FILE: retry limit and policy, backoff, deadline, "
        "side effects and their idempotency key, what cleans up after it, and what the workflow does "
        "when it fails.",
    )
    explain.add_argument("file", metavar="FILE", type=Path, help="an Argo manifest (YAML, one or more documents)")
    explain.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                         help="text: aligned and wrapped to the terminal (default); markdown; json")
    explain.set_defaults(handler=_cmd_explain)


def _cmd_explain(args: argparse.Namespace, out: TextIO) -> int:
    from generator.explain import failure_modes, to_markdown  # lazy: the Argo model loads only for explain
    from generator.model import load_manifests  # lazy: the Argo model loads only for explain
    from generator.terminal import failure_modes as as_text  # lazy: terminal tables load only when printed

    if not args.file.is_file():
        raise UsageError(f"{args.file}: no such file")
    manifests = load_manifests(args.file)
    if not manifests:
        raise UsageError(f"{args.file}: no Argo Workflow, WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow")
    if args.format == "json":
        payload = [{"manifest": m.label, "steps": [r.as_dict() for r in failure_modes(m)]} for m in manifests]
        json.dump(payload, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return ExitCode.OK
    for manifest in manifests:
        if args.format == "markdown":
            out.write(f"## {manifest.label}\n\n{to_markdown(failure_modes(manifest))}\n")
        else:
            out.write(f"{manifest.label}\n{as_text(failure_modes(manifest))}\n")
    return ExitCode.OK
