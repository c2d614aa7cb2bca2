"""The Jinja sandbox pipeforge renders templates in, with a budget on what one render may cost.

Jinja's ``ImmutableSandboxedEnvironment`` stops a template from reaching Python internals, but not from
asking for ``10 ** 10 ** 8``, ``'x' * 10 ** 9``, ``'{:>999999999}'.format(x)`` or loops that run for
hours: each of those holds the interpreter (and, in a server, every other request) or its memory. Here
every operation that can grow a value is checked *before* it runs (numbers, strings and lists have a
size cap, widths and counts too), and every render has a wall-clock, memory and output budget.

The wall-clock and memory budget is checked cooperatively on every call, attribute lookup and ``range``
step the template makes, and, on the main thread, also by a periodic ``SIGALRM`` so that a loop that
calls nothing is stopped as well. Off the main thread a loop that calls nothing is stopped only by the
worker process's limits (``generator.sandbox_worker``), which is where servers render untrusted work.
"""

from __future__ import annotations

import contextlib
import functools
import re
import resource
import signal
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import BuiltinMethodType, FrameType, MethodType
from typing import Any

from jinja2 import filters as jinja_filters
from jinja2 import nodes, pass_eval_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.nodes import EvalContext
from jinja2.sandbox import MAX_RANGE, ImmutableSandboxedEnvironment, SandboxedFormatter, safe_range
from jinja2.utils import Namespace, generate_lorem_ipsum

from generator.errors import BudgetExceeded

MAX_INT_BITS = 4096  # about 1,233 decimal digits: far past any count, size or port a manifest holds
MAX_STRING = 1_000_000  # characters in one string a template computes
MAX_ITEMS = 100_000  # items in one list a template computes (Jinja's own cap on range())
MAX_WIDTH = 10_000  # a padding, width or precision (center, ljust, indent, format specs)
RENDER_SECONDS = 2.0  # wall clock of one render: every file of the template together
RENDER_OUTPUT_CHARS = 4_000_000  # characters one render writes: every file together
RENDER_MEMORY_MB = 256  # growth of the process's peak memory during one render
_ALARM_SECONDS = 0.05  # how often SIGALRM checks the budget on the main thread
_MEMORY_EVERY = 1024  # cooperative checks between two memory readings (getrusage is a system call)


@dataclass
class Budget:
    """What one render may still spend; the hooks of the environment charge it."""

    seconds: float = RENDER_SECONDS
    output_chars: int = RENDER_OUTPUT_CHARS
    memory_mb: int = RENDER_MEMORY_MB
    started: float = field(default_factory=time.monotonic)
    peak_kb: int = field(default_factory=lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    written: int = 0
    ticks: int = 0
    #: set once the render has been stopped (by an alarm or by a cooperative check) or has ended: the alarms
    #: still to come (every 50 ms, while the stopped render unwinds and frees its memory) must not raise
    #: again from inside a ``finally`` or a garbage-collector callback that runs during the unwinding. They
    #: do raise again when the template's own code is still running (see ``_in_template``).
    stopped: bool = False

    def check_time(self) -> None:
        elapsed = time.monotonic() - self.started
        if elapsed > self.seconds:
            raise self._stop(f"the render ran for more than {self.seconds:g} s (wall-clock budget of a render)",
                             "render-seconds")

    def check_memory(self) -> None:
        grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - self.peak_kb) // 1024
        if grown_mb > self.memory_mb:
            raise self._stop(f"the render used more than {self.memory_mb} MB of memory (memory budget of a "
                             "render)", "render-memory")

    def _stop(self, message: str, budget: str) -> BudgetExceeded:
        self.stopped = True
        return BudgetExceeded(message, budget=budget)

    def tick(self) -> None:
        self.ticks += 1
        self.check_time()
        if self.ticks % _MEMORY_EVERY == 0:
            self.check_memory()

    def wrote(self, chars: int) -> None:
        self.written += chars
        if self.written > self.output_chars:
            raise BudgetExceeded(f"the render wrote more than {self.output_chars:,} characters (output budget of "
                                 "a render)", budget="render-output")


_CURRENT: ContextVar[Budget | None] = ContextVar("pipeforge_render_budget", default=None)


def _tick() -> None:
    budget = _CURRENT.get()
    if budget is not None:
        budget.tick()


def _refuse(what: str, limit: str) -> BudgetExceeded:
    return BudgetExceeded(f"{what}; {limit} (render budget)", budget="render-size")


