"""What a script of the library (企业话术库) is, the rules a saved script must follow, and how
one becomes the messages a staff member forwards.

A script has a title, an optional shortcode, a kind and the kind's fields (``body``), tags, a
category and a visibility: shared with everyone (``owner == ""``) or personal to one staff
member (``owner`` is that person's key). Text scripts are Jinja2 templates over two variables,
``customer`` and ``staff``; a template that names anything else is refused when it is saved.

Pictures, videos and covers are URLs; a file an admin sent in the chat is kept in the database
and written ``file:<sha256>``, which :func:`file_url` turns into the address the server serves.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from handlers.messages import Article, Clip, Message, News, Picture, Text
from handlers.templating import TemplateCompiler, TemplateError, render_or_none

log = logging.getLogger(__name__)

KINDS = {"text": "文本", "image": "图片", "link": "链接", "miniprogram": "小程序", "video": "视频"}
KIND_BY_NAME = {**{v: k for k, v in KINDS.items()}, **{k: k for k in KINDS}, "mp": "miniprogram"}
SHORTCODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
APPID = re.compile(r"wx[0-9a-f]{16}")
FILE_PREFIX = "file:"
MAX_TITLE = 64
MAX_TAGS = 10
MAX_TAG = 16
MAX_TEXT = 4000
MAX_CATEGORY_DEPTH = 4
MAX_CATEGORY = 200  # characters of a category path

CUSTOMER_FIELDS = ("name", "id")
STAFF_FIELDS = ("name", "userid")
VARIABLES = {"customer": CUSTOMER_FIELDS, "staff": STAFF_FIELDS}
SAMPLE = {
    "customer": {"name": "张三", "id": "wmSampleExternalUserid"},
    "staff": {"name": "李雷", "userid": "lilei"},
}

# The fields of each kind: (key, label, required). Text-like fields are limited in length.
FIELDS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "text": (("text", "内容", True),),
    "image": (("image", "图片", True),),
    "link": (
        ("url", "链接", True),
        ("title", "卡片标题", False),
        ("description", "描述", False),
        ("cover", "封面", False),
    ),
    "miniprogram": (
        ("appid", "AppID", True),
        ("page", "页面路径", True),
        ("title", "卡片标题", False),
        ("cover", "封面", True),
    ),
    "video": (("video", "视频", True), ("description", "描述", False)),
}
FIELD_LIMITS = {"title": 64, "description": 256, "page": 256, "url": 1024, "text": MAX_TEXT}
MEDIA_FIELDS = frozenset({"image", "cover", "video"})
FIELD_BY_LABEL = {label: key for fields in FIELDS.values() for key, label, _ in fields}


class ScriptError(ValueError):
    """A script (or a change to one) breaks a rule; the message (Chinese) says which."""


@dataclass(frozen=True)
class Script:
    id: int
    account: str
    title: str
    kind: str
    body: dict[str, str]
    shortcode: str = ""
    tags: tuple[str, ...] = ()
    owner: str = ""
    category_id: int | None = None
    category: str = ""
    usage: int = 0
    created_by: str = ""
    created_at: datetime | None = None

    @property
    def shared(self) -> bool:
        return not self.owner

    def visible_to(self, person: str) -> bool:
        return not self.owner or self.owner == person

    @property
    def searchable(self) -> str:
        """The text search looks through besides the title, shortcode and tags."""
        return " ".join(v for k, v in self.body.items() if k not in MEDIA_FIELDS and v)

    def describe(self) -> str:
        code = f" [{self.shortcode}]" if self.shortcode else ""
        mine = "（个人）" if self.owner else ""
        return f"{self.title}{code}（{KINDS[self.kind]}）{mine}"


@dataclass(frozen=True)
class Draft:
    """A script as it is being saved: the fields people give, before it has an id."""

    title: str
    kind: str
    body: dict[str, str]
    shortcode: str = ""
    tags: tuple[str, ...] = ()
    owner: str = ""
    category: str = ""


_compiler = TemplateCompiler(VARIABLES, [SAMPLE])
_parser = ImmutableSandboxedEnvironment()  # parses only, to name unknown variables


def check_template(source: str) -> None:
    """Refuse a script text that names anything but the documented variables and fields."""
    unknown = unknown_variables(source)
    if unknown:
        known = "、".join(f"{n}.{f}" for n, fs in VARIABLES.items() for f in fs)
        raise ScriptError(f"话术里用了未知的变量：{'、'.join(unknown)}。可用的变量：{known}。")
    try:
        _compiler.compile(source)
    except TemplateError as exc:
        raise ScriptError(f"话术内容的模板写法有误：{exc}") from None


def unknown_variables(source: str) -> list[str]:
    """Names (``x`` or ``customer.x``) a template uses that the script context does not have."""
    if "{" not in source:
        return []
    try:
        tree = _parser.parse(source)
    except Exception:  # a syntax error is reported by the compiler with its line
        return []
    local = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "store"} | {"loop", "range"}
    found: list[str] = []
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and name.name not in VARIABLES and name.name not in local:
            found.append(name.name)
    for attr in tree.find_all(nodes.Getattr):
        owner = attr.node
        fields = VARIABLES.get(owner.name, ()) if isinstance(owner, nodes.Name) else ()
        if fields and attr.attr not in fields:
            found.append(f"{getattr(owner, 'name', '')}.{attr.attr}")
    for item in tree.find_all(nodes.Getitem):
        if (
            isinstance(item.node, nodes.Name)
            and item.node.name in VARIABLES
            and isinstance(item.arg, nodes.Const)
            and item.arg.value not in VARIABLES[item.node.name]
        ):
            found.append(f"{item.node.name}.{item.arg.value}")
    return sorted(set(found))


def _is_media_ref(value: str) -> bool:
    if value.startswith(FILE_PREFIX):
        return bool(re.fullmatch(r"[0-9a-f]{64}", value[len(FILE_PREFIX) :]))
    return _is_url(value) and not _internal_host(value)


def _internal_host(url: str) -> bool:
    """A media URL naming this machine or a private network: the server would fetch it for
    whoever saved the script, so such addresses are refused (files are sent in the chat)."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def _is_url(value: str) -> bool:
    return bool(re.fullmatch(r"https?://[^\s]{1,1000}", value))


