"""Argo's DAG ``depends`` logic: parse an expression once, evaluate it against task phases.

Operands are ``task`` or ``task.Result`` with Result one of Succeeded, Failed, Errored, Skipped, Omitted,
Daemoned, AnySucceeded, AllFailed; operators ``&&``, ``||``, ``!`` and parentheses. A bare ``task`` means
``task.Succeeded || task.Skipped || task.Daemoned``. The older ``dependencies: [A, B]`` list means
``A && B``, where each dependency's ``continueOn.failed``/``error`` adds ``|| A.Failed``/``|| A.Errored``
(workflow/common/ancestry.go, docs/enhanced-depends-logic.md).

The one home of this language: lint, harden, explain and the simulator all parse and evaluate it here.
``AnySucceeded``/``AllFailed`` read the phases of an expanded task's children when they are known
(dag.go ``evaluateDependsLogic``); without them they read the task's own phase.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Union

from generator.errors import PipeforgeError

RESULTS = ("Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned", "AnySucceeded", "AllFailed")
#: Levels of ``(`` and ``!`` a depends expression may nest (the walks over it recurse; real ones nest 2 or 3).
MAX_NESTING = 100
_TOKEN = re.compile(r"\s*(?:(&&|\|\||!|\(|\))|([A-Za-z0-9_][A-Za-z0-9_\-]*(?:\.[A-Za-z]+)?))")

#: Phase of a task -> whether ``task.Result`` holds.
Phase = str
_HOLDS = {
    "Succeeded": {"Succeeded"},
    "Failed": {"Failed"},
    "Errored": {"Error"},
    "Skipped": {"Skipped"},
    "Omitted": {"Omitted"},
    "Daemoned": {"Daemoned"},
    "AnySucceeded": {"Succeeded"},
    "AllFailed": {"Failed"},
    None: {"Succeeded", "Skipped", "Daemoned"},
}


class DependsSyntaxError(PipeforgeError, ValueError):
    """A depends expression Argo would refuse to evaluate.

    Lint (``generator.rules.graph``) and the simulator catch it and report its text; it is in
    the tree for a library caller of ``parse_depends``, and stays a ValueError for code that catches one."""


@dataclass(frozen=True)
class Operand:
    """One ``task.Result`` term of a ``depends`` expression (a bare task name means its default results)."""

    task: str
    result: str | None  # None: the bare-name default

    def holds(self, phase: Phase, children: list[Phase] | None = None) -> bool:
        if children is not None and self.result == "AnySucceeded":
            return any(p == "Succeeded" for p in children)
        if children is not None and self.result == "AllFailed":
            return bool(children) and all(p == "Failed" for p in children)
        return phase in _HOLDS[self.result]


@dataclass(frozen=True)
class Not:
    """A negated term of a ``depends`` expression."""

    operand: Expr


@dataclass(frozen=True)
class BinOp:
    """Two terms of a ``depends`` expression joined by ``&&`` or ``||``."""

    op: str  # "&&" or "||"
    left: Expr
    right: Expr


Expr = Union[Operand, Not, BinOp]  # noqa: UP007 - a runtime alias used before 3.12's `type`


def _tokens(text: str) -> list[str]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise DependsSyntaxError(f"unexpected {text[pos:pos + 10]!r} at character {pos + 1}")
        tokens.append(match.group(1) or match.group(2))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


def _balanced(op: str, terms: list[Expr]) -> Expr:
    """``terms`` joined by ``op`` (``&&`` and ``||`` are associative) as a balanced tree, in the order
    written: a chain of thousands of operands (a generated fan-in) is log2(n) deep, so the recursive
    walks below stay far from Python's recursion limit. Three terms or fewer keep the left-deep shape."""
    if len(terms) == 1:
        return terms[0]
    middle = (len(terms) + 1) // 2
    return BinOp(op, _balanced(op, terms[:middle]), _balanced(op, terms[middle:]))


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.depth = 0  # open '(' and '!' around the current token

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise DependsSyntaxError("expression ends too early")
        self.pos += 1
        return token

    def parse(self) -> Expr:
        expr = self.disjunction()
        if self.peek() is not None:
            raise DependsSyntaxError(f"unexpected {self.peek()!r}")
        return expr

    def disjunction(self) -> Expr:
        terms = [self.conjunction()]
        while self.peek() == "||":
            self.take()
            terms.append(self.conjunction())
        return _balanced("||", terms)

    def conjunction(self) -> Expr:
        terms = [self.unary()]
        while self.peek() == "&&":
            self.take()
            terms.append(self.unary())
        return _balanced("&&", terms)

    def unary(self) -> Expr:
        token = self.take()
        if token in ("!", "("):
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise DependsSyntaxError(f"nested deeper than {MAX_NESTING} levels of '(' and '!' (MAX_NESTING)")
            inner = Not(self.unary()) if token == "!" else self.disjunction()
            if token == "(" and self.take() != ")":
                raise DependsSyntaxError("missing ')'")
            self.depth -= 1
            return inner
        if token in ("&&", "||", ")"):
            raise DependsSyntaxError(f"unexpected {token!r}")
        task, _, result = token.partition(".")
        if result and result not in RESULTS:
            raise DependsSyntaxError(f"unknown result {result!r} (one of {', '.join(RESULTS)})")
        return Operand(task, result or None)


