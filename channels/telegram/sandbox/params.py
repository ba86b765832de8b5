"""Bot API parameters from the query string, a urlencoded form, a JSON body or multipart.

Form and query values are strings; JSON bodies carry typed values. JSON-typed parameters
(reply_markup, allowed_updates, entities, ...) may arrive either as objects or as JSON strings,
which is how python-telegram-bot sends them in forms.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import BodyPartReader, web

from .errors import BotApiError, bad_request

MAX_FORM_BODY: Final = 2 * 1024 * 1024
"""Also the app's client_max_size; multipart uploads are streamed and capped separately."""


@dataclass(frozen=True)
class Upload:
    """One file part of a multipart body."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Params:
    """The parameters of one call, with Telegram's lenient typing."""

    values: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)

    def present(self, name: str) -> bool:
        """Whether the parameter was given with a value."""
        return self.values.get(name) not in (None, "")

    def string(self, name: str, *, required: str | None = None) -> str | None:
        """A string; numbers are accepted as their text. `required` is the error detail."""
        value = self.values.get(name)
        if value is None or (required is not None and value == ""):
            if required is not None:
                raise bad_request(required)
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float | str):
            return str(value)
        raise bad_request(f'field "{name}" must be of type String')

    def integer(self, name: str, *, required: str | None = None) -> int | None:
        """An integer from a JSON number or a decimal string."""
        value = self.values.get(name)
        if value is None or value == "":
            if required is not None:
                raise bad_request(required)
            return None
        if isinstance(value, bool):
            raise bad_request(f'field "{name}" must be of type Integer')
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise bad_request(f'field "{name}" must be of type Integer')

    def required_integer(self, name: str, missing: str) -> int:
        """An integer that must be given (`missing` is the error detail)."""
        value = self.integer(name, required=missing)
        if value is None:  # unreachable: integer() raised already
            raise bad_request(missing)
        return value

    def required_string(self, name: str, missing: str) -> str:
        """A non-empty string that must be given (`missing` is the error detail)."""
        value = self.string(name, required=missing)
        if not value:
            raise bad_request(missing)
        return value

    def number(self, name: str) -> float | None:
        """A number from JSON or a decimal string."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise bad_request(f'field "{name}" must be of type Float')

    def boolean(self, name: str) -> bool:
        """A boolean: JSON true/false, or "true"/"1"/"false"/"0" in forms (absent = False)."""
        value = self.values.get(name)
        if value is None or value == "":
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
            return value.lower() in ("true", "1")
        raise bad_request(f'field "{name}" must be of type Boolean')

    def json(self, name: str) -> Any:
        """A JSON-typed parameter given as an object/array or as a JSON string (None if absent)."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value

    def chat_id(self) -> int | str:
        """chat_id: an integer id or an @username."""
        value = self.values.get("chat_id")
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("@"):
                return text
            try:
                return int(text)
            except ValueError:
                pass
        raise bad_request("chat not found")


async def read_params(request: web.Request, *, max_upload: int) -> Params:
    """Collect the query string and the body (400 when the body cannot be read)."""
    params = Params(values=dict(request.query))
    if not request.body_exists:
        return params
    content_type = request.content_type
    if content_type.startswith("multipart/"):
        await _read_multipart(request, params, max_upload)
        return params
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise BotApiError(413, "Request Entity Too Large") from None
    if content_type == "application/json":
        try:
            body = json.loads(raw) if raw.strip() else {}
        except (UnicodeDecodeError, ValueError):
            raise bad_request("can't parse JSON object") from None
        if not isinstance(body, dict):
            raise bad_request("JSON object expected")
        params.values.update(body)
    elif content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        params.values.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


async def _read_multipart(request: web.Request, params: Params, max_upload: int) -> None:
    total = 0
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise bad_request("nested multipart bodies are not supported")
            data = bytearray()
            while chunk := await part.read_chunk():
                total += len(chunk)
                if total > max_upload:
                    raise BotApiError(413, "Request Entity Too Large")
                data.extend(chunk)
            name = part.name or ""
            if part.filename is not None:
                content_type = part.headers.get("Content-Type", "application/octet-stream")
                params.files[name] = Upload(part.filename, content_type, bytes(data))
            else:
                params.values[name] = data.decode("utf-8", errors="replace")
    except BotApiError:
        raise
    except Exception as exc:
        raise bad_request(f"can't parse multipart body: {exc.__class__.__name__}") from None