def normalize_tags(raw: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    items = re.split(r"[,，、;；\s]+", raw) if isinstance(raw, str) else list(raw)
    tags: list[str] = []
    for item in items:
        tag = str(item).strip().lstrip("#")
        if tag and tag not in tags:
            tags.append(tag)
    return tuple(tags)


def normalize_category(path: str) -> str:
    parts = [p.strip() for p in re.split(r"[/／>＞]", path) if p.strip()]
    return "/".join(parts)


def check_draft(draft: Draft) -> Draft:
    """Check every rule; return the draft with its values normalised (or raise ScriptError)."""
    title = draft.title.strip()
    if not title or len(title) > MAX_TITLE:
        raise ScriptError(f"标题是 1 到 {MAX_TITLE} 个字。")
    kind = KIND_BY_NAME.get(draft.kind.strip().lower())
    if kind is None:
        raise ScriptError(f"没有「{draft.kind}」这种话术类型；可用：{'、'.join(KINDS.values())}。")
    shortcode = draft.shortcode.strip().lower()
    if shortcode and (not SHORTCODE.fullmatch(shortcode) or shortcode.isdigit()):
        raise ScriptError(
            f"快捷码「{draft.shortcode}」不可用：只能用小写字母、数字、- 和 _，最多 32 个字符，"
            "且不能全是数字（数字用来选列表里的序号）。"
        )
    tags = normalize_tags(draft.tags)
    if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG for t in tags):
        raise ScriptError(f"标签最多 {MAX_TAGS} 个，每个最多 {MAX_TAG} 个字。")
    category = normalize_category(draft.category)
    if len(category) > MAX_CATEGORY or category.count("/") >= MAX_CATEGORY_DEPTH:
        raise ScriptError(f"分类最多 {MAX_CATEGORY_DEPTH} 层，路径最多 {MAX_CATEGORY} 个字。")
    body = _check_body(kind, draft.body)
    return Draft(title, kind, body, shortcode, tags, draft.owner, category)


