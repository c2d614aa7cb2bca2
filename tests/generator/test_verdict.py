"""Rendering does not simulate; the verdict (lint + fault matrix) is its own step, cached per content."""

from __future__ import annotations

from generator.lint import lint_text
from generator.scaffold import MANIFEST_FILE, SIMULATION_START, build
from generator.template_spec import find_template
from generator.verdict import content_digest, verdict_of

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
    from generator.verdict import CACHE_SIZE, _verdict

    assert _verdict.cache_info().maxsize == CACHE_SIZE
