"""The README and the docs site stay true: a short README whose runnable commands work, a nav that holds
every page, and an architecture map whose every module path exists in the tree."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
MARKER = "<!-- runnable -->"
# A path in backticks that starts at a top-level folder of the repository, e.g. `generator/rules/base.py`.
TREE_PATH = re.compile(r"`((?:generator|catalog|registry_api|templates|tests|scripts|bench|docs)/[\w./-]*)`")
DEAD_PROXY = "http://127.0.0.1:9"  # any network access by a README command fails instead of reaching out


def runnable_blocks(markdown: str) -> list[str]:
    """The bodies of the ```sh blocks right after a runnable marker (blank lines between are allowed)."""
    return re.findall(rf"{re.escape(MARKER)}\n(?:\s*\n)*```sh\n(.*?)```", markdown, flags=re.S)


def run_block(block: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """One block in bash (stop at the first failing line), with this checkout's ``pipeforge`` on PATH."""
    env = os.environ | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT), "HOME": str(cwd), "XDG_DATA_HOME": str(cwd / ".data"),
        "HTTP_PROXY": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY, "ALL_PROXY": DEAD_PROXY,
        "http_proxy": DEAD_PROXY, "https_proxy": DEAD_PROXY, "all_proxy": DEAD_PROXY, "NO_PROXY": "",
    }
    return subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=cwd, env=env, capture_output=True,
                          text=True, check=False)


def missing_tree_paths(markdown: str) -> list[str]:
    """Paths the page names that do not exist in the checkout."""
    return sorted({path for path in TREE_PATH.findall(markdown) if not (ROOT / path).exists()})


def nav_pages(node: object) -> set[str]:
    """Every page file named anywhere in an mkdocs nav."""
    if isinstance(node, str):
        return {node} if node.endswith(".md") else set()
    if isinstance(node, list):
        return set().union(*(nav_pages(item) for item in node)) if node else set()
    if isinstance(node, dict):
        return set().union(*(nav_pages(value) for value in node.values())) if node else set()
    return set()


def test_the_readme_is_at_most_10_kb() -> None:
    assert README.stat().st_size <= 10_000


def test_the_readme_commands_are_the_ones_ci_and_the_makefile_run() -> None:
    readme = README.read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "make run " in readme and "make test " in readme
    rule = re.search(r"^test: (.*)\n((?:\t.*\n)*)", makefile, flags=re.M)
    assert rule, "the Makefile has no test target"
    for step in ("lint", "unit-shared", "unit-alone", "typecheck", "docs"):  # every check, the whole suite
        assert re.search(rf"(?<![-\w]){step}(?![-\w])", rule.group(1) + rule.group(2)), step
    assert re.search(r"^run: ", makefile, flags=re.M)
    assert "mkdocs build --strict" in makefile
    assert (ROOT / ".ci" / "run").read_text(encoding="utf-8").rstrip().endswith("make test")


def test_the_runnable_readme_blocks_work_offline_in_an_empty_folder(tmp_path: Path) -> None:
    blocks = runnable_blocks(README.read_text(encoding="utf-8"))
    assert blocks, f"README.md has no ```sh block after {MARKER}"
    for block in blocks:
        result = run_block(block, tmp_path)
        assert result.returncode == 0, f"README block failed:\n{block}\n{result.stdout}\n{result.stderr}"
    manifest = tmp_path / "pipelines" / "orders" / "workflowtemplate.yaml"
    assert "kind: WorkflowTemplate" in manifest.read_text(encoding="utf-8")


def test_a_failing_block_is_reported_with_its_error(tmp_path: Path) -> None:
    [block] = runnable_blocks(f"text\n{MARKER}\n\n```sh\npipeforge lint absent.yaml\necho never\n```\n")
    result = run_block(block, tmp_path)
    assert result.returncode == 2 and "absent.yaml" in result.stderr and "never" not in result.stdout


def test_every_pipeforge_command_the_readme_shows_exists() -> None:
    readme = README.read_text(encoding="utf-8")
    shown = set(re.findall(r"`pipeforge ([a-z]+)", readme)) | set(re.findall(r"^pipeforge ([a-z]+)", readme, re.M))
    help_text = subprocess.run([sys.executable, "-m", "generator", "--help"], capture_output=True, text=True,
                               check=True, env=os.environ | {"PYTHONPATH": str(ROOT)}).stdout
    assert shown and all(re.search(rf"^\s+{command}\b", help_text, re.M) for command in shown), shown


def test_the_readme_links_to_pages_that_exist() -> None:
    links = re.findall(r"\]\((docs/[^)#]+)", README.read_text(encoding="utf-8"))
    assert links and [link for link in links if not (ROOT / link).is_file()] == []


def test_every_docs_page_is_in_the_nav() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    listed = nav_pages(config["nav"])
    index = (DOCS / "rules" / "index.md").read_text(encoding="utf-8")
    rule_pages = {page for page in pages if re.fullmatch(r"rules/PF\d+\.md", page)}
    assert rule_pages and all(f"]({page.removeprefix('rules/')})" in index for page in rule_pages)
    assert sorted(pages - listed - rule_pages) == [] and sorted(listed - pages) == []


def test_every_module_the_architecture_map_names_exists() -> None:
    page = (DOCS / "architecture.md").read_text(encoding="utf-8")
    assert len(TREE_PATH.findall(page)) > 20
    assert missing_tree_paths(page) == []


def test_the_architecture_map_names_every_package() -> None:
    page = (DOCS / "architecture.md").read_text(encoding="utf-8")
    packages = [p.parent.relative_to(ROOT) for p in ROOT.glob("*/__init__.py") if p.parent.name != "tests"]
    subpackages = [p.parent.relative_to(ROOT) for p in ROOT.glob("*/*/__init__.py")
                   if p.parent.parts[-2] in {"generator", "catalog", "registry_api"}]
    for package in packages + subpackages:
        assert f"`{package.as_posix()}/`" in page or f"(`{package.name}/`" in page or f"`{package.name}/`" in page, \
            package


@pytest.mark.parametrize("name", ["generator/nothing_here.py", "catalog/gone/"])
def test_the_map_check_reports_a_path_that_does_not_exist(name: str) -> None:
    assert missing_tree_paths(f"a new rule goes in `{name}`, see `generator/rules/base.py`") == [name]


def test_every_command_of_the_cli_has_a_row_linking_to_its_page() -> None:
    help_text = subprocess.run([sys.executable, "-m", "generator", "--help"], capture_output=True, text=True,
                               check=True, env=os.environ | {"PYTHONPATH": str(ROOT)}).stdout
    commands = re.findall(r"^    ([a-z]+)\b", help_text.split("  COMMAND\n", 1)[1].split("\noptions:")[0], flags=re.M)
    rows = dict(re.findall(r"^\| `pipeforge ([a-z]+)` \|.*\]\(([\w-]+\.md)", (DOCS / "commands.md").read_text(
        encoding="utf-8"), flags=re.M))
    assert len(commands) > 10 and sorted(rows) == sorted(commands)
    assert all((DOCS / page).is_file() for page in rows.values())
