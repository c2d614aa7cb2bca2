"""``pipeforge pr``: its arguments and output; the work is :func:`generator.gitops.pull_request.open_pull_request`
(and :func:`generator.gitops.upgrade_pr.open_upgrade_pull_request` for --upgrade).

Imported by the CLI's parser, so it imports nothing heavy at module level."""

from __future__ import annotations

import argparse
import json
import os
from contextlib import ExitStack
from typing import Any, TextIO

from generator.cli.common import command, set_pair, with_template
from generator.errors import UsageError
from generator.exit_codes import ExitCode


def add_command(commands: Any) -> None:
    pr = command(
        commands, "pr", "render a pipeline into a GitOps repository on its own branch (and pull request)",
        "Render TEMPLATE (a local template or catalog NAME[@SPEC], as for 'pipeforge new') into the folder PATH "
        "of the git repository URL, and push it as one commit on the branch pipeforge/<path-slug> over the "
        "base branch. The branch depends only on PATH, so running again updates the same branch: nothing is "
        "committed or pushed when PATH already holds the same files, and the branch is never rewritten once "
        "someone else has committed to it (exit 3). The repository is fetched into a cached bare mirror "
        "($XDG_CACHE_HOME/pipeforge/mirrors) and nothing is checked out, so large repositories stay fast.\n\n"
        "Credentials: the token is read from PIPEFORGE_GIT_TOKEN (user name PIPEFORGE_GIT_USERNAME, default "
        "x-access-token) and sent as an HTTP header through each git call's environment: never in the URL, "
        "a git config file or a message. Provider 'none' pushes the branch only (any git remote); the forges "
        "use the same token for their REST API.\n\n"
        "--upgrade (no TEMPLATE): propose moving the pipeline already at PATH on the base branch to a newer "
        "template version (--to, default the latest): the folder is merged three ways as `pipeforge upgrade` "
        "does (local edits kept, parameter migrations applied, overlapping edits written with conflict markers "
        "and listed), on the same branch and pull request. Its description lists the changelog of each version "
        "crossed, the conflicts as a checklist, lint and fault-matrix verdicts before and after, and the diff. "
        "A folder already at the target (or newer) is left alone: nothing is pushed.",
        "examples:\n  PIPEFORGE_GIT_TOKEN=... pipeforge pr provision-process-publish \\\n"
        "      --repo https://git.example.com/ops/deploy.git --path apps/orders/pipeline --set namespace=orders\n"
        "  pipeforge pr nightly-export@^1.2 --repo URL --path jobs/export --json   # from the catalog\n"
        "  pipeforge pr saga-compensation --repo https://github.com/acme/deploy.git --path apps/saga \\\n"
        "      --provider github --author 'Deploy Bot <deploy-bot@acme.example>'\n"
        "  pipeforge pr --upgrade --to ^1.2 --repo URL --path apps/orders/pipeline --provider gitea\n\n",
    )
    pr.add_argument("template", metavar="TEMPLATE", nargs="?",
                    help="template name (see 'pipeforge templates'), folder, or catalog NAME[@SPEC]; "
                    "omitted with --upgrade")
    pr.add_argument("--from-catalog", action="store_true",
                    help="take TEMPLATE from the catalog even if a local template has that name")
    pr.add_argument("--upgrade", action="store_true",
                    help="upgrade the pipeline already at PATH (its .pipeforge-answers.yaml names the template "
                    "and parameters) instead of rendering TEMPLATE")
    pr.add_argument("--to", metavar="SPEC", default="latest",
                    help="with --upgrade: the version to move to (exact, a range such as ^1.2, or latest)")
    pr.add_argument("--repo", metavar="URL", required=True,
                    help="the GitOps repository (https://, http://, ssh:// or file://; no credentials in it)")
    pr.add_argument("--path", metavar="PATH", required=True, help="folder of the repository to write the pipeline to")
    pr.add_argument("--set", dest="values", metavar="KEY=VALUE", action="append", type=set_pair, default=[],
                    help="set a parameter (repeatable); unset parameters take their defaults")
    pr.add_argument("--base", metavar="BRANCH", default="main", help="branch to start from (default: main)")
    pr.add_argument("--provider", choices=("none", "github", "gitlab", "gitea"), default="none",
                    help="none: push the branch only; github, gitlab, gitea: also open the branch's pull (merge) "
                    "request, or update its title and body (never a second one)")
    pr.add_argument("--api-url", metavar="URL",
                    help="the forge's API (default: https://api.github.com for github.com, else "
                    "https://HOST/api/v3 for GitHub Enterprise Server, https://HOST/api/v4 for GitLab, "
                    "https://HOST/api/v1 for Gitea)")
    pr.add_argument("--author", metavar="'NAME <EMAIL>'",
                    help="author and committer of pipeforge's commits (default: PIPEFORGE_GIT_AUTHOR, "
                    "else 'pipeforge <pipeforge@users.noreply.github.com>')")
    pr.add_argument("--json", action="store_true", help="print the result as JSON")
    pr.set_defaults(handler=_cmd_pr, no_input=True)


