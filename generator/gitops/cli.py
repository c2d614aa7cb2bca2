"""``pipeforge pr``: its arguments and output; the work is :func:`generator.gitops.pull_request.open_pull_request`.

Imported by the CLI's parser, so it imports nothing heavy at module level."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from typing import Any, TextIO

from generator.cli import EXIT_OK, add_template_argument, set_pair


def add_pr_command(commands: Any, command: Callable[..., Any]) -> None:
    """The ``pr`` subcommand (``command`` is the CLI's subcommand factory)."""
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
        "use the same token for their REST API.",
        "examples:\n  PIPEFORGE_GIT_TOKEN=... pipeforge pr provision-process-publish \\\n"
        "      --repo https://git.example.com/ops/deploy.git --path apps/orders/pipeline --set namespace=orders\n"
        "  pipeforge pr nightly-export@^1.2 --repo URL --path jobs/export --json   # from the catalog\n"
        "  pipeforge pr saga-compensation --repo https://github.com/acme/deploy.git --path apps/saga \\\n"
        "      --provider github --author 'Deploy Bot <deploy-bot@acme.example>'\n\n",
    )
    add_template_argument(pr)
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
    from generator.gitops.branch import Author, target_path
    from generator.gitops.git import Credentials, check_branch, check_url
    from generator.gitops.pull_request import open_pull_request
    from generator.scaffold import build

    author_text = args.author or os.environ.get("PIPEFORGE_GIT_AUTHOR", "")
    author = Author.parse(author_text) if author_text.strip() else None
    credentials = Credentials.from_env(check_url(args.repo))
    target_path(args.path)  # a bad URL, PATH or base is reported before anything is rendered or fetched
    check_branch(args.base)
    pipeline = build(template, dict(args.values), digest=digest)
    outcome = open_pull_request(pipeline, repo=args.repo, path=args.path, base=args.base, provider=args.provider,
                                author=author, credentials=credentials, api_url=args.api_url)
    if args.json:
        json.dump(outcome.as_dict(), out, indent=2)
        out.write("\n")
        return EXIT_OK
    result = outcome.branch
    if result.changed:
        verb = "Created" if result.created else "Updated"
        out.write(f"{verb} {result.branch} at {result.commit[:12]}: {template.name} {template.version} "
                  f"({pipeline.digest}) in {args.path}\n")
    elif result.exists:
        out.write(f"{result.branch} already holds this pipeline at {result.commit[:12]}: nothing pushed\n")
    else:
        out.write(f"{args.base} already holds this pipeline at {result.commit[:12]}: no branch needed\n")
    if outcome.pull_request is not None:
        pull = outcome.pull_request
        out.write(f"Pull request #{pull.number} {pull.action}: {pull.url}\n")
    out.write(f"Simulated failures: {pipeline.verdict}\n")
    return EXIT_OK


def _cmd_pr(args: argparse.Namespace, out: TextIO) -> int:
    from generator.cli import with_template

    return with_template(args, out, _render_pr)