def parse_depends(text: str) -> Expr:
    """Parse a ``depends`` expression; DependsSyntaxError says what is wrong."""
    return _Parser(text).parse()


def from_dependencies(dependencies: tuple[str, ...], continue_on: Callable[[str], tuple[bool, bool]]) -> Expr | None:
    """The expression a ``dependencies`` list stands for; ``continue_on(name)`` gives (failed, error)."""
    terms: list[Expr] = []
    for name in dependencies:
        term: Expr = Operand(name, None)
        failed, error = continue_on(name)
        if failed:
            term = BinOp("||", term, Operand(name, "Failed"))
        if error:
            term = BinOp("||", term, Operand(name, "Errored"))
        terms.append(term)
    return _balanced("&&", terms) if terms else None


def evaluate(expr: Expr, phase_of: Callable[[str], Phase],
             children_of: Callable[[str], list[Phase] | None] | None = None) -> bool:
    """Whether ``expr`` holds; ``children_of(task)`` gives an expanded task's item phases (or None)."""
    if isinstance(expr, Operand):
        return expr.holds(phase_of(expr.task), children_of(expr.task) if children_of else None)
    if isinstance(expr, Not):
        return not evaluate(expr.operand, phase_of, children_of)
    if expr.op == "&&":
        return evaluate(expr.left, phase_of, children_of) and evaluate(expr.right, phase_of, children_of)
    return evaluate(expr.left, phase_of, children_of) or evaluate(expr.right, phase_of, children_of)


def operands(expr: Expr) -> set[str]:
    """The task names an expression reads."""
    if isinstance(expr, Operand):
        return {expr.task}
    if isinstance(expr, Not):
        return operands(expr.operand)
    return operands(expr.left) | operands(expr.right)


def ordered_operands(expr: Expr) -> tuple[str, ...]:
    """The task names an expression reads, in the order written, without repeats."""
    if isinstance(expr, Operand):
        return (expr.task,)
    if isinstance(expr, Not):
        return ordered_operands(expr.operand)
    return tuple(dict.fromkeys((*ordered_operands(expr.left), *ordered_operands(expr.right))))


def handles_failure(expr: Expr) -> frozenset[str]:
    """The tasks whose failure the expression names (``.Failed``, ``.Errored``, ``.AllFailed``): a task
    with such a condition exists to handle that failure, so DAG failFast still starts it."""
    if isinstance(expr, Operand):
        return frozenset({expr.task}) if expr.result in ("Failed", "Errored", "AllFailed") else frozenset()
    if isinstance(expr, Not):
        return handles_failure(expr.operand)
    return handles_failure(expr.left) | handles_failure(expr.right)


def depends_tasks(text: str | None) -> tuple[str, ...]:
    """The task names a ``depends`` reads, in order; () when it is absent or malformed (the validator and
    lint report a malformed one; a drawing or a walk just has no edge for it)."""
    if not text:
        return ()
    try:
        return ordered_operands(parse_depends(text))
    except DependsSyntaxError:
        return ()