def _printed_length(value: Any, cap: int) -> int:
    """About how long ``str(value)`` is, counted without building it and no further than ``cap``: a list
    that holds itself twice, nested forty times, prints as terabytes from a few bytes of template."""
    total, stack = 0, [value]
    while stack and total <= cap:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += len(item) + 2
        elif isinstance(item, range | _BoundedRange):  # printed as range(start, stop)
            total += 24
        elif isinstance(item, Namespace):  # Jinja keeps a namespace's values here; its repr prints them all
            stack.append(object.__getattribute__(item, "_Namespace__attrs"))
        elif isinstance(item, Mapping):
            total += 4 * len(item) + 2
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, Collection):  # lists, tuples, sets and the views of a dict
            total += 2 * len(item) + 2
            stack.extend(item)
        else:
            total += 8
    return total


def _check_size(value: Any) -> Any:
    """``value`` if a template may hold it, else BudgetExceeded: the one definition of "too big"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise _refuse(f"a number of {value.bit_length():,} bits", f"templates compute numbers up to {MAX_INT_BITS:,}"
                      " bits")
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise _refuse(f"a string of {len(value):,} characters", f"templates compute strings up to {MAX_STRING:,}")
    if isinstance(value, list | tuple) and len(value) > MAX_ITEMS:
        raise _refuse(f"a list of {len(value):,} items", f"templates compute lists up to {MAX_ITEMS:,} items")
    if isinstance(value, Collection | Namespace) and not isinstance(value, str | bytes) \
            and _printed_length(value, MAX_STRING) > MAX_STRING:
        raise _refuse("a value that would print as more than 1,000,000 characters",
                      f"templates compute strings up to {MAX_STRING:,}")
    return value


def _length(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | tuple) else None


def _check_product(left: Any, right: Any) -> None:
    """``left * right`` without computing it: sequence repetition and integer products."""
    for seq, count in ((left, right), (right, left)):
        size = _length(seq)
        cap = MAX_STRING if isinstance(seq, str) else MAX_ITEMS
        if size is not None and isinstance(count, int) and size * max(count, 0) > cap:
            raise _refuse(f"repeating {size:,} items {count:,} times", f"results are capped at {cap:,}")
    if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise _refuse(f"a product of more than {MAX_INT_BITS:,} bits",
                      f"templates compute numbers up to {MAX_INT_BITS:,} bits")


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        bits = (abs(base).bit_length() - 1) * exponent
        if bits > MAX_INT_BITS:
            raise _refuse(f"{base} ** {exponent} (about {bits:,} bits)",
                          f"templates compute numbers up to {MAX_INT_BITS:,} bits")


_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?")
_SPEC_NUMBER = re.compile(r"\d+")


def _check_width(width: Any, what: str) -> None:
    if isinstance(width, int) and not isinstance(width, bool) and width > MAX_WIDTH:
        raise _refuse(f"{what} {width:,}", f"widths are capped at {MAX_WIDTH:,}")


def _check_printf(template: str, args: Any) -> None:
    """``template % args``: literal widths and precisions, and the ones ``*`` takes from the arguments."""
    starred = False
    for match in _PRINTF.finditer(template):
        for group in match.groups():
            if group == "*":
                starred = True
            elif group is not None:
                _check_width(int(group), "a format width")
    if starred:
        for arg in args if isinstance(args, tuple) else (args,):
            _check_width(arg, "a format width")


class _BoundedFormatter(SandboxedFormatter):
    """``str.format`` in the sandbox: a field's width and precision are checked before it is padded."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        for number in _SPEC_NUMBER.findall(format_spec):
            _check_width(int(number), "a format width")
        return super().format_field(value, format_spec)


def _bound_of_replace(text: str, old: str, new: str, count: int = -1) -> int:
    hits = text.count(old) if old else len(text) + 1
    if count is not None and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * max(0, len(new) - len(old))


def _check_str_method(name: str, text: str, args: Sequence[Any]) -> None:
    """The ``str`` methods whose result can be far larger than their inputs."""
    if name in ("center", "ljust", "rjust", "zfill") and args:
        _check_width(args[0], f"str.{name} width")
    elif name == "expandtabs":
        _check_width(args[0] if args else 8, "str.expandtabs tab size")
        if text.count("\t") * (args[0] if args and isinstance(args[0], int) else 8) > MAX_STRING:
            raise _refuse("expanding the tabs of the string", f"results are capped at {MAX_STRING:,}")
    elif name == "replace" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
        count = args[2] if len(args) > 2 and isinstance(args[2], int) else -1
        if _bound_of_replace(text, args[0], args[1], count) > MAX_STRING:
            raise _refuse("str.replace would grow the string", f"results are capped at {MAX_STRING:,} characters")
    elif name == "join" and args:
        items = args[0]
        if isinstance(items, list | tuple) and sum(len(i) for i in items if isinstance(i, str)) \
                + len(text) * max(len(items) - 1, 0) > MAX_STRING:
            raise _refuse("str.join of that list", f"results are capped at {MAX_STRING:,} characters")


