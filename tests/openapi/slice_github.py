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


def main(source: str) -> None:
    document = json.loads(Path(source).read_text(encoding="utf-8"))
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
    for path, method in OPERATIONS:
        walk(document["paths"][path][method])
        paths.setdefault(path, {})[method] = document["paths"][path][method]
    components: dict[str, dict[str, Any]] = {}
    for ref in sorted(needed):
        _, _, kind, name = ref.split("/")
        components.setdefault(kind, {})[name] = document["components"][kind][name]
    json.dump({"openapi": document["openapi"], "info": document["info"], "paths": paths,
               "components": components}, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
