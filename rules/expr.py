"""A small, safe expression language for rule conditions (parsed with `ast`, never `eval`'d).

Allowed: point names (``door_closed``), equipment constants (``params.NAME``, ``rated.NAME``),
numbers and ``True``/``False``, ``and``/``or``/``not``, comparisons (chains too),
``+ - * /``, unary minus, and the functions ``abs``, ``min``, ``max``. Anything else —
attributes other than params/rated, subscripts, lambdas, other calls — is refused at load
time with the offending construct named.

`parse` checks an expression and lists what it reads; `Expression.bind` resolves the
equipment constants once and returns a function of a mapping of point values, compiled from
the checked tree (never from the text).
A division by zero evaluates to "no answer" (`None` from `evaluate`).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Env = Mapping[str, float]
Fn = Callable[[Env], float]

CONSTANT_SCOPES = ("params", "rated")
_FUNCTIONS: dict[str, Callable[..., float]] = {"abs": abs, "min": min, "max": max}
_BINOPS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_CMPOPS: dict[type[ast.cmpop], Callable[[float, float], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


class ExpressionError(ValueError):
    """An expression outside the language; the message names the construct."""


@dataclass(frozen=True, slots=True)
class Expression:
    """A checked expression: its text, the points it reads and the constants it needs."""

    text: str
    points: tuple[str, ...]
    constants: tuple[tuple[str, str], ...]  # (scope, name), e.g. ("rated", "speed_m_s")
    tree: ast.expr

    def bind(self, constants: Callable[[str, str], float]) -> Fn:
        """Resolve equipment constants (via `constants(scope, name)`) into one function."""
        return _lower(self.tree, constants)

    def evaluate(self, fn: Fn, env: Env) -> float | None:
        """Run a bound expression; None on division by zero or a missing point."""
        try:
            return fn(env)
        except (ZeroDivisionError, KeyError):
            return None


def parse(text: str) -> Expression:
    """Check `text` against the language; ExpressionError names what is not allowed."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as err:
        raise ExpressionError(f"syntax error in {text!r}: {err.msg}") from err
    points: list[str] = []
    constants: list[tuple[str, str]] = []
    _check(tree, points, constants)
    return Expression(text, tuple(dict.fromkeys(points)), tuple(dict.fromkeys(constants)), tree)


def _check(node: ast.AST, points: list[str], constants: list[tuple[str, str]]) -> None:
    if isinstance(node, ast.Name):
        if node.id in _FUNCTIONS or node.id in CONSTANT_SCOPES:
            raise ExpressionError(f"{node.id!r} cannot be used as a value")
        points.append(node.id)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, str) or not isinstance(node.value, int | float):
            raise ExpressionError(f"constant {node.value!r} is not a number or boolean")
    elif isinstance(node, ast.Attribute):
        if not (isinstance(node.value, ast.Name) and node.value.id in CONSTANT_SCOPES):
            raise ExpressionError("only params.NAME and rated.NAME may use a dot")
        constants.append((node.value.id, node.attr))
    else:
        for child in _operands(node):
            _check(child, points, constants)


def _operands(node: ast.AST) -> list[ast.expr]:
    """The operands of an allowed operator node; ExpressionError for anything else."""
    if isinstance(node, ast.BoolOp):
        return list(node.values)
    if isinstance(node, ast.Compare):
        if not all(type(o) in _CMPOPS for o in node.ops):
            raise ExpressionError("comparisons allowed: < <= > >= == !=")
        return [node.left, *node.comparators]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):
        return [node.operand]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return [node.left, node.right]
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            raise ExpressionError(f"only {sorted(_FUNCTIONS)} may be called")
        if node.keywords or not node.args:
            raise ExpressionError(f"{node.func.id}() takes positional arguments only")
        if node.func.id == "abs" and len(node.args) != 1:
            raise ExpressionError("abs() takes one argument")
        return list(node.args)
    raise ExpressionError(f"{type(node).__name__} is not allowed in rule expressions")


def _lower(tree: ast.expr, constants: Callable[[str, str], float]) -> Fn:
    """The checked tree as one Python function of `env` (one call per evaluation instead of
    one per node): the tree is rebuilt node by node from what `_check` allowed — points
    become `env["name"]`, constants their bound floats — and compiled; the text is never
    evaluated, and the function sees only `bool`, `abs`, `min`, `max` and the closures of
    comparison chains (whose operands are all evaluated first, as in `_compile`)."""
    scope: dict[str, object] = {"__builtins__": {}, "bool": bool, **_FUNCTIONS}
    body = _lowered(tree, constants, scope)
    args = ast.arguments(
        posonlyargs=[], args=[ast.arg("env")], kwonlyargs=[], kw_defaults=[], defaults=[]
    )
    code = ast.fix_missing_locations(ast.Expression(ast.Lambda(args, body)))
    fn: Fn = eval(compile(code, "<rule expression>", "eval"), scope)  # noqa: S307 - a checked tree
    return fn


