"""How bad a finding is: ``error``, ``warning`` or ``info``, in that order.

A ``StrEnum``, so a severity is still the plain string it prints as: text, JSON, SARIF and GitHub output,
configuration files and ``--fail-on`` read and write ``"error"``, never ``Severity.ERROR``. Comparisons of
how bad go through ``rank``/``at_least``; ``<`` on two severities would compare them as strings.
"""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """A finding's severity; members are listed most severe first."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for the most severe (error), growing as severity falls: sort findings by it."""
        return _RANK[self]

    def at_least(self, threshold: str) -> bool:
        """Whether this severity is ``threshold`` or worse (``--fail-on``): error > warning > info."""
        return _RANK[self] <= _RANK[Severity(threshold)]


#: Every severity, most severe first: the order of counts in reports and of choices in help texts.
SEVERITIES: tuple[Severity, ...] = tuple(Severity)
_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}