def _check_body(kind: str, given: Mapping[str, Any]) -> dict[str, str]:
    allowed = {key for key, _, _ in FIELDS[kind]}
    extra = sorted(set(k for k, v in given.items() if v) - allowed)
    if extra:
        raise ScriptError(f"{KINDS[kind]}话术没有这些字段：{'、'.join(extra)}。")
    body: dict[str, str] = {}
    for key, label, required in FIELDS[kind]:
        value = str(given.get(key) or "").strip()
        if not value:
            if required:
                raise ScriptError(f"{KINDS[kind]}话术缺少「{label}」。")
            continue
        limit = FIELD_LIMITS.get(key)
        if limit and len(value) > limit:
            raise ScriptError(f"「{label}」最多 {limit} 个字，收到 {len(value)} 个。")
        if key in MEDIA_FIELDS and not _is_media_ref(value):
            raise ScriptError(f"「{label}」要是公网上的 http(s) 链接，或在聊天里直接发送的文件。")
        if key == "url" and not _is_url(value):
            raise ScriptError("「链接」要以 http:// 或 https:// 开头。")
        if key == "appid" and not APPID.fullmatch(value):
            raise ScriptError("小程序 AppID 是 wx 加 16 位十六进制字符，例如 wx1234567890abcdef。")
        body[key] = value
    if kind == "text":
        check_template(body["text"])
    return body


def context(customer: Mapping[str, str] | None, staff: Mapping[str, str]) -> dict[str, Any]:
    """The template variables: every documented field present ("" when unknown)."""
    given = customer or {}
    return {
        "customer": {f: str(given.get(f) or "") for f in CUSTOMER_FIELDS},
        "staff": {f: str(staff.get(f) or "") for f in STAFF_FIELDS},
    }


def render_source(source: str, variables: Mapping[str, Any], where: str) -> str | None:
    """A text in the script template language (checked with :func:`check_template`) for one
    customer and staff member; None when it cannot be rendered (logged with ``where``)."""
    try:
        template = _compiler.compile(source)
    except TemplateError:
        log.exception("%s: the template does not compile", where)
        return None
    return render_or_none(template, variables, where)


def render_text(script: Script, variables: Mapping[str, Any]) -> str:
    """The text of a text script for one customer and staff member."""
    rendered = render_source(script.body["text"], variables, f"script {script.id}")
    if rendered is None:
        raise ScriptError(f"话术「{script.title}」渲染失败，请管理员检查内容。")
    return rendered


FileUrl = Callable[[str], str]


def media_url(ref: str, file_url: FileUrl) -> str:
    """The address of a picture, video or cover (``file:`` references served by us)."""
    if ref.startswith(FILE_PREFIX):
        return file_url(ref[len(FILE_PREFIX) :])
    return ref


def chat_messages(script: Script, variables: Mapping[str, Any], file_url: FileUrl) -> list[Message]:
    """The script as messages a staff member can forward from the app chat: text as text,
    image as an image, link as a link card, video as a video. A WeCom or Telegram bot cannot
    send a real mini-program card into a chat, so a mini program comes as its cover with the
    card's title, AppID and page (the sidebar sends the real card)."""
    body = script.body
    if script.kind == "text":
        return [Text(render_text(script, variables))]
    if script.kind == "image":
        return [Picture(media_url(body["image"], file_url))]
    if script.kind == "link":
        cover = media_url(body.get("cover", ""), file_url)
        title = body.get("title") or script.title
        article = Article(title, body.get("description", ""), body["url"], cover)
        return [News((article,))]
    if script.kind == "miniprogram":
        title = body.get("title") or script.title
        caption = f"小程序「{title}」\nAppID：{body['appid']}\n页面：{body['page']}"
        return [Picture(media_url(body["cover"], file_url), caption)]
    title = script.title
    return [Clip(media_url(body["video"], file_url), title, body.get("description", ""))]
