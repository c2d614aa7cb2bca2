"""Cut the slice of GitHub's OpenAPI description that ``pipeforge pr --provider github`` uses.

The source is ``generated/api.github.com.json`` of the npm package ``@octokit/openapi`` (MIT, see
LICENSE-octokit-openapi). To refresh the vendored slice:

    npm pack @octokit/openapi@23.0.2 && tar xzf octokit-openapi-23.0.2.tgz package/generated/api.github.com.json
    python tests/openapi/slice_github.py package/generated/api.github.com.json > tests/openapi/github-pulls.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OPERATIONS = [("/repos/{owner}/{repo}/pulls", "get"), ("/repos/{owner}/{repo}/pulls", "post"),
              ("/repos/{owner}/{repo}/pulls/{pull_number}", "patch")]


def cut(document: dict[str, Any], operations: list[tuple[str, str]]) -> dict[str, Any]:
    """The operations of ``document`` with every component they reach through ``$ref``, nothing else."""
    needed: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref not in needed:
                needed.add(ref)
                _, _, kind, name = ref.split("/")
                walk(document["components"][kind][name])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    paths: dict[str, dict[str, Any]] = {}
    for path, method in operations:
        walk(document["paths"][path][method])
        paths.setdefault(path, {})[method] = document["paths"][path][method]
    components: dict[str, dict[str, Any]] = {}
    for ref in sorted(needed):
        _, _, kind, name = ref.split("/")
        components.setdefault(kind, {})[name] = document["components"][kind][name]
    return {"openapi": document["openapi"], "info": document["info"], "paths": paths, "components": components}


def write(sliced: dict[str, Any]) -> None:
    json.dump(sliced, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


def main(source: str) -> None:
    write(cut(json.loads(Path(source).read_text(encoding="utf-8")), OPERATIONS))


if __name__ == "__main__":
    main(sys.argv[1])
