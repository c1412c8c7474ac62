"""CloudWatch metric math: the subset bluegreen's alarms use, parsed and evaluated (pure).

The sandbox's alarm evaluator evaluates alarms with ``evaluate_expression`` so that what the sandbox
fires on is what the definitions say. Supported: metric ids (``[a-z][a-zA-Z0-9_]*``), numbers,
``+ - * /``, unary minus, parentheses, ``MAX([...])``, ``MIN([...])``, ``SUM([...])`` (element-wise
over the listed series, skipping missing points) and ``FILL(m, value)`` (a missing point becomes
``value``). Per timestamp: arithmetic on a missing point is missing; division by zero is missing
(CloudWatch drops such points); MAX/MIN/SUM of only missing points is missing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_TOKEN = re.compile(r"\s*(?:([0-9]+(?:\.[0-9]+)?)|([A-Za-z_][A-Za-z0-9_]*)|(.))")
_FUNCTIONS = ("MAX", "MIN", "SUM", "FILL")
Node = tuple[Any, ...]


def _tokens(expression: str) -> list[str]:
    out: list[str] = []
    for match in _TOKEN.finditer(expression):
        token = match.group(1) or match.group(2) or match.group(3)
        if token and not token.isspace():
            if match.group(3) and token not in "+-*/()[],":
                raise ValueError(f"expression: character {token!r} is outside the supported subset")
            out.append(token)
    return out


class _Parser:
    def __init__(self, expression: str, metric_ids: set[str] | None) -> None:
        self.tokens = _tokens(expression)
        self.pos = 0
        self.ids = metric_ids

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise ValueError(f"expression: expected {expected or 'more'}, got {token or 'end'}")
        self.pos += 1
        return token

    def parse(self) -> Node:
        node = self.sum()
        if self.peek() is not None:
            raise ValueError(f"expression: unexpected {self.peek()!r}")
        return node

    def sum(self) -> Node:
        node = self.product()
        while self.peek() in ("+", "-"):
            node = (self.take(), node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.peek() in ("*", "/"):
            node = (self.take(), node, self.unary())
        return node

    def unary(self) -> Node:
        if self.peek() == "-":
            self.take()
            return ("neg", self.unary())
        return self.atom()

    def atom(self) -> Node:
        token = self.take()
        if token == "(":
            node = self.sum()
            self.take(")")
            return node
        if token[0].isdigit():
            return ("num", float(token))
        if token in _FUNCTIONS:
            self.take("(")
            if token == "FILL":
                series = self.sum()
                self.take(",")
                value = self.sum()
                self.take(")")
                return ("FILL", series, value)
            self.take("[")
            items = [self.sum()]
            while self.peek() == ",":
                self.take()
                items.append(self.sum())
            self.take("]")
            self.take(")")
            return (token, *items)
        if (self.ids is None and token[0].islower()) or (self.ids is not None and token in self.ids):
            return ("id", token)
        raise ValueError(f"expression: unknown metric id or function {token!r}")


def parse_expression(expression: str, metric_ids: set[str] | None = None) -> Node:
    """Parse an expression of the supported subset; ValueError names what is wrong.

    ``metric_ids``: the ids the expression may use (None: any lowercase identifier).
    """
    return _Parser(expression, metric_ids).parse()


def evaluate_expression(expression: str, values: Mapping[str, float | None]) -> float | None:
    """The expression's value at one timestamp; ``None`` in ``values`` (or absent) is a missing point."""
    return _evaluate(parse_expression(expression), values)


def _evaluate(node: Node, values: Mapping[str, float | None]) -> float | None:
    op = node[0]
    if op == "num":
        return float(node[1])
    if op == "id":
        return values.get(node[1])
    if op == "neg":
        inner = _evaluate(node[1], values)
        return None if inner is None else -inner
    if op == "FILL":
        inner = _evaluate(node[1], values)
        return _evaluate(node[2], values) if inner is None else inner
    if op in ("MAX", "MIN", "SUM"):
        present = [v for v in (_evaluate(item, values) for item in node[1:]) if v is not None]
        if not present:
            return None
        if op == "MAX":
            return max(present)
        return min(present) if op == "MIN" else float(sum(present))
    left, right = _evaluate(node[1], values), _evaluate(node[2], values)
    if left is None or right is None:
        return None
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    return None if right == 0 else left / right
