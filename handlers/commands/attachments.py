"""Attachments typed into a wizard, one per answer: ``素材:<名称>`` (an image or news material
of the Official Account the staff app manages) or ``话术:<快捷码或#编号>`` (a picture, link,
mini-program or video script of the library). Group SOPs and lead-channel welcomes store them
the same way (``{"source", "ref", "account", "kind", "title", ...}``); at most
:data:`MAX_ATTACHMENTS`, the platform's limit of both a group message task and a welcome."""

from __future__ import annotations

import re
from typing import Any

from handlers.commands.base import CommandError, Ctx
from handlers.commands.wizard import Answer
from handlers.commands.words import fold
from handlers.group_sop import MAX_ATTACHMENTS
from storage import commands_repo

__all__ = ["ATTACHMENT_PROMPT", "MAX_ATTACHMENTS", "read_attachment"]

ATTACHMENT_PROMPT = (
    f"附件（最多 {MAX_ATTACHMENTS} 个，一次一个）：「素材:<名称>」用图片或图文素材，"
    "「话术:<快捷码或#编号>」用图片、链接、小程序或视频话术。"
)


async def read_attachment(ctx: Ctx, answer: Answer) -> dict[str, Any]:
    """One attachment as stored; CommandError (asks again) when it names nothing usable."""
    text = answer.text.strip().replace("：", ":")
    kind, _, ref = text.partition(":")
    kind, ref = fold(kind), ref.strip()
    if answer.image or not ref or kind not in ("素材", "material", "话术", "script"):
        raise CommandError(
            "附件写「素材:<名称>」或「话术:<快捷码或#编号>」；图片请先存为素材或话术。"
        )
    if kind in ("素材", "material"):
        found = await commands_repo.material(ctx.engine, ctx.account, ref)
        if found is None:
            raise CommandError(f"没有名为「{ref}」的素材。发送「素材 列表」查看。")
        detail = dict(found.get("detail") or {})
        if found["kind"] == "image" and not found.get("url"):
            raise CommandError(f"图片素材「{ref}」没有图片地址，不能作为附件。")
        if found["kind"] == "news" and not (found.get("url") or detail.get("url")):
            raise CommandError(f"图文素材「{ref}」还没有可访问的文章链接（草稿），不能作为附件。")
        if found["kind"] not in ("image", "news"):
            raise CommandError(f"素材「{ref}」不能作为附件。")
        return {
            "source": "material",
            "ref": ref,
            "account": ctx.account,
            "kind": found["kind"],
            "title": detail.get("title") or ref,
        }
    if re.fullmatch(r"#[0-9]{1,9}", ref):
        script = await ctx.library.get(ctx.account, int(ref[1:]), ctx.caller.person)
    else:
        script = await ctx.library.by_shortcode(ctx.account, ref, ctx.caller.person)
    if script is None:
        raise CommandError(f"没有找到话术「{ref}」。写快捷码或 #编号，如「话术:#12」。")
    if script.kind == "text":
        raise CommandError("文本话术不能作为附件：请把文字写进内容里。")
    return {
        "source": "script",
        "ref": f"#{script.id}",
        "id": script.id,
        "account": ctx.account,
        "kind": script.kind,
        "title": script.title,
        "viewer": script.owner,
    }
