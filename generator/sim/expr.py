"""The expression languages the simulator evaluates: ``when`` and retry ``expression`` (``depends``
has its own home, ``generator.depends``, shared with lint, harden and explain).

One small parser covers both, since they share their operators (``&& || !``, comparisons and
parentheses); what differs is how a bare word resolves:

- ``when`` (reference §4): govaluate after ``{{}}`` substitution; bare words are strings (``heads == heads``),
  numbers compare as numbers.
- retry ``expression`` (reference §1): expr-lang over ``lastRetry.exitCode|status|duration|message`` (strings).

Whatever cannot be parsed raises :class:`ExpressionError`; callers turn it into an Error node (a bad
``when``) or into a named assumption.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from generator.errors import PipeforgeError

Node = tuple[Any, ...]


class ExpressionError(PipeforgeError, ValueError):
    """An expression that cannot be parsed or evaluated.

    The simulator catches it and reports its text (an Error node, an assumption); it is in the tree for a
    library caller of ``evaluate_when``, and stays a ValueError for code that catches one."""


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<op>&&|\|\||==|!=|<=|>=|=~|!~|[()!<>,])
    | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<word>[^\s()!=<>&|,'"]+)
    )""",
    re.VERBOSE,
)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_WORD_OPS = {"and": "&&", "or": "||", "not": "!"}
_COMPARISONS = ("==", "!=", "<", ">", "<=", ">=", "=~", "!~", "in", "matches", "contains")


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ExpressionError(f"cannot read {text[pos:]!r} in {text!r}")
        pos = match.end()
        kind = match.lastgroup or "op"
        value = match.group(kind)
        if kind == "word" and value in _WORD_OPS:
            kind, value = "op", _WORD_OPS[value]
        tokens.append((kind, value))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str) -> bool:
        token = self.peek()
        if token is not None and token[1] == value and token[0] in ("op", "word"):
            self.pos += 1
            return True
        return False

    def parse(self) -> Node:
        if not self.tokens:
            raise ExpressionError("empty expression")
        node = self.disjunction()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()[1]!r} in {self.text!r}")  # type: ignore[index]
        return node

    def disjunction(self) -> Node:
        node = self.conjunction()
        while self.take("||"):
            node = ("or", node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.negation()
        while self.take("&&"):
            node = ("and", node, self.negation())
        return node

    def negation(self) -> Node:
        if self.take("!"):
            return ("not", self.negation())
        return self.comparison()

    def comparison(self) -> Node:
        node = self.primary()
        token = self.peek()
        if token is not None and token[1] in _COMPARISONS:
            self.pos += 1
            node = ("cmp", token[1], node, self.primary())
        return node

    def primary(self) -> Node:
        token = self.peek()
        if token is None:
            raise ExpressionError(f"expression ends too early: {self.text!r}")
        self.pos += 1
        kind, value = token
        if value == "(" and kind == "op":
            node = self.disjunction()
            if not self.take(")"):
                raise ExpressionError(f"missing ')' in {self.text!r}")
            return node
        if kind == "str":
            return ("lit", bytes(value[1:-1], "utf-8").decode("unicode_escape"))
        if kind == "op":
            raise ExpressionError(f"unexpected {value!r} in {self.text!r}")
        if self.take("("):
            args: list[Node] = []
            while not self.take(")"):
                args.append(self.disjunction())
                if not self.take(",") and self.peek() != ("op", ")"):
                    raise ExpressionError(f"missing ')' after the arguments of {value} in {self.text!r}")
            return ("call", value, tuple(args))
        return ("word", value)


def parse(text: str) -> Node:
    """The syntax tree of an expression (tuples: or/and/not/cmp/lit/word/call)."""
    return _Parser(text).parse()


def words(node: Node) -> list[str]:
    """Every bare word of an expression, in order."""
    if node[0] == "word":
        return [node[1]]
    if node[0] in ("or", "and"):
        return words(node[1]) + words(node[2])
    if node[0] == "not":
        return words(node[1])
    if node[0] == "cmp":
        return words(node[2]) + words(node[3])
    if node[0] == "call":
        return [w for arg in node[2] for w in words(arg)]
    return []


# --- evaluation -------------------------------------------------------------------------------------

Resolve = Callable[[str], Any]


def evaluate(node: Node, resolve: Resolve) -> Any:
    """Evaluate a tree; ``resolve`` gives the value of a bare word (or raises ExpressionError)."""
    tag = node[0]
    if tag == "or":
        return truth(evaluate(node[1], resolve)) or truth(evaluate(node[2], resolve))
    if tag == "and":
        return truth(evaluate(node[1], resolve)) and truth(evaluate(node[2], resolve))
    if tag == "not":
        return not truth(evaluate(node[1], resolve))
    if tag == "cmp":
        return compare(node[1], evaluate(node[2], resolve), evaluate(node[3], resolve))
    if tag == "lit":
        return node[1]
    if tag == "call":
        return _call(node[1], [evaluate(arg, resolve) for arg in node[2]])
    return resolve(node[1])


def truth(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ExpressionError(f"{value!r} is not a boolean")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return float(value)
    return None


def compare(op: str, left: Any, right: Any) -> bool:
    if op in ("=~", "matches"):
        return re.search(str(right), str(left)) is not None
    if op == "!~":
        return re.search(str(right), str(left)) is None
    if op == "in":
        return str(left) in [str(v) for v in right] if isinstance(right, list) else str(left) in str(right)
    if op == "contains":
        return str(right) in str(left)
    a, b = _number(left), _number(right)
    if a is None or b is None:
        a, b = _text(left), _text(right)  # type: ignore[assignment]
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    try:
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]  # type: ignore[operator]
    except TypeError:
        raise ExpressionError(f"cannot compare {left!r} {op} {right!r}") from None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _call(name: str, args: list[Any]) -> Any:
    if name in ("asInt", "int") and len(args) == 1 and _number(args[0]) is not None:
        return int(_number(args[0]) or 0)
    if name in ("asFloat", "float") and len(args) == 1 and _number(args[0]) is not None:
        return _number(args[0])
    if name == "string" and len(args) == 1:
        return _text(args[0])
    raise ExpressionError(f"function {name}({', '.join(map(repr, args))}) is not supported")


# --- when and {{ }} substitution ---------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"{{\s*(=?)\s*(.*?)\s*}}", re.DOTALL)


def has_placeholders(text: str) -> bool:
    return "{{" in text


def substitute(text: str, lookup: Callable[[str, bool], str]) -> str:
    """Replace each ``{{name}}`` (or ``{{= expr}}``, flagged True) by ``lookup``'s answer."""
    if "{{" not in text:
        return text
    return _PLACEHOLDER.sub(lambda m: lookup(m.group(2), m.group(1) == "="), text)


def evaluate_when(text: str) -> bool:
    """A substituted ``when``: bare words are strings, ``true``/``false`` booleans."""

    def resolve(word: str) -> Any:
        lowered = word.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        return word

    return truth(evaluate(parse(text), resolve))


_INDEX = re.compile(r"""\[\s*(?:"([^"]*)"|'([^']*)')\s*\]""")


def evaluate_expr(text: str, variables: dict[str, Any]) -> Any:
    """An expr-lang expression over dotted variables (retry ``expression``, ``{{= }}``);
    ``a["b-c"]`` reads as ``a.b-c``."""
    text = _INDEX.sub(lambda m: "." + (m.group(1) if m.group(1) is not None else m.group(2)), text)

    def resolve(word: str) -> Any:
        if word in ("true", "false"):
            return word == "true"
        if word in variables:
            return variables[word]
        if _NUMBER.fullmatch(word):
            return _number(word)
        raise ExpressionError(f"unknown variable {word!r}")

    return evaluate(parse(text), resolve)
