"""Mass send (群发) building blocks of the Official Account (platform-facts.md §2.5): the message
part of a send body and the answer to a submission. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

CLIENTMSGID_BYTES: Final = 64
"""A ``clientmsgid`` longer than this is refused by the platform (45067)."""
OPENIDS_MIN: Final = 2
OPENIDS_MAX: Final = 10_000
"""A send by OpenID list (``mass/send``) takes 2 to 10,000 OpenIDs."""
KINDS: Final = ("text", "image", "news")


@dataclass(frozen=True)
class MassSubmitted:
    """A mass send the platform accepted. ``duplicate``: the ``clientmsgid`` had already been
    used within 24 hours (45065), so nothing new was sent and ``msg_id`` is the earlier send's."""

    msg_id: str
    duplicate: bool


def mass_message(kind: str, *, text: str = "", media_id: str = "") -> dict[str, Any]:
    """The ``msgtype`` and payload part of a mass send body.

    ``text``: the text itself; ``image``: one permanent image material (sent as ``images``);
    ``news``: a draft's media_id (sent as ``mpnews``; the draft leaves the box once sent).
    """
    if kind == "text":
        if not text:
            raise ValueError("a text mass message needs text")
        return {"msgtype": "text", "text": {"content": text}}
    if kind not in KINDS:
        raise ValueError(f"unknown mass message kind {kind!r}; expected one of {', '.join(KINDS)}")
    if not media_id:
        raise ValueError(f"a {kind} mass message needs a media_id")
    if kind == "image":
        return {"msgtype": "images", "images": {"media_ids": [media_id]}}
    return {"msgtype": "mpnews", "mpnews": {"media_id": media_id}}
