"""Rule expressions: the compiled function gives what the closure tree gives, node by node."""

from __future__ import annotations

import pytest

from bldgwatch.rules import expr

CONSTANTS = {("rated", "speed_m_s"): 1.75, ("params", "top_level_m"): 35.2}


def _constant(scope: str, name: str) -> float:
    return CONSTANTS[(scope, name)]


ENVS = [
    {"a": 4.0, "b": 1.0, "c": 0.0},
    {"a": -2.5, "b": 0.0, "c": 1.0},
    {"a": 2.0, "b": 3.0},  # c missing
    {"a": 1.0, "b": 1.0, "c": 1.0},
]


@pytest.mark.parametrize(
    "text",
    [
        "a > 3 and b < 2 or not c",
        "a > 1 and b > 0 and c < 1",  # three parts
        "a < 0 or b > 2 or c",
        "abs(a - rated.speed_m_s) / params.top_level_m >= 0.05",
        "1 < a < 3",  # a chain: every operand evaluated first
        "0 <= b <= a < c",
        "max(a, b, 2) * -a",
        "min(a, b) + 1.5 == 2.5",
        "a / b > 1",  # division by zero: no answer
        "c != 0",  # a missing point: no answer
        "not (a > b)",
        "True and a",
    ],
)
def test_compiled_expression_matches_the_closure_tree(text: str) -> None:
    parsed = expr.parse(text)
    compiled = parsed.bind(_constant)
    tree = expr._compile(parsed.tree, _constant)  # the reference: one closure per node
    for env in ENVS:
        got, want = parsed.evaluate(compiled, env), parsed.evaluate(tree, env)
        assert got == want and type(got) is type(want), (text, env, got, want)


def test_compiled_expression_sees_no_builtins() -> None:
    """The compiled function's globals hold only what the language allows."""
    fn = expr.parse("abs(a)").bind(_constant)
    assert fn.__globals__["__builtins__"] == {}
    assert set(fn.__globals__) <= {"__builtins__", "bool", "abs", "min", "max"}
