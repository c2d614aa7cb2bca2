"""Bounded rendering: a template cannot make one render cost more than its budget.

Each payload is a different way to make Jinja work or allocate without end (numbers, strings, lists,
format widths, loops, recursion, output); each is refused with an error that names the budget and the
file, quickly, and nothing half-rendered comes back. ``{% include %}`` and friends are refused when the
template is compiled, with the file and line. Renders here run in-process (the CLI's path); the worker
process is tested in tests/generator/test_sandbox_worker.py and the registry in
tests/registry_api/test_adversarial_render.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.publication import prepare_folder
from generator.errors import BudgetExceeded, TemplateDefinitionError
from generator.render import render
from generator.sandbox import MAX_STRING, RENDER_OUTPUT_CHARS, Budget
from generator.template_spec import load_template
from tests.conftest import template_variant
from tests.hostile import NOTES
from tests.hypokit import examples

SCHEMA = {"type": "object", "properties": {
    "n": {"type": "integer", "default": 3, "minimum": 0, "maximum": 100000},
    "text": {"type": "string", "default": "abc", "maxLength": 5000},
}}


def mini_template(tmp_path: Path, body: str, name: str = "bomb") -> Path:
    """A smallest template: one file whose content is ``body`` (pipeforge's [[ ]] / [% %] delimiters)."""
    root = tmp_path / name
    folder = root / "[[cookiecutter.n]]"
    folder.mkdir(parents=True)
    (folder / "out.txt").write_text(body, encoding="utf-8")
    (root / "template.yaml").write_text(json.dumps({"name": name, "version": "1.0.0", "summary": "s",
                                                    "parameters": SCHEMA}), encoding="utf-8")
    (root / "cookiecutter.json").write_text(json.dumps({"n": 3, "text": "abc", "_jinja2_env_vars": {
        "variable_start_string": "[[", "variable_end_string": "]]", "block_start_string": "[%",
        "block_end_string": "%]"}}), encoding="utf-8")
    return root


def render_body(tmp_path: Path, body: str, budget: Budget | None = None, **values: object) -> str:
    template = load_template(mini_template(tmp_path, body))
    _, files = render(template, {"n": 3, "text": "abc", **values}, budget=budget)
    return files[0].content


PAYLOADS = {
    "power tower": ("[[ 2 ** (2 ** cookiecutter.n) ]]", {"n": 40}, "render-size"),
    "big string repetition": ("[[ cookiecutter.text * (cookiecutter.n * 100000) ]]", {"n": 50}, "render-size"),
    "list repetition": ("[[ ([cookiecutter.text] * 10 ** 7) | length ]]", {}, "render-size"),
    "nested loops over range": ("[% for i in range(100000) %][% for j in range(100000) %][% endfor %][% endfor %]",
                                {}, "render-seconds"),
    "nested loops over a string": ("[% for a in cookiecutter.text %][% for b in cookiecutter.text %]"
                                   "[% for c in cookiecutter.text %][% endfor %][% endfor %][% endfor %]",
                                   {"text": "q" * 5000}, "render-seconds"),
    "huge join": ("[[ ([cookiecutter.text * 1000] * 5000) | join(',') ]]", {}, "render-size"),
    "str.join": ("[[ '-'.join([cookiecutter.text * 900] * 9000) ]]", {}, "render-size"),
    "format width": ("[[ '{:>{w}}'.format(cookiecutter.text, w=cookiecutter.n * 10000) ]]", {"n": 99999},
                     "render-size"),
    "printf width": ("[[ '%*d' % (cookiecutter.n * 100000, 7) ]]", {"n": 999}, "render-size"),
    "center": ("[[ cookiecutter.text | center(cookiecutter.n ** 3) ]]", {"n": 9999}, "render-size"),
    "doubling by ~": ("[% set ns = namespace(s=cookiecutter.text) %][% for i in range(cookiecutter.n) %]"
                      "[% set ns.s = ns.s ~ ns.s %][% endfor %][[ ns.s | length ]]", {"n": 60}, "render-size"),
    "recursion via macros": ("[% macro down(k) %][[ down(k + 1) ]][% endmacro %][[ down(0) ]]", {},
                             "render-recursion"),
    "exponential macros": ("[% macro f(k) %][% if k > 0 %][[ f(k - 1) ]][[ f(k - 1) ]][% endif %][% endmacro %]"
                           "[[ f(cookiecutter.n) ]]", {"n": 60}, "render-seconds"),
    "a loop writing 200 MB": ("[% for i in range(100000) %][[ cookiecutter.text * 2000 ]][% endfor %]", {},
                              "render-output"),
    "replace amplification": ("[[ (cookiecutter.text * 200000) | replace('', 'xxxxxxxx') ]]", {}, "render-size"),
    "format_map width": ("[[ '{t:>999999999}'.format_map({'t': cookiecutter.text}) ]]", {}, "render-size"),
    "batch padding": ("[[ [1] | batch(10 ** 9, cookiecutter.text) | list | length ]]", {}, "render-size"),
    "shared nesting, printed": ("[% set ns = namespace(x=[cookiecutter.text]) %][% for i in range(48) %]"
                                "[% set ns.x = [ns.x, ns.x] %][% endfor %][[ ns.x ]]", {}, "render-size"),
    "shared nesting, as text": ("[% set ns = namespace(x=[cookiecutter.text]) %][% for i in range(48) %]"
                                "[% set ns.x = [ns.x, ns.x] %][% endfor %][[ ns.x | tojson | length ]]", {},
                                "render-size"),
    "shared nesting in a namespace": ("[% set ns = namespace(x=[cookiecutter.text]) %][% for i in range(48) %]"
                                      "[% set ns.x = [ns.x, ns.x] %][% endfor %][[ ns ]]", {}, "render-size"),
    "shared nesting in dict items": ("[% set ns = namespace(x=[cookiecutter.text]) %][% for i in range(48) %]"
                                     "[% set ns.x = [ns.x, ns.x] %][% endfor %][[ {'k': ns.x}.items() ]]", {},
                                     "render-size"),
    "lipsum": ("[[ lipsum(cookiecutter.n, max=10 ** 6) | length ]]", {"n": 1000}, "render-size"),
}


@pytest.mark.parametrize("case", sorted(PAYLOADS))
def test_a_render_bomb_is_stopped_by_its_budget_with_the_file_named(tmp_path: Path, case: str) -> None:
    body, values, budget = PAYLOADS[case]
    # A time bomb is stopped by a budget of half a second as by the default one, four times sooner.
    limits = Budget(seconds=0.5) if budget == "render-seconds" else None
    with pytest.raises(BudgetExceeded) as raised:
        render_body(tmp_path, body, limits, **values)
    assert raised.value.budget == budget
    assert raised.value.message.startswith("template bomb: out.txt: ")
    assert "budget" in raised.value.message


def test_the_same_operations_within_bounds_render_as_jinja_does(tmp_path: Path) -> None:
    body = ("[[ 2 ** 10 ]] [[ 'ab' * 3 ]] [[ [1, 2] * 2 ]] [[ '%5s|' % 'x' ]] [[ '{:>4}'.format(7) ]] "
            "[[ 'x' | center(5) ]]|[[ ['a', 'b'] | join('+') ]] [[ 'a-b' | replace('-', '--') ]] "
            "[% for i in range(3) %][[ i ]][% endfor %] [[ range(4) | list | length ]] [[ 7 // 2 ]] [[ 7 % 3 ]] "
            "[[ '{a}!'.format_map({'a': 1}) ]] [[ [1, 2, 3] | batch(2) | list ]] "
            "[[ lipsum(1, False, 5, 9) | length > 0 ]]")
    assert render_body(tmp_path, body) == ("1024 ababab [1, 2, 1, 2]     x|    7   x  |a+b a--b 012 4 3 1 1! "
                                           "[[1, 2], [3]] True")


@settings(max_examples=examples(40), deadline=None)
@given(base=st.integers(-50, 50), exponent=st.integers(0, 400), text=st.text(max_size=20),
       count=st.integers(-5, 2000))
def test_bounded_arithmetic_and_repetition_agree_with_python(base: int, exponent: int, text: str,
                                                            count: int) -> None:
    from jinja2 import StrictUndefined

    from generator.sandbox import BoundedSandbox, budgeted

    env = BoundedSandbox(undefined=StrictUndefined)
    with budgeted():
        power = env.from_string("{{ b ** e }}").render(b=base, e=exponent)
        repeated = env.from_string("{{ t * c }}").render(t=text, c=count)
    assert power == str(base**exponent)
    assert repeated == text * count


@pytest.mark.parametrize(("statement", "word"), [
    ("[% include 'other.txt' %]", "include"),
    ("[% import 'macros.txt' as m %]", "import"),
    ("[% from 'macros.txt' import x %]", "from ... import"),
    ("[% extends 'base.txt' %]", "extends"),
])
def test_loading_another_template_is_refused_at_compile_time_with_file_and_line(
        tmp_path: Path, statement: str, word: str) -> None:
    with pytest.raises(TemplateDefinitionError) as raised:
        render_body(tmp_path, f"first line\nsecond\n{statement}\n")
    assert f"out.txt line 3: {{% {word} %}} is not supported" in raised.value.message


def test_publish_refuses_include_naming_the_file_and_line(tmp_path: Path) -> None:
    folder = template_variant(tmp_path, name="includes")
    notes = folder / NOTES
    notes.write_text("a\n[% include 'x' %]\n", encoding="utf-8")
    with pytest.raises(TemplateDefinitionError) as raised:
        prepare_folder(folder)
    assert "notes.md line 2: {% include %} is not supported" in raised.value.message
    assert "pipeforge-" not in raised.value.message  # the user's folder, never the private temporary one


# A bomb its defaults do not set off: a triple loop over the description (62 characters by default, 238k
# steps, milliseconds), which at the schema's longest allowed description (1,000 characters) is 10^9 steps.
NESTED_BOMB = ("[% for a in cookiecutter.description %][% for b in cookiecutter.description %]"
               "[% for c in cookiecutter.description %][% endfor %][% endfor %][% endfor %]\n")


def bomb_variant(tmp_path: Path, body: str = NESTED_BOMB, name: str = "planted") -> Path:
    folder = template_variant(tmp_path, name=name)
    (folder / NOTES).write_text(body, encoding="utf-8")
    return folder


def test_publish_renders_at_the_parameters_edges_and_refuses_a_bomb_the_defaults_hide(tmp_path: Path) -> None:
    folder = bomb_variant(tmp_path)
    render(load_template(folder), load_template(folder).defaults())  # the defaults are harmless
    with pytest.raises(TemplateDefinitionError) as raised:
        prepare_folder(folder)
    message = raised.value.message
    assert "with description='" in message and "(1,000 characters) (its longest allowed value)" in message
    assert "notes.md: the render ran for more than" in message and "budget" in message


def test_publish_catches_a_bomb_set_off_by_an_integer_maximum(tmp_path: Path) -> None:
    folder = bomb_variant(tmp_path, "[[ 'x' * (cookiecutter.step_deadline_seconds * 20) ]]\n")
    with pytest.raises(TemplateDefinitionError) as raised:
        prepare_folder(folder)
    assert "with step_deadline_seconds=86400 (its maximum)" in raised.value.message
    assert "render budget" in raised.value.message


def test_the_builtin_templates_pass_the_edge_renders() -> None:
    from generator.boundaries import check_boundaries
    from generator.template_spec import list_templates

    for template in list_templates():
        check_boundaries(template, source=template.name)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "generator", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, check=False)


