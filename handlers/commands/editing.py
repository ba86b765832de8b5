"""Changing an account's configuration from a command: read the whole document, change it,
check it as an import would (product rules, templates, the platform's limits), save it, and hand
back (before, after) for the audit diff and ``undo``."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from handlers.books import load_config, save_config
from handlers.commands.base import CommandError, Ctx
from handlers.config import AccountConfig, account_config_from_dict, account_config_to_dict
from handlers.menu import MenuError
from handlers.replies import check_templates
from storage import commands_repo as repo

MATERIAL_PREFIXES = ("素材:", "素材：", "material:")


async def current(ctx: Ctx) -> dict[str, Any]:
    config, _revision, _ids = await load_config(ctx.engine, ctx.account)
    return account_config_to_dict(config)


async def save_document(ctx: Ctx, document: dict[str, Any]) -> AccountConfig:
    """Check and store a whole configuration document."""
    config = account_config_from_dict(ctx.account, document)
    check_templates(config)
    ctx.oa.check_config(config)
    await save_config(ctx.engine, config)
    return config


async def edit(
    ctx: Ctx, change: Callable[[dict[str, Any]], None]
) -> tuple[dict[str, Any], dict[str, Any]]:
    before = await current(ctx)
    after = copy.deepcopy(before)
    try:
        change(after)
    except MenuError as exc:
        raise CommandError(str(exc)) from None
    config = await save_document(ctx, after)
    return before, account_config_to_dict(config)


async def message_from_text(ctx: Ctx, text: str) -> dict[str, Any]:
    """A reply message from what an admin typed: ``素材:<名称>`` names an image material or a
    news draft; anything else is a text (which may use template variables)."""
    stripped = text.strip()
    for prefix in MATERIAL_PREFIXES:
        if stripped.lower().startswith(prefix):
            name = stripped[len(prefix) :].strip()
            found = await repo.material(ctx.engine, ctx.account, name)
            if found is None:
                raise CommandError(f"没有名为「{name}」的素材。发送「素材 列表」查看。")
            if found["kind"] == "image":
                return {"image": {"media_id": found["media_id"]}}
            detail = found["detail"]
            return {
                "news": [
                    {
                        "title": detail.get("title", name),
                        "description": detail.get("digest", ""),
                        "url": detail.get("url", ""),
                        "picurl": detail.get("picurl", ""),
                    }
                ]
            }
    if not stripped:
        raise CommandError("回复内容不能为空。")
    return {"text": stripped}


def describe_message(message: dict[str, Any]) -> str:
    ((kind, body),) = message.items()
    if kind == "text":
        return str(body)
    if kind == "image":
        return f"[图片 {body.get('media_id', '')}]"
    if kind == "news":
        return "[图文] " + "、".join(a.get("title", "") for a in body)
    return f"[{kind}]"
