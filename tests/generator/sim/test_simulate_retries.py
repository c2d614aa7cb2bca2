"""Reference §1 (retryStrategy) and §2 (deadlines and timeouts): each test names the fact it checks."""

from __future__ import annotations

import pytest

from tests.simkit import node, run, starts


def _retried(retry: str, extra: str = "") -> str:
    return f"""
    templates:
      - name: main
        steps:
          - - name: work
              template: work
      - name: work
        retryStrategy: {retry}
        container: {{image: busybox:1.36.1}}
        {extra}
    """


def test_limit_counts_retries_not_attempts() -> None:
    """§1: limit counts retries, so at most limit+1 attempts."""
    result = run(_retried("{limit: 2}"), fail={"work": ("Failed", None)})
    assert node(result, "work").attempts == 3
    assert node(result, "work").phase == "Failed"
    assert "No more retries left" in node(result, "work").message
    assert result.phase == "Failed"


def test_limit_may_be_a_templated_string() -> None:
    """§1: limit may be a string so that it can be templated ({{inputs.parameters.n}})."""
    spec = """
    arguments: {parameters: [{name: n, value: "1"}]}
    templates:
      - name: main
        steps: [[{name: work, template: work}]]
      - name: work
        retryStrategy: {limit: "{{workflow.parameters.n}}"}
        container: {image: busybox:1.36.1}
    """
    assert node(run(spec, fail={"work": ("Failed", None)}), "work").attempts == 2


@pytest.mark.parametrize(
    ("policy", "fault", "attempts"),
    [
        ("", "Failed", 4),  # OnFailure is the default: retries Failed
        ("", "Error", 1),  # ... and not Error
        ("retryPolicy: OnFailure", "Failed", 4),
        ("retryPolicy: OnFailure", "Error", 1),
        ("retryPolicy: OnError", "Failed", 1),
        ("retryPolicy: OnError", "Error", 4),
        ("retryPolicy: Always", "Failed", 4),
        ("retryPolicy: Always", "Error", 4),
        ("retryPolicy: OnTransientError", "Error", 1),  # an injected error is not transient
    ],
)
def test_retry_counts_per_policy_and_the_failed_error_distinction(policy: str, fault: str, attempts: int) -> None:
    """§1 policy table: OnFailure (default) retries Failed only, OnError Error only, Always both."""
    retry = "{limit: 3" + (", " + policy.replace("retryPolicy: ", "retryPolicy: ") if policy else "") + "}"
    result = run(_retried(retry), fail={"work": (fault, None)})
    assert node(result, "work").attempts == attempts
    assert node(result, "work").phase == fault


def test_expression_without_a_policy_means_always() -> None:
    """§1: Always is the default when an expression is given (v3.5+), so an Error is retried."""
    result = run(_retried('{limit: 2, expression: "true"}'), fail={"work": ("Error", None)})
    assert node(result, "work").attempts == 3


def test_policy_and_expression_combine_with_and() -> None:
    """§1: the policy and the expression are re-evaluated after every attempt and combined with AND."""
    retry = '{limit: 5, retryPolicy: Always, expression: "lastRetry.status == \\"Failed\\""}'
    assert node(run(_retried(retry), fail={"work": ("Error", None)}), "work").attempts == 1
    assert node(run(_retried(retry), fail={"work": ("Failed", None)}), "work").attempts == 6


def test_retry_node_succeeds_if_any_attempt_succeeds() -> None:
    """§1: the retry node ends Succeeded if any attempt succeeds."""
    result = run(_retried("{limit: 3}"), fail={"work": ("Failed", 2)})
    assert (node(result, "work").phase, node(result, "work").attempts) == ("Succeeded", 3)
    assert result.phase == "Succeeded"


def test_retry_strategy_without_limit_retries_until_it_succeeds() -> None:
    """§1: retryStrategy: {} (no limit) retries until it succeeds."""
    result = run(_retried("{}"), fail={"work": ("Failed", 7)})
    assert node(result, "work").attempts == 8 and result.phase == "Succeeded"


def test_unbounded_retry_over_a_permanent_fault_is_reported_not_looped() -> None:
    """§1: no limit and a permanent fault would retry forever: the run stops and says so."""
    result = run(_retried("{}"), fail={"work": ("Failed", None)})
    assert result.phase == "Running"
    assert result.halted is not None and "retries forever" in result.halted


def test_backoff_waits_duration_times_factor_to_the_attempt_capped() -> None:
    """§1 backoff: wait = duration * factor^attempt index, capped at cap; the first retry waits duration."""
    retry = "{limit: 4, backoff: {duration: 10s, factor: 2, cap: 30s}}"
    times = starts(run(_retried(retry), fail={"work": ("Failed", None)}), "work")
    # each attempt runs 10 s; waits 10, 20, 30 (capped), 30
    assert times == [0, 20, 50, 90, 130]


