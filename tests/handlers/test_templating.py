"""Reply templates: what renders, and every escape or exhaustion attempt refused at compile time."""

from __future__ import annotations

import pytest

from handlers.replies import TEMPLATE_VARIABLES, sample_contexts
from handlers.templating import MAX_OUTPUT, RenderError, TemplateCompiler, TemplateError


@pytest.fixture
def compiler() -> TemplateCompiler:
    return TemplateCompiler(TEMPLATE_VARIABLES, sample_contexts())


CONTEXT = {
    "follower": {
        "openid": "oABC",
        "first_channel": "spring",
        "channel": "spring",
        "is_new": True,
        "subscribed_at": "",
    },
    "channel": {"name": "spring", "title": "春季活动"},
    "now": {"date": "2026-11-21", "time": "10:00", "hour": 10, "weekday": "星期六"},
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("欢迎关注", "欢迎关注"),
        ("欢迎通过「{{ channel.title }}」关注", "欢迎通过「春季活动」关注"),
        ("{% if follower.is_new %}新朋友{% else %}老朋友{% endif %}", "新朋友"),
        ("{{ channel.title | default('我们') }}", "春季活动"),
        ("{% for i in range(3) %}{{ i }}{% endfor %}", "012"),
        ("{{ follower.openid | lower }}-{{ now.weekday }}", "oabc-星期六"),
        ("{{ '早上好' if now.hour < 12 else '你好' }}", "早上好"),
    ],
)
def test_templates_render(compiler: TemplateCompiler, source: str, expected: str) -> None:
    assert compiler.compile(source).render(CONTEXT) == expected


def test_text_without_template_syntax_stays_static(compiler: TemplateCompiler) -> None:
    template = compiler.compile("纯文本，没有变量")
    assert template.is_static
    assert template.render({}) == "纯文本，没有变量"


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        # reaching Python internals
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "unsafe"),
        ("{{ follower.openid.__class__ }}", "unsafe"),
        ("{{ '{0.__class__}'.format(1) }}", "unsafe"),
        ("{{ channel.title.format_map({}) }}", "unsafe"),
        ("{{ cycler.__init__.__globals__.os.popen('id').read() }}", "unknown variable"),
        ("{{ lipsum.__globals__['os'] }}", "unknown variable"),
        ("{{ self._TemplateReference__context }}", "unknown variable"),
        ("{{ config.items() }}", "unknown variable"),
        ("{{ range.__self__ }}", "no attribute"),
        ("{{ '{:>99999999}'.format(1) }}", "unsafe"),
        # language features that reach other templates or accumulate
        ("{% include '/etc/passwd' %}", "{% include %}"),
        ("{% import 'x' as y %}", "{% import %}"),
        ("{% extends 'base' %}", "{% extends %}"),
        ("{% set x = 1 %}{{ x }}", "{% set %}"),
        ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "{% macro %}"),
        ("{% for i in range(3) %}{% for j in range(3) %}x{% endfor %}{% endfor %}", "loops inside"),
        ("{% for i in range(3) recursive %}{{ loop(i) }}{% endfor %}", "recursive"),
        # exhausting memory or time
        ("{{ 'x' * 100000 }}", "repetition"),
        ("{{ 'x'.ljust(100000000) }}", "unsafe"),
        ("{{ 'x' | center(100000000) }}", "filter 'center'"),
        ("{{ '%099999999d' % 1 }}", "% formatting"),
        ("{{ range(100000) | list }}", "range() is limited"),
        ("{{ 2 ** 100000 }}", "power too large"),
        ("{{ ((((9 ** 64) ** 64) ** 64) ** 16) > 1 }}", "power too large"),
        ("{{ 'a'.encode().ljust(10000000) }}", "unsafe"),
        ("{% for x in [1] | slice(2000000) %}{% endfor %}", "filter 'slice'"),
        ("{% for x in 'ab' * 600 %}{% endfor %}", "at most 1000 items"),
        ("{{ ('x' * 10000) | replace('x', 'y' * 10000) }}", "replace() would make"),
        ("{{ range(1000) | join('x' * 10000) }}", "join() would make"),
        ("{{ x | _loop_limit }}", "filter '_loop_limit'"),
        ("{% for i in range(1000) %}{{ 'x' * 9000 }}{% endfor %}", "longer than"),
        # mistakes
        ("{{ follower.nickname }}", "has no attribute"),
        ("{{ customer.name }}", "unknown variable"),
        ("{{ unclosed ", "syntax error"),
    ],
)
def test_templates_are_refused(compiler: TemplateCompiler, source: str, reason: str) -> None:
    with pytest.raises(TemplateError) as info:
        compiler.compile(source)
    assert reason in str(info.value)


def test_output_is_capped_while_streaming(compiler: TemplateCompiler) -> None:
    # Fine for the 15-character sample openid, too long for a real 28-character one.
    template = compiler.compile(
        "{% for c in follower.openid %}{% if loop.index > 20 %}{{ 'y' * 9000 }}{% endif %}"
        "{% endfor %}"
    )
    with pytest.raises(RenderError, match=str(MAX_OUTPUT)):
        template.render({**CONTEXT, "follower": {**CONTEXT["follower"], "openid": "o" * 28}})


def test_a_runtime_failure_is_a_render_error_not_a_crash(compiler: TemplateCompiler) -> None:
    # Passes the samples (15-character openid) but divides by zero for a real 28-character one.
    template = compiler.compile("{{ 100 // ((follower.openid | length) - 28) }}")
    with pytest.raises(RenderError, match="ZeroDivisionError"):
        template.render({**CONTEXT, "follower": {**CONTEXT["follower"], "openid": "o" * 28}})