def _lowered(  # noqa: PLR0911 - one return per node kind
    node: ast.expr, constants: Callable[[str, str], float], scope: dict[str, object]
) -> ast.expr:
    if isinstance(node, ast.Name):
        return ast.Subscript(ast.Name("env", ast.Load()), ast.Constant(node.id), ast.Load())
    if isinstance(node, ast.Constant | ast.Attribute):
        return ast.Constant(_constant(node, constants))
    if isinstance(node, ast.BoolOp):
        values = [_lowered(v, constants, scope) for v in node.values]
        return ast.Call(ast.Name("bool", ast.Load()), [ast.BoolOp(node.op, values)], [])
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right = (_lowered(n, constants, scope) for n in (node.left, node.comparators[0]))
        return ast.Compare(left, [node.ops[0]], [right])
    if isinstance(node, ast.UnaryOp):
        return ast.UnaryOp(node.op, _lowered(node.operand, constants, scope))
    if isinstance(node, ast.BinOp):
        left, right = _lowered(node.left, constants, scope), _lowered(node.right, constants, scope)
        return ast.BinOp(left, node.op, right)
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        args = [_lowered(a, constants, scope) for a in node.args]
        return ast.Call(ast.Name(node.func.id, ast.Load()), args, [])
    name = f"_f{len(scope)}"  # a comparison chain: its closure, called with env
    scope[name] = _compile(node, constants)
    return ast.Call(ast.Name(name, ast.Load()), [ast.Name("env", ast.Load())], [])


def _compile(node: ast.expr, constants: Callable[[str, str], float]) -> Fn:  # noqa: PLR0911
    """A closure per node (checked by `_check` before); booleans come out as bool."""
    if isinstance(node, ast.Name):
        getter: Fn = operator.itemgetter(node.id)
        return getter
    if isinstance(node, ast.Constant | ast.Attribute):
        const = _constant(node, constants)
        return lambda env: const
    if isinstance(node, ast.BoolOp):
        return _compile_boolop(node, constants)
    if isinstance(node, ast.Compare):
        return _compile_compare(node, constants)
    if isinstance(node, ast.UnaryOp):
        inner = _compile(node.operand, constants)
        if isinstance(node.op, ast.Not):
            return lambda env: not inner(env)
        return lambda env: -inner(env)
    if isinstance(node, ast.BinOp):
        op = _BINOPS[type(node.op)]
        left, right = _compile(node.left, constants), _compile(node.right, constants)
        return lambda env: op(left(env), right(env))
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    fn = _FUNCTIONS[node.func.id]
    args = [_compile(a, constants) for a in node.args]
    if len(args) == 1:
        (only,) = args
        return lambda env: fn(only(env))
    return lambda env: fn(*[a(env) for a in args])


def _constant(node: ast.Constant | ast.Attribute, constants: Callable[[str, str], float]) -> float:
    if isinstance(node, ast.Attribute):
        assert isinstance(node.value, ast.Name)
        return float(constants(node.value.id, node.attr))
    assert isinstance(node.value, int | float)
    return float(node.value)


def _compile_boolop(node: ast.BoolOp, constants: Callable[[str, str], float]) -> Fn:
    parts = [_compile(v, constants) for v in node.values]
    conj = isinstance(node.op, ast.And)
    if len(parts) == 2:  # the common case, short-circuiting without a loop
        a, b = parts
        if conj:
            return lambda env: bool(a(env) and b(env))
        return lambda env: bool(a(env) or b(env))

    def every(env: Env) -> float:
        for part in parts:  # noqa: SIM110 - faster than all() over a generator
            if not part(env):
                return False
        return True

    def some(env: Env) -> float:
        for part in parts:  # noqa: SIM110 - faster than any() over a generator
            if part(env):
                return True
        return False

    return every if conj else some


def _compile_compare(node: ast.Compare, constants: Callable[[str, str], float]) -> Fn:
    operands = [_compile(n, constants) for n in (node.left, *node.comparators)]
    ops = [_CMPOPS[type(o)] for o in node.ops]
    if len(ops) == 1:
        op, left, right = ops[0], operands[0], operands[1]
        if isinstance(node.comparators[0], ast.Constant | ast.Attribute):
            limit = _constant(node.comparators[0], constants)
            return lambda env: op(left(env), limit)
        return lambda env: op(left(env), right(env))

    def chain(env: Env) -> float:
        values = [o(env) for o in operands]
        return all(op(values[i], values[i + 1]) for i, op in enumerate(ops))

    return chain