@pytest.mark.parametrize(("backoff", "times"), [
    ("{duration: '10', factor: '2'}", [0, 20, 50]),  # a bare integer is seconds
    ("{duration: 0.25m, factor: '+2'}", [0, 25, 65]),  # a Go duration; Atoi takes a sign
    ("{duration: 10s, factor: 0}", [0, 20, 40]),  # a factor that is not positive is ignored: constant backoff
])
def test_backoff_numbers_and_durations_read_as_argo_reads_them(backoff: str, times: list[float]) -> None:
    """§1 backoff, docs/argo-semantics.md: ParseStringToDuration for durations, util/intstr.Int32 for factor."""
    result = run(_retried(f"{{limit: 2, backoff: {backoff}}}"), fail={"work": ("Failed", None)})
    assert starts(result, "work") == times


@pytest.mark.parametrize(("backoff", "assumed"), [
    ("{duration: '1.5', factor: 2}", "backoff.duration '1.5' of work is not a duration: ignored"),
    ("{duration: 1d, factor: 2}", "backoff.duration '1d' of work is not a duration: ignored"),
    ("{duration: 10s, factor: '1.5'}", "backoff.factor '1.5' of work is not a number: taken as 1"),
])
def test_backoff_values_go_cannot_parse_are_named_as_assumptions(backoff: str, assumed: str) -> None:
    """docs/argo-semantics.md: Go's time.ParseDuration has no day unit and no bare decimal; strconv.Atoi no point."""
    result = run(_retried(f"{{limit: 1, backoff: {backoff}}}"), fail={"work": ("Failed", None)})
    assert assumed in result.assumptions


@pytest.mark.parametrize("limit", ["'3.5'", "' 3'", "'1e3'"])
def test_a_retry_limit_strconv_atoi_refuses_errors_the_node(limit: str) -> None:
    """docs/argo-semantics.md: util/intstr.Int32 reads limit with strconv.Atoi; Argo errors the node otherwise."""
    work = node(run(_retried(f"{{limit: {limit}}}"), fail={"work": ("Failed", None)}), "work")
    assert work.phase == "Error" and "is not a number" in work.message


def test_a_whole_number_from_an_expression_is_a_valid_limit() -> None:
    """Argo renders a {{= }} result with Go's encoding/json, which writes the float 2.0 as 2."""
    result = run(_retried("""{limit: "{{=asFloat('2')}}"}"""), fail={"work": ("Failed", None)})
    assert node(result, "work").attempts == 3


def test_backoff_that_would_pass_max_duration_stops_retrying() -> None:
    """§1: maxDuration counts from the first attempt's start; a backoff that would pass it fails the node."""
    retry = "{limit: 10, backoff: {duration: 30s, factor: 2, maxDuration: 2m}}"
    result = run(_retried(retry), fail={"work": ("Failed", None)})
    work = node(result, "work")
    # attempts at 0, 40 (wait 30), 110 (wait 60); the next wait (120) would pass 120 s
    assert starts(result, "work") == [0, 40, 110]
    assert work.message == "Backoff would exceed max duration limit"


def test_max_duration_clamps_the_attempt_deadline() -> None:
    """§1: the attempt pod's deadline is clamped to what maxDuration leaves."""
    retry = "{limit: 3, backoff: {duration: 5s, maxDuration: 60s}}"
    result = run(_retried(retry, "activeDeadlineSeconds: 600"), hang=frozenset({"work"}))
    work = node(result, "work")
    assert work.attempts == 1 and work.message == "Max duration limit exceeded"
    assert result.events[-1].time == 60


def test_spec_retry_strategy_applies_to_every_template_without_one() -> None:
    """§1: spec.retryStrategy applies to every template without its own, steps templates included,
    so the whole steps template is re-run (issue #5073)."""
    spec = """
    retryStrategy: {limit: 1}
    templates:
      - name: main
        steps: [[{name: work, template: work}]]
      - name: work
        container: {image: busybox:1.36.1}
    """
    result = run(spec, fail={"work": ("Failed", None)})
    works = [n for n in result.nodes if n.name == "work"]
    assert len(works) == 2  # the steps template ran twice, each with its own child
    assert all(n.attempts == 2 for n in works)


def test_retrying_a_dag_template_reruns_its_succeeded_children() -> None:
    """§1: retrying a steps/DAG template re-runs the whole sub-graph, including children that
    succeeded: the main way side effects get duplicated (issues #12009, #9190)."""
    spec = """
    templates:
      - name: main
        dag:
          tasks: [{name: inner, template: inner}]
      - name: inner
        retryStrategy: {limit: 1}
        dag:
          tasks:
            - {name: make, template: make}
            - {name: check, template: check, depends: make}
      - name: make
        resource:
          action: create
          manifest: |
            apiVersion: v1
            kind: ConfigMap
            metadata: {generateName: run-}
      - name: check
        container: {image: busybox:1.36.1}
    """
    result = run(spec, fail={"check": ("Failed", 1)})
    assert [n.phase for n in result.nodes if n.name == "make"] == ["Succeeded", "Succeeded"]
    assert result.phase == "Succeeded"
    ((declaration, names),) = result.duplicated
    assert "make" in declaration and len(names) == 2 and all(n.startswith("ConfigMap/run-") for n in names)