def _render_pr(template: Any, digest: str | None, args: argparse.Namespace, out: TextIO) -> int:
    from generator.gitops.pull_request import open_pull_request  # lazy: git and the forges load only for pr
    from generator.scaffold import build  # lazy: rendering loads only for pr

    author, credentials = _who(args)
    pipeline = build(template, dict(args.values), digest=digest)
    outcome = open_pull_request(pipeline, repo=args.repo, path=args.path, base=args.base, provider=args.provider,
                                author=author, credentials=credentials, api_url=args.api_url)
    if args.json:
        json.dump(outcome.as_dict(), out, indent=2)
        out.write("\n")
        return ExitCode.OK
    result = outcome.branch
    if outcome.pull_request is not None and outcome.pull_request.action == "declined":
        pass  # nothing was pushed; said below
    elif result.changed:
        verb = "Created" if result.created else "Updated"
        out.write(f"{verb} {result.branch} at {result.commit[:12]}: {template.name} {template.version} "
                  f"({pipeline.digest}) in {args.path}\n")
    elif result.exists:
        out.write(f"{result.branch} already holds this pipeline at {result.commit[:12]}: nothing pushed\n")
    else:
        out.write(f"{args.base} already holds this pipeline at {result.commit[:12]}: no branch needed\n")
    _say_pull_request(outcome.pull_request, out)
    out.write(f"Simulated failures: {pipeline.verdict}\n")
    return ExitCode.OK


def _cmd_pr(args: argparse.Namespace, out: TextIO) -> int:
    if args.upgrade:
        if args.template is not None or args.values or args.from_catalog:
            raise UsageError("--upgrade takes the template and parameters from PATH's .pipeforge-answers.yaml: "
                             "drop TEMPLATE, --set and --from-catalog (use --to to choose the version)")
        return _upgrade_pr(args, out)
    if args.template is None:
        raise UsageError("pipeforge pr needs TEMPLATE (or --upgrade to upgrade the pipeline at --path)")
    if args.to != "latest":
        raise UsageError("--to goes with --upgrade; to render a given version, write TEMPLATE@SPEC")
    return with_template(args, out, _render_pr)


def _upgrade_pr(args: argparse.Namespace, out: TextIO) -> int:
    from catalog.resolution import history, resolver  # lazy: the catalog loads only for pr --upgrade
    from generator.gitops.upgrade_pr import (  # lazy: git and the forges load only for pr
        CONFLICT,
        DECLINED,
        UP_TO_DATE,
        open_upgrade_pull_request,
    )

    author, credentials = _who(args)
    with ExitStack() as stack:
        outcome = open_upgrade_pull_request(
            repo=args.repo, path=args.path, to=args.to, resolve=resolver(stack), base=args.base,
            provider=args.provider, author=author, credentials=credentials, api_url=args.api_url,
            history=history())
    if args.json:
        json.dump(outcome.as_dict(), out, indent=2)
        out.write("\n")
        return ExitCode.FINDINGS if outcome.status == CONFLICT else ExitCode.OK
    for note in outcome.notes:
        out.write(f"note: {note}\n")
    if outcome.status == UP_TO_DATE:
        out.write(f"{args.path} on {args.base} is at {outcome.template} {outcome.from_version}, not below "
                  f"{outcome.to_version}: nothing to upgrade, nothing pushed\n")
        return ExitCode.OK
    plan, result = outcome.plan, outcome.branch
    assert plan is not None
    what = f"{outcome.template} {outcome.from_version} -> {outcome.to_version} ({outcome.digest}) in {args.path}"
    if outcome.status == DECLINED:
        out.write(f"Would upgrade {what}\n")
    elif result.changed:
        out.write(f"{'Created' if result.created else 'Updated'} {result.branch} at {result.commit[:12]}: {what}\n")
    else:
        out.write(f"{result.branch} already holds this upgrade at {result.commit[:12]}: nothing pushed\n")
    for change in plan.changes:
        if change.status != "unchanged":
            out.write(f"  {change.status:<9} {change.path}" + (f"  ({change.detail})" if change.detail else "") + "\n")
    _say_pull_request(outcome.pull_request, out)
    if outcome.status == DECLINED:
        return ExitCode.OK
    if plan.conflicts:
        out.write(f"{len(plan.conflicts)} conflict(s) to resolve on {result.branch} (look for <<<<<<< markers): "
                  + ", ".join(c.path for c in plan.conflicts) + "\n")
        return ExitCode.FINDINGS
    return ExitCode.OK


def _say_pull_request(pull: Any, out: TextIO) -> None:
    if pull is None:
        return
    if pull.action == "declined":
        out.write(f"Pull request #{pull.number} ({pull.url}) with this title was closed without merging: pipeforge "
                  "does not open it again and pushed nothing. Reopen it to have it updated, or wait for the "
                  "next template version\n")
        return
    out.write(f"Pull request #{pull.number} {pull.action}: {pull.url}\n")


def _who(args: argparse.Namespace) -> tuple[Any, Any]:
    """(author, credentials) from --author / PIPEFORGE_GIT_AUTHOR and the token variables; URL, PATH and
    base are checked here, before anything is rendered or fetched."""
    from generator.gitops.branch import Author, target_path  # lazy: git loads only for pr
    from generator.gitops.git import Credentials, check_branch, check_url  # lazy: git loads only for pr

    author_text = args.author or os.environ.get("PIPEFORGE_GIT_AUTHOR", "")
    author = Author.parse(author_text) if author_text.strip() else None
    credentials = Credentials.from_env(check_url(args.repo))
    target_path(args.path)
    check_branch(args.base)
    return author, credentials
