"""Materials by name: an image sent in the chat becomes a permanent image material; a news
article (a wizard) becomes a draft. Replies and menus refer to them as ``素材:<名称>``."""

from __future__ import annotations

import json
from typing import Any

from handlers.commands.base import CommandError, CommandSpec, Ctx, Outcome, Param
from handlers.commands.editing import current
from handlers.commands.wizard import Answer, Step, Wizard, text_reader
from handlers.config import NAME_PATTERN
from storage import commands_repo as repo

KIND_NAMES = {"image": "图片", "news": "图文"}
MAX_IMAGE_BYTES = 10 * 1024 * 1024


def _check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise CommandError("素材名称是 1 到 64 个字符，不含空格和 /。")


async def _new_name(ctx: Ctx) -> str:
    name = str(ctx.args["name"])
    _check_name(name)
    if await repo.material(ctx.engine, ctx.account, name) is not None:
        raise CommandError(f"已有名为「{name}」的素材。")
    return name


async def _upload_image(ctx: Ctx, answer: Answer) -> dict[str, str]:
    if not answer.image:
        raise CommandError("请直接发送一张图片（JPG、PNG 或 GIF）。")
    await ctx.progress("收到图片，正在上传为永久素材…")
    data = await ctx.services.media.fetch_image(
        ctx.caller.platform, ctx.caller.account, answer.image
    )
    if len(data) > MAX_IMAGE_BYTES:
        raise CommandError("图片超过 10 MB，公众号不接受。")
    media_id, url = await ctx.oa.add_image(f"{ctx.args['name']}.jpg", data)
    return {"media_id": media_id, "url": url}


async def add_image(ctx: Ctx) -> Outcome:
    await _new_name(ctx)
    return Outcome(wizard=("material.image", {}), detail=f"image material {ctx.args['name']}")


async def _finish_image(ctx: Ctx, values: dict[str, Any]) -> Outcome:
    name = await _new_name(ctx)
    image = values["image"]
    await repo.add_material(
        ctx.engine,
        ctx.account,
        name,
        "image",
        image["media_id"],
        image["url"],
        {},
        ctx.caller.person,
    )
    return Outcome.say(
        f"已保存图片素材「{name}」。在回复里写「素材:{name}」即可使用。",
        detail=f"media_id {image['media_id']}",
    )


IMAGE_WIZARD = Wizard(
    name="material.image",
    title="添加图片素材",
    steps=(Step("image", "请发送这张图片。", _upload_image),),
    finish=_finish_image,
)


async def add_news(ctx: Ctx) -> Outcome:
    await _new_name(ctx)
    return Outcome(wizard=("material.news", {}), detail=f"news draft {ctx.args['name']}")


def _limited(label: str, limit: int) -> Any:
    return text_reader(label, max_chars=limit)


async def _read_cover(ctx: Ctx, answer: Answer) -> Any:
    if answer.image:
        return await _upload_image(ctx, answer)
    name = answer.text.strip().removeprefix("素材:").removeprefix("素材：")
    found = await repo.material(ctx.engine, ctx.account, name)
    if found is None or found["kind"] != "image":
        raise CommandError(f"没有名为「{name}」的图片素材。可以直接发送一张图片作封面。")
    return {"media_id": found["media_id"], "url": found["url"]}


async def _finish_news(ctx: Ctx, values: dict[str, Any]) -> Outcome:
    name = await _new_name(ctx)
    article: dict[str, Any] = {
        "title": values["title"],
        "content": values["content"],
        "thumb_media_id": values["cover"]["media_id"],
    }
    if values.get("author"):
        article["author"] = values["author"]
    if values.get("digest"):
        article["digest"] = values["digest"]
    await ctx.progress("正在保存到公众号草稿箱…")
    media_id = await ctx.oa.add_draft([article])
    detail = {
        "title": values["title"],
        "digest": values.get("digest") or "",
        "picurl": values["cover"].get("url", ""),
    }
    await repo.add_material(
        ctx.engine, ctx.account, name, "news", media_id, "", detail, ctx.caller.person
    )
    return Outcome.say(
        f"已保存图文「{values['title']}」为素材「{name}」（公众号草稿）。",
        detail=f"draft {media_id}",
    )


NEWS_WIZARD = Wizard(
    name="material.news",
    title="添加图文（草稿）",
    steps=(
        Step("title", "标题是什么？（最多 32 个字）", _limited("标题", 32)),
        Step("author", "作者？（最多 16 个字）", _limited("作者", 16), optional=True),
        Step("digest", "摘要？（最多 128 个字）", _limited("摘要", 128), optional=True),
        Step("content", "正文（可以是 HTML，最多 20000 字）：", _limited("正文", 19_999)),
        Step("cover", "封面：发送一张图片，或写已有图片素材的名称。", _read_cover),
    ),
    finish=_finish_news,
)


async def list_materials(ctx: Ctx) -> Outcome:
    items = await repo.materials(ctx.engine, ctx.account)
    if not items:
        return Outcome.say("还没有素材。发送「素材 添加 <名称>」再发图片即可添加。")
    lines = [f"素材（{len(items)} 个）："]
    for m in items:
        extra = f"：{m['detail'].get('title', '')}" if m["kind"] == "news" else ""
        lines.append(f"· {m['name']}（{KIND_NAMES.get(m['kind'], m['kind'])}{extra}）")
    return Outcome.say("\n".join(lines))


async def _existing(ctx: Ctx) -> dict[str, Any]:
    found = await repo.material(ctx.engine, ctx.account, ctx.args["name"])
    if found is None:
        raise CommandError(f"没有名为「{ctx.args['name']}」的素材。")
    if found["media_id"] in json.dumps(await current(ctx), ensure_ascii=False):
        raise CommandError(
            f"素材「{ctx.args['name']}」还在回复或菜单中使用，先改掉那些地方再删除。"
        )
    return found


async def preview_remove(ctx: Ctx) -> str:
    found = await _existing(ctx)
    where = "永久素材" if found["kind"] == "image" else "草稿"
    return f"将删除素材「{found['name']}」，同时从公众号{where}中删除。"


async def remove(ctx: Ctx) -> Outcome:
    found = await _existing(ctx)
    await ctx.oa.remove_material(found["kind"], found["media_id"])
    await repo.remove_material(ctx.engine, ctx.account, found["name"])
    return Outcome.say(f"已删除素材「{found['name']}」。", detail=f"media_id {found['media_id']}")


def specs() -> list[CommandSpec]:
    name = Param("name", "名称")
    return [
        CommandSpec(
            name="material.image",
            area="素材",
            words=("素材 添加", "material add", "素材 图片"),
            summary="把接下来发送的图片存为永久图片素材",
            run=add_image,
            params=(name,),
            examples=("素材 添加 春季海报",),
            effect="config",
        ),
        CommandSpec(
            name="material.news",
            area="素材",
            words=("素材 图文", "material news"),
            summary="用向导写一篇图文，存入公众号草稿箱",
            run=add_news,
            params=(name,),
            examples=("素材 图文 春季活动介绍",),
            effect="config",
        ),
        CommandSpec(
            name="material.list",
            area="素材",
            words=("素材 列表", "material list", "素材列表"),
            summary="列出素材",
            run=list_materials,
            role="staff",
        ),
        CommandSpec(
            name="material.remove",
            area="素材",
            words=("素材 删除", "material remove"),
            summary="删除素材（仍被使用时拒绝）",
            run=remove,
            params=(name,),
            effect="destructive",
            preview=preview_remove,
        ),
    ]
