"""The pull-request text pipeforge writes: what a reviewer reads, and the hidden block a later run reads back,
whatever the parameters hold."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.errors import InvalidParametersError
from generator.gitops.pull_request import BLOCK_START, body, lint_summary, read_metadata, title
from generator.scaffold import build
from generator.template_spec import find_template
from tests.hypokit import examples

TEMPLATE = "provision-process-publish"


@settings(max_examples=examples(25), deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(description=st.text(max_size=120))
def test_the_hidden_block_reads_back_whatever_the_parameters_hold(description: str) -> None:
    try:
        pipeline = build(find_template(TEMPLATE), {"description": description})
    except InvalidParametersError:
        return  # the template refuses it before any PR exists
    text = body(pipeline, "apps/x")
    assert read_metadata(text) == {"template": TEMPLATE, "version": pipeline.template.version,
                                   "digest": pipeline.digest, "path": "apps/x", "parameters": pipeline.values}
    hidden = text[text.rindex(BLOCK_START):]
    assert hidden.count("-->") == 1 and hidden.rstrip().endswith("-->")  # the comment cannot end early


def test_the_body_shows_what_a_reviewer_needs() -> None:
    pipeline = build(find_template(TEMPLATE), {"namespace": "orders"})
    text = body(pipeline, "apps/orders")
    assert title(pipeline, "apps/orders") == f"pipeforge: {TEMPLATE} {pipeline.template.version} in apps/orders"
    for part in (f"**{TEMPLATE}** {pipeline.template.version} into `apps/orders`", pipeline.digest,
                 f"- Lint: {lint_summary(pipeline)}", pipeline.verdict, "| `namespace` | `\"orders\"` |",
                 pipeline.table):
        assert part in text, part
    assert lint_summary(pipeline) == "0 errors, 0 warnings, 0 infos"


@pytest.mark.parametrize("text", ["", "no block here", "<!-- pipeforge:metadata [1, 2] -->"])
def test_a_body_without_a_readable_block_gives_none(text: str) -> None:
    assert read_metadata(text) is None