def test_pipeforge_new_stops_a_bomb_with_exit_2_naming_the_budget_and_writes_nothing(tmp_path: Path) -> None:
    folder = bomb_variant(tmp_path, "[[ (cookiecutter.description ~ '\\n') * 5000 ]]\n")
    done = run_cli("new", str(folder), "--no-input", "-o", str(tmp_path / "out"), "--set",
                   "description=" + "d" * 999, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "notes.md" in done.stderr and "render budget" in done.stderr and f"{MAX_STRING:,}" in done.stderr
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_pipeforge_new_stops_an_output_flood(tmp_path: Path) -> None:
    folder = bomb_variant(tmp_path, "[% for i in range(cookiecutter.step_deadline_seconds) %]"
                                    "[[ cookiecutter.description ]][% endfor %]\n")
    done = run_cli("new", str(folder), "--no-input", "-o", str(tmp_path / "out"), "--set",
                   "step_deadline_seconds=86400", "--set", "description=" + "e" * 900, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"wrote more than {RENDER_OUTPUT_CHARS:,} characters" in done.stderr
    assert not (tmp_path / "out").exists()


_LEAVES = st.one_of(st.integers(-10**6, 10**9).map(str), st.text("ab{}%:>*09", max_size=8).map(repr),
                    st.just("cookiecutter.text"), st.just("cookiecutter.n"), st.just("[cookiecutter.text] * 3"))


def _expressions(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(children, st.sampled_from(["**", "*", "~", "+", "%", "//"]), children).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})")
    filtered = st.tuples(children, st.sampled_from(["center", "indent", "join", "batch", "format", "replace"]),
                         children).map(lambda t: f"({t[0]} | {t[1]}({t[2]}))")
    called = st.tuples(children, st.sampled_from(["ljust", "zfill", "format", "join", "replace"]), children).map(
        lambda t: f"({t[0]}).{t[1]}({t[2]})")
    return st.one_of(binary, filtered, called)


@settings(max_examples=examples(60), deadline=None)
@given(expression=st.recursive(_LEAVES, _expressions, max_leaves=6))
def test_any_expression_renders_within_the_budget_or_is_refused_cleanly(tmp_path_factory: pytest.TempPathFactory,
                                                                       expression: str) -> None:
    tmp_path = tmp_path_factory.mktemp("expr")
    try:
        out = render_body(tmp_path, "[[ " + expression + " ]]", n=99999, text="t" * 5000)
    except (BudgetExceeded, TemplateDefinitionError) as exc:
        assert exc.message.startswith("template bomb")
    else:
        assert len(out) <= RENDER_OUTPUT_CHARS


def test_every_broken_file_is_named_with_its_line_at_once(tmp_path: Path) -> None:
    root = mini_template(tmp_path, "ok\n[[ cookiecutter.n \n")
    (root / "[[cookiecutter.n]]" / "second.txt").write_text("a\nb\n[% include 'x' %]\n", encoding="utf-8")
    with pytest.raises(TemplateDefinitionError) as raised:
        render(load_template(root), {"n": 3, "text": "abc"})
    message = raised.value.message
    assert "out.txt line 2: unexpected end of template" in message
    assert "second.txt line 3: {% include %} is not supported" in message


def test_publish_finds_the_longest_value_of_a_patterned_parameter(tmp_path: Path) -> None:
    """The image pattern accepts neither ``xxx...`` nor the default with its last character repeated; the
    default with one character stretched (``busyboxxx...:1.36.1``) it does."""
    loop = "[% for {0} in cookiecutter.image %]"
    folder = bomb_variant(tmp_path, loop.format("a") + loop.format("b") + loop.format("c") + "[% endfor %]" * 3)
    with pytest.raises(TemplateDefinitionError) as raised:
        prepare_folder(folder)
    assert "with image='" in raised.value.message and "(512 characters) (its longest allowed value)" in \
        raised.value.message


def _alarm_as_the_timer_stops(monkeypatch: pytest.MonkeyPatch, *, once: bool) -> list[bool]:
    """An alarm arrives each time (or the first time) the render's timer is being stopped; the list
    returned holds one entry per alarm sent."""
    import signal

    real_setitimer = signal.setitimer
    sent: list[bool] = []

    def setitimer(which: int, seconds: float, interval: float = 0.0) -> tuple[float, float]:
        if seconds == 0 and not (once and sent):
            sent.append(True)
            signal.raise_signal(signal.SIGALRM)
        return real_setitimer(which, seconds, interval)

    monkeypatch.setattr(signal, "setitimer", setitimer)
    return sent


def _assert_no_alarm_left(original: object) -> None:
    import signal

    from generator import sandbox

    assert signal.getsignal(signal.SIGALRM) is original
    assert signal.setitimer(signal.ITIMER_REAL, 0) == (0.0, 0.0)  # no timer left running
    assert sandbox._CURRENT.get() is None


def test_a_render_its_alarm_stops_leaves_no_alarm_behind_when_another_arrives_while_it_unwinds(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The alarm fires every 50 ms; a bomb that has just been stopped may take longer than that to unwind (it
    frees what it built), so the next alarm can arrive inside the ``finally`` that puts the handler and the
    timer back. It must not raise again there: the handler and the timer would stay, and a later wait in the
    same process (a registry's request, the next command) would be stopped by a render long finished."""
    import signal
    import time

    from generator import sandbox

    original = signal.getsignal(signal.SIGALRM)
    _alarm_as_the_timer_stops(monkeypatch, once=False)
    with pytest.raises(BudgetExceeded, match=r"more than 0\.01 s"), sandbox.budgeted(sandbox.Budget(seconds=0.01)):
        time.sleep(0.02)
        signal.raise_signal(signal.SIGALRM)  # the alarm that stops the render
    monkeypatch.undo()
    _assert_no_alarm_left(original)


def test_a_render_that_ends_as_its_time_runs_out_leaves_no_alarm_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """The render finished, but its time ran out just before: the alarm that stops it arrives while the timer is
    being stopped. It is the render's one alarm, so it stops the render; the handler and the timer must still be
    put back, or every later wait in the process would be interrupted every 50 ms."""
    import signal
    import time

    from generator import sandbox

    original = signal.getsignal(signal.SIGALRM)
    sent = _alarm_as_the_timer_stops(monkeypatch, once=True)
    with pytest.raises(BudgetExceeded, match=r"more than 0\.01 s"), sandbox.budgeted(sandbox.Budget(seconds=0.01)):
        time.sleep(0.02)  # the render's own work, done; its 50 ms alarm has not come yet
    assert sent
    monkeypatch.undo()
    _assert_no_alarm_left(original)


def test_an_alarm_while_a_render_a_check_stopped_unwinds_does_not_stop_it_again() -> None:
    """A cooperative check (a lookup, a call) stopped the render; while it unwinds, the garbage collector may run
    a callback (hypothesis installs one) and the next alarm can land there. Raised there, the stop would be
    reported as unraisable; the render is already stopping, so that alarm does nothing."""
    import signal
    import time

    from generator import sandbox

    original, raised_again = signal.getsignal(signal.SIGALRM), []
    with pytest.raises(BudgetExceeded, match=r"more than 0\.01 s"), \
            sandbox.budgeted(sandbox.Budget(seconds=0.01)) as budget:
        time.sleep(0.02)
        try:
            budget.tick()  # the check that stops the render
        except BudgetExceeded:
            try:
                signal.raise_signal(signal.SIGALRM)  # lands outside any template, as in a gc callback
            except BudgetExceeded:
                raised_again.append(True)
            raise
    assert raised_again == []
    _assert_no_alarm_left(original)


def test_a_render_whose_stop_is_swallowed_where_it_landed_is_stopped_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The alarm's exception is raised wherever the main thread is. Landing in a finaliser or a garbage-collector
    callback, it is reported as unraisable and dropped, and the template runs on: a loop that calls nothing (so
    no cooperative check sees it) must be stopped by a later alarm, not run until it ends by itself."""
    import signal

    from generator import sandbox

    real, swallowed, ignored = sandbox._on_alarm, [], []

    def lands_in_a_finaliser(signum: int, frame: object) -> None:
        budget = sandbox._CURRENT.get()
        done_before = budget is not None and budget.stopped
        try:
            real(signum, frame)  # type: ignore[arg-type]
        except BudgetExceeded:
            if swallowed:
                raise
            swallowed.append(True)  # the first stop is lost, as an unraisable exception would be
            return
        if done_before and swallowed:
            ignored.append(True)
            assert len(ignored) < 40, "the render ran on for two seconds after its stop was swallowed"

    monkeypatch.setattr(sandbox, "_on_alarm", lands_in_a_finaliser)
    original = signal.getsignal(signal.SIGALRM)
    quiet_loops = ("[% set t = cookiecutter.text %][% for a in t %][% for b in t %][% for c in t %]"
                   "[% endfor %][% endfor %][% endfor %]")  # locals only: no lookup or call charges the budget
    template = load_template(mini_template(tmp_path, quiet_loops))
    with pytest.raises(BudgetExceeded) as raised:
        render(template, {"n": 3, "text": "q" * 5000}, budget=sandbox.Budget(seconds=0.1))
    assert swallowed and raised.value.budget == "render-seconds", raised.value.message
    assert ignored == []  # stopped by the very next alarm
    monkeypatch.undo()
    _assert_no_alarm_left(original)


def test_an_alarm_that_lands_while_a_render_is_ending_does_not_stop_it_again() -> None:
    """A render that finishes just as its time runs out: the alarm can land in contextlib, leaving the
    budget's context managers, before their ``finally`` has stopped the timer. A stop raised there would
    skip that ``finally``: the timer would stay behind and interrupt whatever the process did next (seen as
    "the test left a SIGALRM timer running" in a later test). There it is ignored; inside the render it stops."""
    import contextlib
    import signal

    from generator import sandbox

    frames: list[FrameType] = []

    @contextlib.contextmanager
    def probe() -> Iterator[None]:
        yield
        frames.append(sys._getframe(1))  # the frame of contextlib's __exit__, resuming this generator

    with probe():
        pass
    token = sandbox._CURRENT.set(sandbox.Budget(seconds=-1))  # its time is up
    try:
        assert sandbox._on_alarm(signal.SIGALRM, frames[0]) is None
        with pytest.raises(BudgetExceeded):
            sandbox._on_alarm(signal.SIGALRM, sys._getframe())  # anywhere else in the render: stopped
    finally:
        sandbox._CURRENT.reset(token)
