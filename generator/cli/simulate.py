"""``pipeforge simulate FILE``: run a workflow on a virtual clock with the faults asked for, or the whole
fault matrix, and say whether anything was orphaned or duplicated."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from generator.cli.common import command, typed
from generator.errors import UsageError
from generator.exit_codes import ExitCode


def add_command(commands: Any) -> None:
    simulate = command(
        commands, "simulate", "fail a pipeline on purpose, offline, and check its cleanup",
        "Run FILE's workflow on a virtual clock, following Argo's failure semantics (retries and their "
        "policies, deadlines, exit handlers, DAG and steps phases, approval gates, stop and terminate), with "
        "the faults you inject. Each attempt performs its declared side effects (pipeforge.io/creates, "
        "produces, deletes annotations and resource templates) and those read from its commands (kubectl, "
        "helm, argocd, aws s3, terraform; marked as inferred); the verdict says whether anything was "
        "orphaned (a temporary resource left behind, or a lasting output kept by a failed run; an object "
        "owned by the Workflow goes with it) or "
        "duplicated (one declaration creating its resource under several names). Nothing runs on a "
        "cluster. What the simulator does not model is listed as an assumption.",
        "examples:\n"
        "  pipeforge simulate workflowtemplate.yaml                          # the fault-free run\n"
        "  pipeforge simulate wf.yaml --fail process                         # every attempt of process fails\n"
        "  pipeforge simulate wf.yaml --fail process=error:1                 # its first attempt errors\n"
        "  pipeforge simulate wf.yaml --hang publish --json\n"
        "  pipeforge simulate wf.yaml --resume approval:approve=YES\n"
        "  pipeforge simulate wf.yaml --terminate-at process\n"
        "  pipeforge simulate wf.yaml --matrix                               # every single fault\n\n"
        "exit status: 0 when nothing is orphaned or duplicated and the run ends (whatever the workflow's "
        "phase), or when what is broken is a documented known gap; 1 when the safety invariants are broken or "
        "the run never ends (--matrix: in any scenario); 2 for an invalid workflow or bad flags.\n\n",
    )
    simulate.add_argument("file", metavar="FILE", type=Path, help="an Argo manifest (its first Workflow, "
                          "else its first WorkflowTemplate, is simulated; templateRefs resolve within the file)")
    simulate.add_argument("--fail", metavar="STEP[=failed|error|unschedulable][:N]", action="append",
                          type=typed(_parse_fail), default=[],
                          help="STEP's first N attempts (default: all) end Failed (non-zero exit, the default), "
                          "Error (infrastructure) or cannot create their pod (unschedulable); a leaf entrypoint or "
                          "exit handler is named by its template name, the workflow's name or onExit; repeatable")
    simulate.add_argument("--hang", metavar="STEP", action="append", default=[],
                          help="STEP runs until a deadline kills it (a gate: nobody decides); repeatable")
    simulate.add_argument("--resume", metavar="GATE[:NAME=VALUE,...]", action="append", type=typed(_parse_resume),
                          default=[], help="resume the approval gate GATE, supplying output values; a value "
                          "with a comma is a JSON string (msg=\"Hello, World!\"), or give GATE:{JSON object}; "
                          "repeatable")
    simulate.add_argument("--reject", metavar="GATE", action="append", default=[],
                          help="stop the approval gate GATE (it fails); repeatable")
    shutdown = simulate.add_mutually_exclusive_group()
    shutdown.add_argument("--stop-at", metavar="STEP", help="argo stop while STEP runs (exit handlers still run)")
    shutdown.add_argument("--terminate-at", metavar="STEP",
                          help="argo terminate while STEP runs (no exit handler runs)")
    simulate.add_argument("--json", action="store_true", help="print the result as JSON")
    simulate.add_argument("--matrix", action="store_true",
                          help="run the fault-free run and every single fault, and print the table")
    simulate.set_defaults(handler=_cmd_simulate)


def _parse_fail(text: str) -> Any:
    from generator.sim.faults import parse_fail  # lazy: the simulator loads only when simulate parses its flags

    return parse_fail(text)


def _parse_resume(text: str) -> Any:
    from generator.sim.faults import parse_resume  # lazy: the simulator loads only when simulate parses its flags

    return parse_resume(text)


def _cmd_simulate(args: argparse.Namespace, out: TextIO) -> int:
    from generator.sim.report import render  # lazy: the simulator loads only for simulate
    from generator.simulate import Faults, check_faults, load, simulate  # lazy: the simulator loads only for simulate

    faults = Faults(
        fail=dict(args.fail), hang=frozenset(args.hang), resume=dict(args.resume), reject=frozenset(args.reject),
        stop_at=args.stop_at, terminate_at=args.terminate_at,
    )
    target = load(args.file)
    target.validate()
    if args.matrix:
        if faults.steps():
            raise UsageError("--matrix runs every single fault itself: drop --fail, --hang, --resume, --reject, "
                             "--stop-at and --terminate-at")
        return _matrix(target, args.json, out)
    check_faults(target, faults)
    result = simulate(target, faults)
    if args.json:
        json.dump(result.as_dict(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(render(result))
    return ExitCode.OK if result.ok else ExitCode.FINDINGS


def _matrix(target: Any, as_json: bool, out: TextIO) -> int:
    from generator.sim.matrix import run_matrix, to_text  # lazy: the simulator loads only for simulate

    matrix = run_matrix(target)
    if as_json:
        json.dump(matrix.as_dict(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(f"Fault matrix of {matrix.manifest}\n\n{to_text(matrix)}")
    return ExitCode.OK if matrix.ok else ExitCode.FINDINGS