# --- §2 deadlines ---------------------------------------------------------------------------------


def _deadline(seconds: int, exit_template: str, *more: str) -> str:
    """A workflow with a deadline, one step (work) and an exit handler ``bye`` (its body given)."""
    lines = [f"activeDeadlineSeconds: {seconds}", "onExit: bye", "templates:",
             "  - {name: main, steps: [[{name: work, template: work}]]}",
             "  - {name: work, container: {image: busybox:1.36.1}}",
             f"  - {{name: bye, {exit_template}}}", *(f"  - {m}" for m in more)]
    return "\n".join(lines) + "\n"


def test_template_deadline_kill_is_failed_and_retried_under_the_default_policy() -> None:
    """§2: a template activeDeadlineSeconds kill is Failed (not Error), so OnFailure retries it, each
    retry with a fresh deadline."""
    result = run(_retried("{limit: 2}", "activeDeadlineSeconds: 30"), hang=frozenset({"work"}))
    work = node(result, "work")
    assert (work.phase, work.attempts) == ("Failed", 3)
    assert starts(result, "work") == [0, 30, 60]
    assert any("longer than the specified deadline" in e.message for e in result.events)


def test_deadline_kill_is_not_retried_under_on_error() -> None:
    """§2 + §1: the kill is Failed, and OnError does not retry Failed."""
    result = run(_retried("{limit: 2, retryPolicy: OnError}", "activeDeadlineSeconds: 30"), hang=frozenset({"work"}))
    assert node(result, "work").attempts == 1


def test_timeout_limits_a_resource_template() -> None:
    """§2: template.timeout limits the node (resource templates included) and the node is Failed."""
    spec = """
    templates:
      - name: main
        steps: [[{name: wait, template: wait}]]
      - name: wait
        timeout: 45s
        resource:
          action: get
          successCondition: status.phase == Bound
          manifest: |
            apiVersion: v1
            kind: PersistentVolumeClaim
            metadata: {name: data}
    """
    result = run(spec, hang=frozenset({"wait"}))
    assert node(result, "wait").phase == "Failed" and result.events[-1].time == 45


def test_workflow_deadline_fails_running_steps_and_still_runs_the_exit_handler() -> None:
    """§2: past spec.activeDeadlineSeconds running pods are killed (Failed, "Step exceeded its deadline"),
    the workflow ends Failed, and the onExit handler still runs."""
    spec = _deadline(100, "container: {image: busybox:1.36.1}")
    result = run(spec, hang=frozenset({"work"}))
    assert node(result, "work").phase == "Failed"
    assert node(result, "work").message == "Step exceeded its deadline"
    assert result.phase == "Failed" and result.exit_ran and result.exit_phase == "Succeeded"


def test_no_retry_past_the_workflow_deadline() -> None:
    """§2: a Retry node does not retry once the workflow deadline has passed."""
    spec = """
    activeDeadlineSeconds: 50
    templates:
      - name: main
        steps: [[{name: work, template: work}]]
      - name: work
        retryStrategy: {limit: 5, backoff: {duration: 60s}}
        container: {image: busybox:1.36.1}
    """
    result = run(spec, fail={"work": ("Failed", None)})
    work = node(result, "work")
    assert (work.attempts, work.message) == (1, "retry exceeded workflow deadline")
    assert result.phase == "Failed"


def test_exit_handler_pods_ignore_the_workflow_deadline() -> None:
    """§2: exit-handler pods are exempt from the workflow deadline, so one with no deadline of its
    own can hang forever."""
    spec = _deadline(100, "steps: [[{name: cleanup, template: cleanup}]]",
                     "{name: cleanup, container: {image: busybox:1.36.1}}")
    result = run(spec, hang=frozenset({"cleanup"}))
    assert result.phase == "Running"
    assert result.halted is not None and "exit pods ignore the workflow deadline" in result.halted


def test_an_exit_handler_step_with_its_own_deadline_is_killed_by_it() -> None:
    """§2: the exit handler's own template deadline still applies."""
    spec = _deadline(3600, "steps: [[{name: cleanup, template: tidy}]]",
                     "{name: tidy, activeDeadlineSeconds: 30, container: {image: busybox:1.36.1}}")
    assert run(spec).phase == "Succeeded"
    hung = run(spec, hang=frozenset({"cleanup"}))
    assert hung.exit_phase == "Failed" and hung.phase == "Failed"
    assert node(hung, "cleanup").finished == 10 + 30