class _BoundedRange:
    """Jinja's ``range`` (capped at MAX_RANGE items) that charges the budget for every step."""

    def __init__(self, *args: int) -> None:
        self._range = safe_range(*args)

    def __iter__(self) -> Iterator[int]:
        for number in self._range:
            _tick()
            yield number

    def __len__(self) -> int:
        return len(self._range)

    def __getitem__(self, index: int) -> int:
        return self._range[index]

    def __contains__(self, item: object) -> bool:
        return item in self._range

    def __repr__(self) -> str:
        return repr(self._range)


class _CodeGenerator(CodeGenerator):
    """Jinja's code generator, with each operand of a ``~`` concatenation and its result checked against
    the size caps (the operands before ``str()`` turns them into text)."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        join = "markup_join" if frame.eval_ctx.autoescape else "str_join"
        self.write(f"environment.checked({join}((")
        for arg in node.nodes:
            self.write("environment.checked(")
            self.visit(arg, frame)
            self.write("), ")
        self.write(")))")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with sizes checked before ``**``, ``*``, ``%``, ``//``, ``+`` and the calls
    and filters that can grow a value, and the render budget charged on every call and lookup."""

    intercepted_binops = frozenset({"**", "*", "%", "//", "+"})
    code_generator_class = _CodeGenerator

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=_check_size, **options)  # what ``[[ x ]]`` prints, before str() runs
        self.globals["range"] = _BoundedRange
        self.globals["lipsum"] = _lipsum
        self.filters.update(_FILTERS)
        self.filters = {name: _guarded_once(fn) for name, fn in self.filters.items()}

    @staticmethod
    def checked(value: Any) -> Any:
        return _check_size(value)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        del context  # Jinja's signature; the operands are all that matter
        _tick()
        _check_size(left)
        _check_size(right)
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            _check_product(left, right)
        elif operator == "%" and isinstance(left, str):
            _check_printf(left, right)
        return _check_size(self.binop_table[operator](left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _tick()
        for arg in (*args, *kwargs.values()):
            _check_size(arg)
        owner = getattr(__obj, "__self__", None)
        if isinstance(__obj, MethodType | BuiltinMethodType) and isinstance(owner, str):
            _check_str_method(__obj.__name__, owner, args)
        return _check_size(super().call(__context, __obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is None or not isinstance(value.__self__, str):
            return wrapper
        formatter, text, is_map = _BoundedFormatter(self), value.__self__, value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> str:
            if is_map and (len(args) != 1 or kwargs):
                return wrapper(*args, **kwargs)  # raises the TypeError format_map would
            if is_map:
                return _check_size(formatter.vformat(text, (), args[0]))  # type: ignore[no-any-return]
            return _check_size(formatter.vformat(text, args, kwargs))  # type: ignore[no-any-return]

        return bounded


@functools.lru_cache(maxsize=512)
def _guarded_once(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``guarded(fn)``, made once per filter function: a sandbox is made for every render, and Jinja's
    fifty-odd filters need not be wrapped again each time. Bounded, as an extension could add a new
    function to every environment."""
    return guarded(fn)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that charges the budget and checks its arguments' sizes first: most filters turn their input
    into text (``upper``, ``string``, ``tojson``...), and text of a nested value can be far larger than it."""
    if getattr(fn, "pipeforge_guarded", False):
        return fn

    @functools.wraps(fn)  # keeps Jinja's pass_context / pass_eval_context marker
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        for arg in (*args, *kwargs.values()):
            _check_size(arg)
        return fn(*args, **kwargs)

    guarded.pipeforge_guarded = True  # type: ignore[attr-defined]
    return guarded


def _center(value: str, width: int = 80) -> str:
    _check_width(width, "center width")
    return jinja_filters.do_center(value, width)


def _indent(value: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    _check_width(width, "indent width")
    text = str(value)
    prefix = width if isinstance(width, str) else " " * int(width)
    if len(text) + (text.count("\n") + 1) * len(prefix) > MAX_STRING:
        raise _refuse("indenting that text", f"results are capped at {MAX_STRING:,} characters")
    return jinja_filters.do_indent(value, width, first, blank)


def _format(value: str, *args: Any, **kwargs: Any) -> str:
    _check_printf(str(value), tuple(kwargs.values()) or args)
    return _check_size(jinja_filters.do_format(value, *args, **kwargs))  # type: ignore[no-any-return]


@pass_eval_context
def _replace(eval_ctx: EvalContext, value: str, old: str, new: str, count: int | None = None) -> str:
    if _bound_of_replace(str(value), str(old), str(new), -1 if count is None else count) > MAX_STRING:
        raise _refuse("replace would grow the string", f"results are capped at {MAX_STRING:,} characters")
    return jinja_filters.do_replace(eval_ctx, value, old, new, count)


@pass_eval_context
def _join(eval_ctx: EvalContext, value: Any, d: str = "", attribute: str | int | None = None) -> str:
    items = list(value)
    if attribute is not None:
        items = list(map(jinja_filters.make_attrgetter(eval_ctx.environment, attribute), items))
    texts = [str(item) for item in _check_size(items)]
    if sum(map(len, texts)) + len(d) * max(len(texts) - 1, 0) > MAX_STRING:
        raise _refuse(f"joining {len(texts):,} items", f"results are capped at {MAX_STRING:,} characters")
    return jinja_filters.sync_do_join(eval_ctx, texts, d)


def _batch(value: Any, linecount: int, fill_with: Any = None) -> Iterator[list[Any]]:
    _check_width(linecount, "batch size")
    return jinja_filters.do_batch(value, linecount, fill_with)


def _slice(value: Any, slices: int, fill_with: Any = None) -> Iterator[list[Any]]:
    _check_width(slices, "slice count")
    return jinja_filters.sync_do_slice(value, slices, fill_with)


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    _check_width(n * max, "lipsum words")
    return generate_lorem_ipsum(n, html, min, max)


_FILTERS: dict[str, Callable[..., Any]] = {
    "center": _center, "indent": _indent, "format": _format, "replace": _replace, "join": _join,
    "batch": _batch, "slice": _slice,
}


def _on_alarm(_signum: int, frame: FrameType | None) -> None:
    budget = _CURRENT.get()
    if budget is None or _ending(frame) or (budget.stopped and not _in_template(frame)):
        return
    budget.check_time()  # a render is stopped once (each check marks the budget stopped as it raises)
    budget.check_memory()


_ENDING = frozenset({"_alarm", "budgeted", "stop"})


def _ending(frame: FrameType | None) -> bool:
    """Whether the alarm interrupted the code that ends a render: contextlib leaving ``budgeted`` and
    ``_alarm``, or their own ``finally``. A stop raised there would leave them before the timer is stopped
    (the render's work is over anyway), and the timer would go on interrupting whatever runs next."""
    if frame is None:
        return False
    code = frame.f_code
    return code.co_filename == contextlib.__file__ or (code.co_filename == __file__ and code.co_name in _ENDING)


def _in_template(frame: FrameType | None) -> bool:
    """Whether the alarm interrupted a template's own code (or something it called): its render is still
    running after its stop was raised, because the exception was swallowed where it landed (a finaliser,
    a garbage-collector or weakref callback reports it as unraisable and carries on). Such a render is
    stopped again; a render that is unwinding runs only the sandbox's code and Jinja's, never a template's,
    so the ``finally`` that puts the handler back is never interrupted. Jinja runs a compiled template in
    a namespace whose ``environment`` is the sandbox."""
    while frame is not None:
        if isinstance(frame.f_globals.get("environment"), BoundedSandbox):
            return True
        frame = frame.f_back
    return False


@contextlib.contextmanager
def _alarm() -> Iterator[None]:
    """A periodic SIGALRM on the main thread, so a loop that calls nothing is stopped too. An outer timer
    (a worker's budget for its whole task) keeps running: its handler is called once its time is up, and it
    is set again afterwards for what is left of it."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    started, outer = time.monotonic(), signal.getsignal(signal.SIGALRM) or signal.SIG_DFL
    outer_deadline: list[float] = []

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        if outer_deadline and time.monotonic() >= outer_deadline[0] and callable(outer):
            outer(signum, frame)
        _on_alarm(signum, frame)

    def stop() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, outer)
        if delay:
            signal.setitimer(signal.ITIMER_REAL, max(outer_deadline[0] - time.monotonic(), 0.001), interval)

    signal.signal(signal.SIGALRM, on_alarm)
    delay, interval = signal.setitimer(signal.ITIMER_REAL, _ALARM_SECONDS, _ALARM_SECONDS)
    if delay:
        outer_deadline.append(started + delay)
    try:
        yield
    finally:
        try:
            stop()
        except BudgetExceeded:
            # A render that ended just as its time ran out: the alarm that stops it arrived before the timer
            # was stopped. It raises once per budget, so stopping again completes; without this the timer and
            # the handler would stay behind in the process.
            stop()
            raise


@contextlib.contextmanager
def budgeted(budget: Budget | None = None) -> Iterator[Budget]:
    """Charge ``budget`` (a fresh default one when None) for everything the sandbox runs in the block."""
    budget = budget or Budget()
    token = _CURRENT.set(budget)
    try:
        with _alarm():
            yield budget
    finally:
        budget.stopped = True
        _CURRENT.reset(token)


__all__ = ["MAX_RANGE", "BoundedSandbox", "Budget", "BudgetExceeded", "budgeted", "guarded"]
