"""Rendering does not simulate; the verdict (lint + fault matrix) is its own step, cached per content."""

from __future__ import annotations

from generator.gitops.pull_request import counted, lint_counts
from generator.lint import lint_text
from generator.scaffold import MANIFEST_FILE, SIMULATION_START, build
from generator.template_spec import find_template
from generator.verdict import content_digest, verdict_of, verdict_of_text

TEMPLATE = "provision-process-publish"


def test_build_renders_without_running_the_matrix() -> None:
    pipeline = build(find_template(TEMPLATE), {"namespace": "render-only"})
    assert "simulation" not in vars(pipeline) and "files" not in vars(pipeline)
    assert pipeline.rendered[MANIFEST_FILE]
    assert pipeline.files["README.md"] != pipeline.rendered["README.md"]  # the matrix is only in what is written


def test_the_written_readme_shows_the_verdicts_matrix() -> None:
    pipeline = build(find_template(TEMPLATE), {})
    readme = pipeline.files["README.md"]
    assert SIMULATION_START in readme
    assert pipeline.verdict == verdict_of(pipeline).summary
    assert pipeline.files[MANIFEST_FILE] == pipeline.rendered[MANIFEST_FILE]


def test_the_verdict_lints_every_rendered_yaml_file() -> None:
    pipeline = build(find_template(TEMPLATE), {})
    expected = [f for name, text in sorted(pipeline.rendered.items())
                if name.endswith(".yaml") and name != ".pipeforge-answers.yaml" for f in lint_text(text, name)]
    assert list(verdict_of(pipeline).findings) == expected


def test_the_verdict_is_cached_per_rendered_content() -> None:
    template = find_template(TEMPLATE)
    first, again = build(template, {"namespace": "cached"}), build(template, {"namespace": "cached"})
    other = build(template, {"namespace": "another"})
    assert content_digest(first.rendered) == content_digest(again.rendered) != content_digest(other.rendered)
    assert verdict_of(first) is verdict_of(again)
    assert verdict_of(other) is not verdict_of(first)


def test_the_cache_is_bounded() -> None:
    from generator.verdict import CACHE_SIZE, _text_verdict, _verdict

    assert _verdict.cache_info().maxsize == CACHE_SIZE
    assert _text_verdict.cache_info().maxsize == CACHE_SIZE


def test_a_manifest_read_from_a_repository_is_judged_once_per_text() -> None:
    """An upgrade PR's description judges the manifest before and after; a roll-out over repositories that
    hold the same pipeline meets the same text many times."""
    from generator.errors import PipeforgeError
    from generator.gitops.upgrade_pr import verdicts
    from generator.sim.matrix import run_matrix
    from generator.simulate import load_text

    text = build(find_template(TEMPLATE), {"namespace": "repo-text"}).rendered[MANIFEST_FILE]
    first = verdict_of_text(text, MANIFEST_FILE)
    assert verdict_of_text(text, MANIFEST_FILE) is first
    assert verdict_of_text(text + "\n# a person's edit\n", MANIFEST_FILE) is not first
    assert first.findings == tuple(lint_text(text, MANIFEST_FILE))
    assert first.summary == run_matrix(load_text(text, MANIFEST_FILE)).summary()
    assert verdicts(text) == (counted(first.findings), first.summary)
    broken = "kind: Workflow\nspec: [unclosed\n"
    for _ in range(2):  # an error is raised each time, never cached as a verdict
        try:
            verdict_of_text(broken, MANIFEST_FILE)
        except PipeforgeError:
            pass
        else:
            raise AssertionError("a malformed manifest has no verdict")
    lint, matrix = verdicts(broken)
    assert matrix.startswith("not simulated: ") and lint == lint_counts(broken)
