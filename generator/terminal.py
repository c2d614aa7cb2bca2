"""Tables for a terminal: aligned and wrapped to its width by rich (a maintained renderer; Markdown
tables stay for ``--format markdown`` and for the files pipeforge writes)."""

from __future__ import annotations

import io
import os
import shutil
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generator.explain import FailureMode
    from generator.sim.matrix import MatrixResult  # lazy: the simulator loads only for the matrix view

NARROWEST = 11  # below this average column width a table is unreadable: one block per row instead
READABLE = 10  # narrowest a column of long text gets: a step name or a word still reads whole
WHOLE_WORD = 28  # a word up to this long (a parameter or step name) is kept on one line when there is room

HEADINGS = ("Step", "Stage", "Retries", "Backoff", "Deadline", "Side effects", "Idempotency key",
            "Cleaned up by", "If it fails")


def width() -> int:
    """The terminal's width (COLUMNS wins, as in every Unix tool); 100 when not a terminal."""
    return shutil.get_terminal_size((100, 24)).columns


def table(headings: Sequence[str], rows: Sequence[Sequence[str]], *, columns: int | None = None) -> str:
    """``rows`` as a boxed table that fits ``columns`` characters, long cells wrapped within their column.
    Plain text: no colour or styles, so it reads the same in a pipe, a log and with NO_COLOR."""
    from rich import box  # lazy: rich only for the tables a command prints
    from rich.console import Console  # lazy: rich only for the tables a command prints
    from rich.table import Table  # lazy: rich only for the tables a command prints

    total = columns or width()
    if (total - 3 * len(headings) - 1) // len(headings) < NARROWEST:
        return _records(headings, rows, total)
    grid = Table(box=box.SIMPLE_HEAD, show_lines=True, expand=False)
    for heading, size in zip(headings, _widths(headings, rows, total), strict=True):
        grid.add_column(heading, overflow="fold", width=size)
    for row in rows:
        grid.add_row(*row)
    buffer = io.StringIO()
    console = Console(file=buffer, width=total, color_system=None, force_terminal=False,
                      no_color=True, highlight=False, emoji=False, markup=False,
                      legacy_windows=False, _environ=dict(os.environ))
    console.print(grid)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def _records(headings: Sequence[str], rows: Sequence[Sequence[str]], total: int) -> str:
    """One block per row, ``heading: value`` aligned on the colon and wrapped to ``total``: what a table
    with many columns becomes on a narrow terminal."""
    label = max(len(h) for h in headings) + 2
    blocks = []
    for row in rows:
        lines = []
        for heading, value in zip(headings, row, strict=True):
            lines.append(textwrap.fill(" ".join(value.split()) or "-", width=max(total, label + 20),
                                       initial_indent=f"{heading + ':':<{label}}", subsequent_indent=" " * label,
                                       break_on_hyphens=False))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _widths(headings: Sequence[str], rows: Sequence[Sequence[str]], total: int) -> list[int]:
    """Column widths that fit ``total``: each column's share follows its longest line, never narrower
    than its heading's longest word nor, where its text is longer, READABLE characters. rich measures a
    column's minimum as its longest word, so a table
    of long paths would overflow the terminal if rich alone chose."""
    natural = [max([len(w) for w in h.split()] + [len(line) for r in rows for line in r[i].splitlines()])
               for i, h in enumerate(headings)]
    heading = [max(len(w) for w in h.split()) for h in headings]
    words = [max([len(w) for r in rows for w in r[i].split()], default=0) for i in range(len(headings))]
    floor = [max(h, min(w, WHOLE_WORD)) for h, w in zip(heading, words, strict=True)]  # names stay whole
    if sum(floor) > total - 3 * len(headings) - 1:
        # The first column names the row (a parameter, a step): it keeps its whole line ("name *") while
        # that fits; the other columns go down to READABLE.
        key = max(heading[0], min(natural[0], WHOLE_WORD))
        floor = [max(h, min(n, READABLE)) for h, n in zip(heading, natural, strict=True)]
        if sum(floor) - floor[0] + key <= total - 3 * len(headings) - 1:
            floor[0] = key
    room = max(total - 3 * len(headings) - 1, sum(floor))  # each column's padding and separator
    if sum(natural) <= room:
        return natural
    sizes = [max(low, room * size // sum(natural)) for low, size in zip(floor, natural, strict=True)]
    while sum(sizes) > room:
        widest = max(range(len(sizes)), key=lambda i: sizes[i] - floor[i])
        sizes[widest] -= 1
    return sizes


def failure_modes(rows: Sequence[FailureMode], *, columns: int | None = None) -> str:
    """The failure-mode table (the same columns as the Markdown one) for a terminal."""
    return table(HEADINGS, [
        [r.step, r.stage, r.retries, r.backoff, r.deadline, ", ".join(r.side_effects) or "-",
         ", ".join(r.idempotency) or "-", ", ".join(r.cleaned_up_by) or "-", r.on_failure]
        for r in rows
    ], columns=columns)


def fault_matrix(matrix: MatrixResult, *, columns: int | None = None) -> str:
    """The fault matrix (``simulate --matrix``) for a terminal, then its summary line."""
    from generator.sim.matrix import HEADINGS as MATRIX_HEADINGS  # lazy: the simulator loads only for the matrix view
    from generator.sim.matrix import _cells  # lazy: the simulator loads only for the matrix view

    rows = [["\n".join(cell) for cell in _cells(row)] for row in matrix.rows]
    summary = textwrap.fill(matrix.summary(), width=columns or width(), break_on_hyphens=False)
    return table(MATRIX_HEADINGS, rows, columns=columns) + "\n" + summary + "\n"
