"""Reply templates: Jinja2 in a sandbox, restricted to a small language.

Reply content is written by admins and rendered for every customer, so a template must neither
reach the server's internals nor stall the reply path. Three layers keep it so:

1. Jinja2's immutable sandbox refuses private attributes, unsafe callables and mutation.
2. The language is a whitelist: output, variables, attribute and item access, the filters in
   ``ALLOWED_FILTERS``, ``if``, and one level of ``for`` over at most ``MAX_RANGE`` items. No
   ``set``, macros, includes, imports, blocks or recursive loops, so nothing accumulates.
3. Costs are capped where they could still grow: ``*``, ``**`` and ``%`` on big operands, the
   width-taking string methods, and the rendered output (streamed and cut at ``MAX_OUTPUT``).

A template is compiled once when the configuration is loaded; compiling also renders it against
sample contexts, so a template that uses an unknown variable or touches something unsafe is refused
then, with the reason, instead of failing in front of a customer.
"""

from __future__ import annotations

import itertools
import logging
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

log = logging.getLogger(__name__)

MAX_SOURCE = 4000
MAX_OUTPUT = 20000
MAX_RANGE = 1000
MAX_OPERAND = 10000
ALLOWED_FILTERS = frozenset(
    {
        "abs", "capitalize", "default", "d", "escape", "e", "first", "float", "int", "join",
        "last", "length", "count", "lower", "replace", "round", "string", "striptags", "title",
        "trim", "truncate", "upper", "urlencode", "list", "sort", "unique", "reverse", "min",
        "max", "sum", "select", "reject", "selectattr", "rejectattr", "map",
    }
)  # fmt: skip
ALLOWED_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.Getattr,
    nodes.Getitem, nodes.Slice, nodes.Filter, nodes.Test, nodes.If, nodes.For, nodes.CondExpr,
    nodes.Compare, nodes.Operand, nodes.And, nodes.Or, nodes.Not, nodes.Neg, nodes.Pos,
    nodes.Concat, nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod,
    nodes.Pow, nodes.List, nodes.Tuple, nodes.Dict, nodes.Pair, nodes.Keyword, nodes.Call,
)  # fmt: skip
# String and bytes methods whose argument sets the size of the result, or that leave text.
UNSAFE_METHODS = frozenset(
    {"center", "ljust", "rjust", "zfill", "expandtabs", "format", "format_map", "encode", "decode"}
)
MAX_POWER_BITS = 4096
MAX_CACHED = 100_000
LOOP_LIMIT = "_loop_limit"  # an internal filter: refused like any other if a template names it


class TemplateError(ValueError):
    """A template was refused when it was compiled; the message says why."""


class RenderError(RuntimeError):
    """A compiled template failed for one context (too long, a value it could not use)."""


def _capped_range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise SecurityError(f"range() is limited to {MAX_RANGE} items")
    return r


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "*": operator.mul,
    "**": operator.pow,
    "%": operator.mod,
}


class _ReplyEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(_BINOPS)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float):
            bits = abs(left).bit_length() if isinstance(left, int) else 64
            if abs(right) > 64 or bits * abs(right) > MAX_POWER_BITS:
                raise SecurityError("power too large")
        if operator == "*":
            for a, b in ((left, right), (right, left)):
                sized = isinstance(a, str | list | tuple) and isinstance(b, int)
                if sized and len(a) * b > MAX_OPERAND:
                    raise SecurityError(f"repetition longer than {MAX_OPERAND}")
        if operator == "%" and isinstance(left, str):
            raise SecurityError("the % formatting operator is not available; use filters")
        return _BINOPS[operator](left, right)

    def wrap_str_format(self, value: Any) -> None:
        # Jinja hands str.format out through its own formatter before asking is_safe_attribute;
        # width specs there ("{:>99999999}") would build huge strings, so format is refused.
        return None

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str | bytes | bytearray) and attr in UNSAFE_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)


def _limited(items: Any) -> list[Any]:
    """What a ``for`` loop iterates over, at most ``MAX_RANGE`` items (every loop goes through
    this, whatever it iterates: ranges, lists, filter results)."""
    taken = list(itertools.islice(iter(items), MAX_RANGE + 1))
    if len(taken) > MAX_RANGE:
        raise SecurityError(f"a loop may go over at most {MAX_RANGE} items")
    return taken


def _make_environment() -> _ReplyEnvironment:
    env = _ReplyEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    filters = {k: v for k, v in env.filters.items() if k in ALLOWED_FILTERS}
    plain_replace, plain_join = filters["replace"], filters["join"]

    def replace(context: Any, value: Any, old: str, new: str, count: int | None = None) -> Any:
        text = str(value)
        grows = text.count(str(old)) if count is None else min(count, text.count(str(old)))
        if len(text) + grows * (len(str(new)) - len(str(old))) > MAX_OUTPUT:
            raise SecurityError(f"replace() would make more than {MAX_OUTPUT} characters")
        return plain_replace(context, value, old, new, count)

    def join(context: Any, value: Any, d: str = "", attribute: Any = None) -> Any:
        items = _limited(value)
        if sum(len(str(i)) for i in items) + len(str(d)) * len(items) > MAX_OUTPUT:
            raise SecurityError(f"join() would make more than {MAX_OUTPUT} characters")
        return plain_join(context, items, d, attribute)

    replace.jinja_pass_arg = plain_replace.jinja_pass_arg  # type: ignore[attr-defined]
    join.jinja_pass_arg = plain_join.jinja_pass_arg  # type: ignore[attr-defined]
    env.filters = {**filters, "replace": replace, "join": join, LOOP_LIMIT: _limited}
    env.globals = {"range": _capped_range}
    return env


