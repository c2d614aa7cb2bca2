"""Hypothesis profiles, chosen by HYPOTHESIS_PROFILE: ``ci`` (what `make test` and CI run: every example
count the tests name, derandomized so a failure in CI reproduces anywhere), ``dev`` (the default for a
plain ``pytest``: a quarter of the examples) and ``fast`` (`make test-fast`: a smoke test of each
property). No profile has a deadline: a slow example on a loaded machine is not a failure.

A property test that names its own count says ``@settings(max_examples=examples(400))``, so that the
profile scales it; a count written as a bare number would win over every profile."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from hypothesis import settings

#: The share of each test's named example count a profile runs.
SHARES = {"ci": 1.0, "dev": 0.25, "fast": 0.05}
DEFAULT_EXAMPLES = 100  # hypothesis' own default, for tests that name no count

settings.register_profile("ci", max_examples=DEFAULT_EXAMPLES, deadline=None, derandomize=True, print_blob=True)
for _name in ("dev", "fast"):
    settings.register_profile(_name, max_examples=round(DEFAULT_EXAMPLES * SHARES[_name]), deadline=None)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
if PROFILE not in SHARES:
    raise SystemExit(f"HYPOTHESIS_PROFILE={PROFILE!r} is not one of this suite's profiles: {', '.join(SHARES)}")
settings.load_profile(PROFILE)


def examples(count: int) -> int:
    """``count`` examples under ``ci``; the profile's share of them (at least one) otherwise."""
    return max(1, round(count * SHARES[PROFILE]))


@contextmanager
def measured_first(count: int) -> Iterator[Callable[[], None]]:
    """For a test of thousands of examples (or a whole corpus), each a render or a file: coverage traces the
    first ``count`` and the rest run untraced, then tracing resumes. Tracing makes an example about three
    times slower, and the later examples run the lines the first ones ran; what they test is unchanged. The
    test calls the yielded function at the start of each example.

    Every running measurement is paused: an xdist worker has two (coverage's own, started with the process
    through its subprocess patch, and pytest-cov's), and stopping the newer one alone resumes the older,
    which traces at the same cost."""
    import coverage

    stopped: list[coverage.Coverage] = []
    started = 0

    def example_started() -> None:
        nonlocal started
        started += 1
        if started == count + 1:
            while (running := coverage.Coverage.current()) is not None:
                running.stop()
                stopped.append(running)

    try:
        yield example_started
    finally:
        for running in reversed(stopped):
            running.start()
