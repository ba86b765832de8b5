"""Tables. Every change goes through an Alembic migration in ``storage/migrations/versions``.

Times are stored as naive UTC and read back as aware UTC datetimes (:class:`UTCDateTime`), so
SQLite and PostgreSQL compare them the same way.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.schema import MetaData, Table, UniqueConstraint

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, naive UTC in the database, aware UTC out."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite may hand back text for computed values
            value = datetime.fromisoformat(value)
        result: datetime = value.replace(tzinfo=UTC)
        return result


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def table_of(model: type[Base]) -> Table:
    """The Core table of a model, typed as a Table (for inserts, updates and upserts)."""
    table = model.__table__
    if not isinstance(table, Table):  # pragma: no cover - every model here maps one table
        raise TypeError(f"{model.__name__} is not mapped to a single table")
    return table


class KeywordRuleRow(Base):
    """A keyword reply rule of one account."""

    __tablename__ = "keyword_rules"
    __table_args__ = (UniqueConstraint("account", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    keywords: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ChannelRow(Base):
    """A customer acquisition channel; its name is the scene string of its QR codes."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("account", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(128), default="")
    follow_messages: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The channel's permanent QR code on the platform, created once (see handlers.channel_codes).
    qr_ticket: Mapped[str | None] = mapped_column(Text, nullable=True)
    qr_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class EventReplyRow(Base):
    """Replies to non-keyword triggers: the default follow reply, the no-match reply, menu keys."""

    __tablename__ = "event_replies"

    account: Mapped[str] = mapped_column(String(32), primary_key=True)
    trigger: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True, default="")
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ConfigRevisionRow(Base):
    """Bumped on every configuration change, so other processes know to reload."""

    __tablename__ = "config_revisions"

    account: Mapped[str] = mapped_column(String(32), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class FollowerRow(Base):
    """A customer of an account. ``last_interaction_at`` tells whether the platform still lets
    the bot message them (on WeChat, for 48 hours after they last acted)."""

    __tablename__ = "followers"
    __table_args__ = (Index(None, "account", "first_channel"),)

    account: Mapped[str] = mapped_column(String(32), primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_channel: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_channel: Mapped[str | None] = mapped_column(String(64), nullable=True)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    subscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_interaction_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboundEventRow(Base):
    """One handled platform callback; the key is equal for all its retries."""

    __tablename__ = "inbound_events"
    # SQLite: stored in primary-key order, one B-tree less to update per callback.
    __table_args__ = (Index(None, "created_at"), {"sqlite_with_rowid": False})

    account: Mapped[str] = mapped_column(String(32), primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The passive reply given, in the neutral stored form; NULL when none was given.
    reply: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxRow(Base):
    """A message to send through a platform API, durable until sent or given up.

    Status: ``pending`` -> ``sending`` -> ``sent`` | ``failed``; a ``sending`` row whose lease runs
    out (the process died mid-call) becomes ``in_doubt`` and is not sent again.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index(None, "status", "available_at"),
        Index(None, "account", "recipient", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    account: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(64))
    message: Mapped[dict[str, Any]] = mapped_column(JSON)
    origin: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ApiTokenRow(Base):
    """A platform access token shared by every process; one process refreshes it at a time."""

    __tablename__ = "api_tokens"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[str | None] = mapped_column(Text, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class KeywordHitRow(Base):
    """How often a keyword rule answered, per day (in UTC)."""

    __tablename__ = "keyword_hits"

    account: Mapped[str] = mapped_column(String(32), primary_key=True)
    rule_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)


class StaffUpdateRow(Base):
    """A staff-chat message already handled; the key is equal for all its retries."""

    __tablename__ = "staff_updates"
    __table_args__ = (Index(None, "created_at"),)

    dedupe_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoleGrantRow(Base):
    """A role (``admin`` or ``staff``) held by one person of one staff platform."""

    __tablename__ = "role_grants"

    person: Mapped[str] = mapped_column(String(160), primary_key=True)  # platform:account:user
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    granted_by: Mapped[str] = mapped_column(String(160))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PendingActionRow(Base):
    """A command waiting for its author's confirmation, or a wizard waiting for the next
    answer; at most one of each per person. ``expires_at`` ends it either way."""

    __tablename__ = "pending_actions"

    person: Mapped[str] = mapped_column(String(160), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # confirm | wizard
    chat: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))  # the command or wizard
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditRow(Base):
    """One command: who, where, what (secrets redacted), the outcome, and the change made."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "person", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    person: Mapped[str] = mapped_column(String(160))
    chat: Mapped[str] = mapped_column(String(64))
    command: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")
    diff: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class ConfigChangeRow(Base):
    """One change an admin made to an account's configuration: the whole document before and
    after, so that ``undo`` can put it back."""

    __tablename__ = "config_changes"
    __table_args__ = (Index(None, "account", "person", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(32))
    person: Mapped[str] = mapped_column(String(160))
    command: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any]] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MenuRow(Base):
    """An account's menu as being edited (the draft), in the platform's button shape."""

    __tablename__ = "menus"

    account: Mapped[str] = mapped_column(String(32), primary_key=True)
    buttons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MenuVersionRow(Base):
    """A menu as published to the platform; rollback publishes an earlier one again."""

    __tablename__ = "menu_versions"
    __table_args__ = (UniqueConstraint("account", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    buttons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    published_by: Mapped[str] = mapped_column(String(160))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MaterialRow(Base):
    """A permanent material (image) or a draft (news article) of an account, by name."""

    __tablename__ = "materials"
    __table_args__ = (UniqueConstraint("account", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # image | news
    media_id: Mapped[str] = mapped_column(String(128))
    url: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(160), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScriptCategoryRow(Base):
    """A category of the script library, by its full path ("售后/退款"); the tree is the paths."""

    __tablename__ = "script_categories"
    __table_args__ = (UniqueConstraint("account", "path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScriptRow(Base):
    """One script of the library (企业话术库). ``body`` holds the kind's fields (see
    ``scripts_library.model``); ``owner`` is "" for a shared script, else the one person who may
    see it."""

    __tablename__ = "scripts"
    __table_args__ = (
        UniqueConstraint("account", "shortcode"),
        Index(None, "account", "id"),
        {"sqlite_autoincrement": True},  # a removed script's id is never given to a new one
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(32))
    category_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    title: Mapped[str] = mapped_column(String(64))
    shortcode: Mapped[str | None] = mapped_column(String(32), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    owner: Mapped[str] = mapped_column(String(160), default="")
    usage_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(160), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(160), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScriptUseRow(Base):
    """A script sent by a staff member (from the chat or the sidebar): usage and "recent"."""

    __tablename__ = "script_uses"
    __table_args__ = (Index(None, "person", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(32))
    script_id: Mapped[int] = mapped_column(Integer)
    person: Mapped[str] = mapped_column(String(160))
    via: Mapped[str] = mapped_column(String(16))  # chat | sidebar
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScriptFavouriteRow(Base):
    __tablename__ = "script_favourites"

    person: Mapped[str] = mapped_column(String(160), primary_key=True)
    script_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LibraryStateRow(Base):
    """The generation of an account's library, raised by every change to its scripts, so that
    each process knows when its in-memory search index is stale."""

    __tablename__ = "library_state"

    account: Mapped[str] = mapped_column(String(32), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)


class LibraryFileRow(Base):
    """A picture or video kept for scripts (sent by an admin in the chat), by its SHA-256."""

    __tablename__ = "library_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlatformMediaRow(Base):
    """A file uploaded to a platform as temporary media (WeCom keeps it 3 days): reused until
    shortly before it expires, so sending a script twice uploads it once."""

    __tablename__ = "platform_media"

    owner: Mapped[str] = mapped_column(String(64), primary_key=True)  # wecom:<app>
    source: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the source
    media_id: Mapped[str] = mapped_column(String(256))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScheduledJobRow(Base):
    """Timed work (a mass send, an SOP rule): what to do, when, and when it fires next.

    ``trigger`` is the schedule in the job's own time zone (see ``bot.scheduler``); ``next_run_at``
    is the next fire time in UTC (None once a one-off job has fired or the job ended); ``version``
    rises with every change, so a process acting on an older read changes nothing.
    """

    __tablename__ = "scheduled_jobs"
    __table_args__ = (Index(None, "status", "next_run_at"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    trigger: Mapped[dict[str, Any]] = mapped_column(JSON)
    timezone: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # scheduled | paused | done | cancelled
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(160), default="")
    chat: Mapped[str] = mapped_column(String(200), default="")  # where to report: platform:app:chat
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JobRunRow(Base):
    """One firing of a scheduled job. The (job, fire time) pair is unique: whichever process
    inserts it first runs that firing, so a firing runs once however many servers see it."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job_id", "fire_at"), Index(None, "status", "retry_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(Integer)
    fire_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # running | ok | failed | missed | retrying | in_doubt
    status: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(128), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")


class MassSendRow(Base):
    """An Official Account mass send (群发): what, to whom, when, and how it went.

    ``content``: ``{"kind": "text"|"image"|"news", "material": name, "text" | "media_id",
    "title"}``; ``audience``: ``{"type": "all"}``, ``{"type": "tag", "tag_id", "name"}`` or
    ``{"type": "channel", "channel"}``. ``totals`` adds up the parts' MASSSENDJOBFINISH counts.
    """

    __tablename__ = "mass_sends"
    __table_args__ = (Index(None, "account", "created_at"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(32))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    audience_count: Mapped[int] = mapped_column(Integer, default=0)
    # scheduled | sending | submitted | done | failed | cancelled
    status: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    timezone: Mapped[str] = mapped_column(String(64))
    totals: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    detail: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(160), default="")
    chat: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MassSendPartRow(Base):
    """One platform call of a mass send (an OpenID list is cut into parts of at most 10,000).

    ``clientmsgid`` is fixed before the call, so a retried call is recognised by the platform
    (45065 with the first msg_id) and never makes a second send."""

    __tablename__ = "mass_send_parts"
    __table_args__ = (
        UniqueConstraint("send_id", "part"),
        UniqueConstraint("clientmsgid"),
        Index(None, "account", "msg_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    send_id: Mapped[int] = mapped_column(Integer)
    part: Mapped[int] = mapped_column(Integer)
    account: Mapped[str] = mapped_column(String(32))
    clientmsgid: Mapped[str] = mapped_column(String(64))
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    msg_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # pending | submitted | finished | failed
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CustomerGroupRow(Base):
    """A WeCom customer group (客户群) as last synced or told by a change_external_chat event.
    ``app`` is the WeCom app (bot/settings ``[wecom.<app>]``) through which it is seen."""

    __tablename__ = "customer_groups"
    __table_args__ = (UniqueConstraint("app", "chat_id"), Index(None, "app", "owner"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128), default="")
    owner: Mapped[str] = mapped_column(String(64), default="")
    notice: Mapped[str] = mapped_column(Text, default="")
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    group_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | dismissed
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)  # our own labels for targeting
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupDailyRow(Base):
    """Members joining and leaving a customer group on one day (in the configured time zone)."""

    __tablename__ = "group_daily"

    app: Mapped[str] = mapped_column(String(32), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    joins: Mapped[int] = mapped_column(Integer, default=0)
    quits: Mapped[int] = mapped_column(Integer, default=0)


class SopRuleRow(Base):
    """A group SOP: which groups, when (a scheduled job), and what their owners should send.

    ``targets``: ``{"type": "all"|"name"|"owner"|"tag", "value"}``; ``schedule``: a scheduler
    trigger, or ``{"type": "after_created", "days": N, "time": "HH:MM"}``; ``content``:
    ``{"text", "attachments": [{"source": "material"|"script", "ref", ...}]}``."""

    __tablename__ = "sop_rules"
    __table_args__ = (UniqueConstraint("app", "name"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    targets: Mapped[dict[str, Any]] = mapped_column(JSON)
    schedule: Mapped[dict[str, Any]] = mapped_column(JSON)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    timezone: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # active | paused | removed | done
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str] = mapped_column(String(160), default="")
    chat: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SopExecutionRow(Base):
    """One owner's group message task from one firing of an SOP rule, and later its result.

    Unique per (rule, firing, owner): a retried firing skips the owners already done."""

    __tablename__ = "sop_executions"
    __table_args__ = (UniqueConstraint("rule_id", "fire_at", "owner"), Index(None, "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(Integer)
    fire_at: Mapped[datetime] = mapped_column(UTCDateTime)
    owner: Mapped[str] = mapped_column(String(64))
    chat_ids: Mapped[list[str]] = mapped_column(JSON)
    msgid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # created | failed | done
    fail_list: Mapped[list[str]] = mapped_column(JSON, default=list)
    results: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # chat_id -> status
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LeadChannelRow(Base):
    """A lead channel (引流渠道) of a WeCom app: where new customers come from, the welcome they
    get and the corp tags they are given. ``welcome`` is ``{"text", "attachments": [...]}``
    (attachments as in group SOPs); an empty welcome means the default one."""

    __tablename__ = "lead_channels"
    __table_args__ = (UniqueConstraint("app", "name"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    welcome: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | removed
    created_by: Mapped[str] = mapped_column(String(160), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReceptionGroupRow(Base):
    """A reception group (接待组): the staff members who receive the new customers of a code,
    and the remark new customers get (``remark``: a pattern with {昵称} {渠道} {接待组})."""

    __tablename__ = "reception_groups"
    __table_args__ = (UniqueConstraint("app", "name"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    staff: Mapped[list[str]] = mapped_column(JSON, default=list)
    remark: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | removed
    created_by: Mapped[str] = mapped_column(String(160), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LiveCodeRow(Base):
    """A channel live code (渠道活码): a 「联系我」 contact way bound to a lead channel and a
    reception group. ``state`` (≤ 30 characters, unique per app) comes back in add events and
    identifies the code. ``status``: ``pending`` (being created on the platform), ``active``,
    ``failed`` (``detail`` says why) or ``removed``."""

    __tablename__ = "live_codes"
    __table_args__ = (
        UniqueConstraint("app", "name"),
        UniqueConstraint("app", "state"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[int] = mapped_column(Integer)
    group_id: Mapped[int] = mapped_column(Integer)
    skip_verify: Mapped[bool] = mapped_column(Boolean, default=True)
    config_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    qr_code: Mapped[str] = mapped_column(String(512), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    detail: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(160), default="")
    chat: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContactEventRow(Base):
    """One customer change (change_external_contact) as counted in the stats: an ``add``, a
    ``del_external`` (the member deleted the customer) or a ``del_follow`` (the customer deleted
    the member), with the code, channel and reception group it is counted to (from the add's
    state; deletions take them from the relation's add) and the local ``day``.

    For adds, the welcome and the follow-up work: ``welcome_status`` is ``none`` (no welcome
    code: nothing may be sent), ``sending`` (claimed; a crash here leaves it, never resent),
    ``sent``, ``used`` (41051: used, expired or the customer already chatted), ``expired`` (too
    late to try) or ``failed`` (``welcome_detail`` says why); ``welcome_ms`` the time from the
    event's arrival to the platform's answer. ``followup`` is ``pending`` until the remark and
    tags are done (``done``) or given up (``failed``, ``followup_detail``)."""

    __tablename__ = "contact_events"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        Index(None, "app", "day"),
        Index(None, "app", "userid", "external_userid"),
        Index(None, "followup"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(255))
    app: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # add | del_external | del_follow
    userid: Mapped[str] = mapped_column(String(64))
    external_userid: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(32), default="")
    code_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    channel_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    group_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    day: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    welcome_status: Mapped[str] = mapped_column(String(16), default="none")
    welcome_detail: Mapped[str] = mapped_column(Text, default="")
    welcome_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    followup: Mapped[str] = mapped_column(String(16), default="done")
    followup_detail: Mapped[str] = mapped_column(Text, default="")
    remark: Mapped[str] = mapped_column(String(64), default="")


class GroupCodeRow(Base):
    """An unlimited group code (无限群活码): a 「加入群聊」 join way over at most 5 customer
    groups, replaced by the next ones of ``pool`` as they fill up. ``slug`` names its landing
    page; ``active`` the chat ids in the join way now; ``full_members`` when a group counts as
    full; ``low_water`` how few groups with room left make admins be told (``warned`` once)."""

    __tablename__ = "group_codes"
    __table_args__ = (
        UniqueConstraint("app", "name"),
        UniqueConstraint("slug"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    slug: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32))
    config_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    qr_code: Mapped[str] = mapped_column(String(512), default="")
    pool: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[list[str]] = mapped_column(JSON, default=list)
    auto_create: Mapped[bool] = mapped_column(Boolean, default=False)
    base_name: Mapped[str] = mapped_column(String(64), default="")
    base_id: Mapped[int] = mapped_column(Integer, default=1)
    full_members: Mapped[int] = mapped_column(Integer, default=190)
    low_water: Mapped[int] = mapped_column(Integer, default=1)
    warned: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    detail: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(160), default="")
    chat: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupCodeJoinRow(Base):
    """Customers who joined a group of a group code (by its QR: JoinScene 3), per event."""

    __tablename__ = "group_code_joins"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        Index(None, "code_id", "day"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(255))
    code_id: Mapped[int] = mapped_column(Integer)
    chat_id: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer, default=1)
    day: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContactSettingsRow(Base):
    """Per WeCom app customer-contact settings admins change by chat: the default welcome
    (``{"text", "attachments"}``; empty means the settings file's)."""

    __tablename__ = "contact_settings"

    app: Mapped[str] = mapped_column(String(32), primary_key=True)
    default_welcome: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_by: Mapped[str] = mapped_column(String(160), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