class Template:
    """A compiled reply template. Sources without template syntax are kept as plain strings."""

    __slots__ = ("_compiled", "names", "source")

    def __init__(self, source: str, compiled: Any | None, names: frozenset[str]) -> None:
        self.source = source
        self._compiled = compiled
        self.names = names

    @property
    def is_static(self) -> bool:
        return self._compiled is None

    def render(self, context: Mapping[str, Any]) -> str:
        """Render for one context; raise :class:`RenderError` (never anything else) on failure."""
        if self._compiled is None:
            return self.source
        try:
            size = 0
            parts: list[str] = []
            for chunk in self._compiled.generate(context):
                size += len(chunk)
                if size > MAX_OUTPUT:
                    raise RenderError(f"rendered text longer than {MAX_OUTPUT} characters")
                parts.append(chunk)
            return "".join(parts)
        except RenderError:
            raise
        except Exception as exc:  # a template must never break the reply path
            raise RenderError(f"{type(exc).__name__}: {exc}") from exc


class TemplateCompiler:
    """Compiles reply templates for a fixed set of context variable names."""

    def __init__(self, variables: Iterable[str], samples: Iterable[Mapping[str, Any]]) -> None:
        self._env = _make_environment()
        self._variables = frozenset(variables)
        self._samples = tuple(samples)
        # Sources compiled before (a reload recompiles mostly unchanged templates).
        self._cache: dict[str, Template] = {}

    def compile(self, source: str) -> Template:
        """Compile and check ``source``; raise :class:`TemplateError` with the reason."""
        cached = self._cache.get(source)
        if cached is not None:
            return cached
        template = self._compile(source)
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        self._cache[source] = template
        return template

    def _compile(self, source: str) -> Template:
        if len(source) > MAX_SOURCE:
            raise TemplateError(f"template longer than {MAX_SOURCE} characters")
        if "{" not in source:
            return Template(source, None, frozenset())
        try:
            tree = self._env.parse(source)
        except TemplateSyntaxError as exc:
            raise TemplateError(
                f"template syntax error on line {exc.lineno}: {exc.message}"
            ) from None
        _check_language(tree)
        for loop in tree.find_all(nodes.For):  # every loop's iterable goes through the cap
            loop.iter = nodes.Filter(loop.iter, LOOP_LIMIT, [], [], None, None, lineno=loop.lineno)
        # Loop variables (the only names a template can store) and ``loop`` are local.
        local = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "store"} | {"loop"}
        names = frozenset(n.name for n in tree.find_all(nodes.Name) if n.ctx == "load") - local
        unknown = names - self._variables - set(self._env.globals)
        if unknown:
            raise TemplateError(
                f"unknown variable(s) {', '.join(sorted(unknown))}; "
                f"available: {', '.join(sorted(self._variables))}"
            )
        template = Template(source, self._env.from_string(tree), names)
        for sample in self._samples:
            try:
                template.render(sample)
            except RenderError as exc:
                raise TemplateError(f"template fails on a sample customer: {exc}") from None
        return template


def render_or_none(template: Template, context: Mapping[str, Any], where: str) -> str | None:
    """Render, or log and return None: the caller drops that message and keeps replying."""
    try:
        return template.render(context)
    except RenderError as exc:
        log.warning("template %s failed to render and was skipped: %s", where, exc)
        return None


def _check_language(tree: nodes.Template) -> None:
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, ALLOWED_NODES):
            raise TemplateError(
                f"{_describe(node)} is not available in reply templates "
                "(use variables, filters, if and a single for loop)"
            )
        if isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
            raise TemplateError(f"the filter {node.name!r} is not available in reply templates")
        if isinstance(node, nodes.For):
            if node.recursive:
                raise TemplateError("recursive loops are not available in reply templates")
            if any(True for _ in node.find_all(nodes.For)):
                raise TemplateError("loops inside loops are not available in reply templates")


def _describe(node: nodes.Node) -> str:
    names: dict[type[nodes.Node], str] = {
        nodes.Assign: "{% set %}",
        nodes.AssignBlock: "{% set %}",
        nodes.Macro: "{% macro %}",
        nodes.CallBlock: "{% call %}",
        nodes.Include: "{% include %}",
        nodes.Import: "{% import %}",
        nodes.FromImport: "{% from ... import %}",
        nodes.Extends: "{% extends %}",
        nodes.Block: "{% block %}",
        nodes.FilterBlock: "{% filter %}",
        nodes.With: "{% with %}",
    }
    return names.get(type(node), f"the construct {type(node).__name__}")
