"""Sandbox fake of the WeChat Official Account platform.

A local stand-in for WeChat that the bot talks to over real HTTP. It plays WeChat both ways:

* the OA server API (`/cgi-bin/...`: tokens, custom-service messages, menu, QR codes, media,
  draft box, mass send, users, tags) with the platform's errcodes and limits: the 48-hour /
  1-minute custom-service allowances, menu and QR limits, media sizes and magic bytes, article
  limits, mass-send dedupe and quotas, tag limits, token rotation with its 300 s overlap;
* the customer: `FakeCustomer` (or the `/sandbox/{account}/users/{openid}/...` routes) builds
  callbacks exactly as WeChat does (signed; encrypted in compatible and safe mode), POSTs them
  to the account's callback URL with a 5 s timeout and 3 attempts, checks the passive reply and
  records what the customer sees on a per-customer timeline.

The pure builders (`text_xml`, `event_xml`, `build_callback`, `decode_reply`, ...) are also
what tests of the bot use to make inbound requests. All platform time reads `Clock`, which
tests advance. The fake imports nothing of the bot.
"""

from .accounts import FakeAccount
from .app import FAKE_STATE, create_fake_app
from .callbacks import (
    ReplyError,
    build_callback,
    build_verification,
    decode_reply,
    decrypt,
    encrypt,
    event_xml,
    image_xml,
    link_xml,
    location_xml,
    mass_finish_xml,
    open_envelope,
    parse_xml,
    render_xml,
    scan_xml,
    sha1_signature,
    subscribe_xml,
    text_xml,
    voice_xml,
)
from .clock import Clock
from .customer import UNAVAILABLE_NOTICE, FakeCustomer, Outcome
from .errors import ActionRejected, ApiError
from .limits import Limits
from .state import ApiCall, FakePlatform
from .timeline import TimelineEntry

__all__ = [
    "FAKE_STATE",
    "UNAVAILABLE_NOTICE",
    "ActionRejected",
    "ApiCall",
    "ApiError",
    "Clock",
    "FakeAccount",
    "FakeCustomer",
    "FakePlatform",
    "Limits",
    "Outcome",
    "ReplyError",
    "TimelineEntry",
    "build_callback",
    "build_verification",
    "create_fake_app",
    "decode_reply",
    "decrypt",
    "encrypt",
    "event_xml",
    "image_xml",
    "link_xml",
    "location_xml",
    "mass_finish_xml",
    "open_envelope",
    "parse_xml",
    "render_xml",
    "scan_xml",
    "sha1_signature",
    "subscribe_xml",
    "text_xml",
    "voice_xml",
]
