"""Field checks for JSON bodies, answering the platform's errcodes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ApiError


def obj(body: Mapping[str, Any], key: str, where: str = "") -> dict[str, Any]:
    """A required JSON object field (47001 otherwise)."""
    value = body.get(key)
    if not isinstance(value, dict):
        raise ApiError(47001, f"{where}{key} must be a JSON object")
    return value


def text(
    body: Mapping[str, Any],
    key: str,
    where: str = "",
    *,
    required: bool = True,
    errcode: int = 47001,
) -> str:
    """A string field; required ones must be non-empty."""
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise ApiError(errcode, f"{where}{key} must be a non-empty string")
    return value


def integer(body: Mapping[str, Any], key: str, where: str = "", *, errcode: int = 47001) -> int:
    """A required integer field (booleans refused)."""
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(errcode, f"{where}{key} must be an integer")
    return value


def msg_id(body: Mapping[str, Any]) -> int:
    """A mass msg_id given as a number or a string of digits."""
    value = body.get("msg_id")
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ApiError(40059, "msg_id must be a number")
