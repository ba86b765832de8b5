"""Audit helpers: secrets kept out of the log, and a short diff of a configuration change."""

from __future__ import annotations

import re
from typing import Any

_SECRET_AFTER = re.compile(
    r"((?:secret|token|password|passwd|key|aeskey|密钥|密码|口令)\s*[=:：]?\s*)(\S+)", re.I
)
_LONG_OPAQUE = re.compile(r"(?<![\w/.])[A-Za-z0-9+/_-]{32,}={0,2}(?![\w/.])")


def redact(text: str) -> str:
    """The text with what looks like a secret replaced by ``***``: values after words such as
    secret/token/password/密钥, and long opaque strings (keys, tokens)."""
    return _LONG_OPAQUE.sub("***", _SECRET_AFTER.sub(r"\1***", text))


def config_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Per top-level part that changed: for named lists, the names added, removed and changed;
    otherwise the value before and after."""
    diff: dict[str, Any] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if _named(old) and _named(new):
            olds = {item["name"]: item for item in old or []}
            news = {item["name"]: item for item in new or []}
            diff[key] = {
                "added": [n for n in news if n not in olds],
                "removed": [n for n in olds if n not in news],
                "changed": [n for n in news if n in olds and news[n] != olds[n]],
            }
        else:
            diff[key] = {"before": old, "after": new}
    return diff


def _named(value: Any) -> bool:
    return value is None or (
        isinstance(value, list) and all(isinstance(i, dict) and "name" in i for i in value)
    )
