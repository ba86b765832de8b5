"""The custom menu: edit the draft (add, edit, move, remove), preview with every platform limit
checked, publish, and roll back to an earlier published version."""

from __future__ import annotations

import secrets
from typing import Any

from handlers import menu as menus
from handlers.commands.base import CommandError, CommandSpec, Ctx, Outcome, Param
from handlers.commands.editing import current, edit, message_from_text, save_document
from handlers.commands.wizard import Answer, Step, Wizard, text_reader
from handlers.commands.words import fold, split_words
from handlers.config import account_config_to_dict
from storage import commands_repo as repo

_TYPES = {
    "点击": "click",
    "click": "click",
    "回复": "click",
    "链接": "view",
    "view": "view",
    "网页": "view",
    "小程序": "miniprogram",
    "miniprogram": "miniprogram",
}


def _kind(word: str) -> str:
    kind = _TYPES.get(fold(word))
    if kind is None:
        raise CommandError("类型写「点击」「链接」或「小程序」（click / view / miniprogram）。")
    return kind


async def _item(ctx: Ctx, name: str, kind: str | None, content: str) -> tuple[dict[str, Any], Any]:
    """The menu item and, for a click item, its reply message."""
    if kind is None:
        return {"name": name}, None
    if kind == "click":
        key = f"MENU_{secrets.token_hex(4).upper()}"
        return {"name": name, "type": "click", "key": key}, await message_from_text(ctx, content)
    words = [w.text for w in split_words(content)]
    if kind == "view":
        if len(words) != 1:
            raise CommandError("链接菜单写一个网址，如 https://example.com/about", usage=True)
        return {"name": name, "type": "view", "url": words[0]}, None
    if len(words) != 3:
        raise CommandError("小程序菜单写：<appid> <页面路径> <备用网址>", usage=True)
    appid, pagepath, url = words
    return {
        "name": name,
        "type": "miniprogram",
        "appid": appid,
        "pagepath": pagepath,
        "url": url,
    }, None


async def _add(ctx: Ctx, path: str, kind: str | None, content: str) -> Outcome:
    name = path.strip("/").rpartition("/")[2]
    item, reply = await _item(ctx, name, kind, content)

    def change(doc: dict[str, Any]) -> None:
        doc["menu"] = menus.add(doc.get("menu", []), path, item)
        if reply is not None:
            doc.setdefault("menu_replies", {})[item["key"]] = [reply]

    before, after = await edit(ctx, change)
    tree = menus.render_tree(after.get("menu", []))
    return Outcome(
        Outcome.say(f"已添加菜单「{path}」。当前草稿：\n{tree}\n发送「菜单 发布」生效。").messages,
        (before, after),
    )


async def add_item(ctx: Ctx) -> Outcome:
    path = ctx.args.get("path")
    if not path:
        return Outcome(wizard=("menu.add", {}), detail="menu item wizard")
    kind_word = ctx.args.get("kind")
    return await _add(
        ctx, path, _kind(kind_word) if kind_word else None, ctx.args.get("content") or ""
    )


async def _read_path(_ctx: Ctx, answer: Answer) -> Any:
    path = answer.text.strip()
    if not path or answer.image:
        raise CommandError("请写菜单路径：一级菜单写名称，子菜单写「上级/名称」。")
    return path


async def _read_kind(_ctx: Ctx, answer: Answer) -> Any:
    return _kind(answer.text)


async def _finish_wizard(ctx: Ctx, values: dict[str, Any]) -> Outcome:
    content = values.get("content", "")
    return await _add(ctx, values["path"], values["kind"], content)


MENU_WIZARD = Wizard(
    name="menu.add",
    title="添加菜单项",
    steps=(
        Step(
            "path",
            "菜单放在哪里、叫什么？一级菜单写名称（如「活动」），子菜单写「上级/名称」。",
            _read_path,
        ),
        Step(
            "kind", "点了以后做什么？回复「点击」（自动回复）、「链接」或「小程序」。", _read_kind
        ),
        Step(
            "content",
            "点击后回复什么？（文字，或「素材:<名称>」）",
            text_reader("回复内容"),
            when=lambda v: v.get("kind") == "click",
        ),
        Step(
            "content",
            "网址是什么？（https:// 开头）",
            text_reader("网址", max_chars=1024),
            when=lambda v: v.get("kind") == "view",
        ),
        Step(
            "content",
            "小程序信息：<appid> <页面路径> <备用网址>，用空格分开。",
            text_reader("小程序信息"),
            when=lambda v: v.get("kind") == "miniprogram",
        ),
    ),
    finish=_finish_wizard,
)


_EDIT_FIELDS = {
    "名称": "name",
    "name": "name",
    "回复": "reply",
    "reply": "reply",
    "链接": "url",
    "url": "url",
    "小程序": "miniprogram",
    "miniprogram": "miniprogram",
}


async def edit_item(ctx: Ctx) -> Outcome:
    path, value = ctx.args["path"], (ctx.args.get("value") or "").strip()
    what = _EDIT_FIELDS.get(fold(ctx.args["field"]))
    if what is None:
        raise CommandError("可以修改：名称、回复、链接、小程序。", usage=True)
    if not value:
        raise CommandError("请写出新的内容。", usage=True)
    doc = await current(ctx)
    try:
        old = menus.get(doc.get("menu", []), path)
    except menus.MenuError as exc:
        raise CommandError(str(exc)) from None
    reply = None
    if what == "name":
        item = {**old, "name": value}
    elif what == "reply":
        if old.get("type") != "click":
            raise CommandError("只有「点击」类型的菜单有回复。")
        item, reply = dict(old), await message_from_text(ctx, value)
    else:
        children = old.get("sub_button")
        if children:
            raise CommandError("上级菜单不能有动作；请改它的子菜单。")
        item, _ = await _item(ctx, old["name"], "view" if what == "url" else "miniprogram", value)

    def change(doc: dict[str, Any]) -> None:
        old_keys = menus.keys(doc.get("menu", []))
        doc["menu"] = menus.replace(doc.get("menu", []), path, item)
        if reply is not None:
            doc.setdefault("menu_replies", {})[item["key"]] = [reply]
        _drop_replies_of_removed_items(doc, old_keys)

    before, after = await edit(ctx, change)
    return Outcome(Outcome.say(f"已修改菜单「{path}」。").messages, (before, after))


def _drop_replies_of_removed_items(doc: dict[str, Any], old_keys: set[str]) -> None:
    """The replies of click items this edit took out of the menu go with them; replies of keys
    the menu never had (imported for a menu made elsewhere) stay."""
    gone = old_keys - menus.keys(doc.get("menu", []))
    replies = doc.get("menu_replies", {})
    doc["menu_replies"] = {k: v for k, v in replies.items() if k not in gone}


async def move_item(ctx: Ctx) -> Outcome:
    path, position = ctx.args["path"], ctx.args["position"]

    def change(doc: dict[str, Any]) -> None:
        doc["menu"] = menus.move(doc.get("menu", []), path, position)

    before, after = await edit(ctx, change)
    tree = menus.render_tree(after.get("menu", []))
    return Outcome(Outcome.say(f"已移动。当前草稿：\n{tree}").messages, (before, after))


async def preview_remove(ctx: Ctx) -> str:
    doc = await current(ctx)
    try:
        item = menus.get(doc.get("menu", []), ctx.args["path"])
    except menus.MenuError as exc:
        raise CommandError(str(exc)) from None
    children = len(item.get("sub_button") or [])
    extra = f"及其 {children} 个子菜单" if children else ""
    return f"将从草稿删除菜单「{ctx.args['path']}」{extra}（发布后才对粉丝生效）。"


async def remove_item(ctx: Ctx) -> Outcome:
    path = ctx.args["path"]

    def change(doc: dict[str, Any]) -> None:
        old_keys = menus.keys(doc.get("menu", []))
        doc["menu"], _removed = menus.remove(doc.get("menu", []), path)
        _drop_replies_of_removed_items(doc, old_keys)

    before, after = await edit(ctx, change)
    return Outcome(Outcome.say(f"已删除菜单「{path}」（草稿）。").messages, (before, after))


async def _published(ctx: Ctx) -> dict[str, Any] | None:
    versions = await repo.menu_versions(ctx.engine, ctx.account, limit=1)
    return versions[0] if versions else None


async def show_menu(ctx: Ctx) -> Outcome:
    draft = (await current(ctx)).get("menu", [])
    latest = await _published(ctx)
    lines = ["菜单草稿：", menus.render_tree(draft)]
    if latest is None:
        lines.append("还没有发布过。")
    else:
        when = latest["published_at"].strftime("%m-%d %H:%M")
        same = "与草稿相同" if latest["buttons"] == draft else "草稿有未发布的改动"
        lines.append(f"已发布：版本 {latest['version']}（{when}，{same}）")
    return Outcome.say("\n".join(lines))


async def _problems(ctx: Ctx, buttons: list[dict[str, Any]]) -> list[str]:
    return ctx.oa.menu_problems(buttons, complete=True)


async def preview_menu(ctx: Ctx) -> Outcome:
    draft = (await current(ctx)).get("menu", [])
    problems = await _problems(ctx, draft)
    lines = ["菜单预览（粉丝将看到）：", menus.render_tree(draft)]
    if problems:
        lines.append("不能发布，因为：")
        lines += [f"· {p}" for p in problems]
    else:
        lines.append("检查通过：符合公众号菜单的全部限制，可以「菜单 发布」。")
    return Outcome.say("\n".join(lines))


async def _audience(ctx: Ctx) -> int:
    return sum(now for _c, now, _t in await repo.followers_by_channel(ctx.engine, ctx.account))


async def preview_publish(ctx: Ctx) -> str:
    draft = (await current(ctx)).get("menu", [])
    problems = await _problems(ctx, draft)
    if problems:
        raise CommandError("菜单不能发布：\n" + "\n".join(f"· {p}" for p in problems))
    return (
        f"将把以下菜单发布到公众号「{ctx.account}」，全部 {await _audience(ctx)} 位粉丝"
        f"下次打开公众号时看到：\n{menus.render_tree(draft)}"
    )


async def _publish(ctx: Ctx, buttons: list[dict[str, Any]]) -> int:
    problems = await _problems(ctx, buttons)
    if problems:
        raise CommandError("菜单不能发布：\n" + "\n".join(f"· {p}" for p in problems))
    await ctx.progress("正在发布菜单…")
    await ctx.oa.publish_menu(buttons)
    return await repo.add_menu_version(ctx.engine, ctx.account, buttons, ctx.caller.person)


async def publish_menu(ctx: Ctx) -> Outcome:
    draft = (await current(ctx)).get("menu", [])
    version = await _publish(ctx, draft)
    return Outcome.say(
        f"菜单已发布（版本 {version}）。", detail=f"published menu version {version}"
    )


async def list_versions(ctx: Ctx) -> Outcome:
    versions = await repo.menu_versions(ctx.engine, ctx.account)
    if not versions:
        return Outcome.say("还没有发布过菜单。")
    lines = ["已发布的菜单版本（新的在前）："]
    for v in versions:
        names = "、".join(b["name"] for b in v["buttons"])
        when = v["published_at"].strftime("%m-%d %H:%M")
        lines.append(f"· 版本 {v['version']}（{when}，{v['published_by']}）：{names}")
    lines.append("回滚：菜单 回滚 <版本>")
    return Outcome.say("\n".join(lines))


async def _version(ctx: Ctx) -> dict[str, Any]:
    wanted = ctx.args["version"]
    for v in await repo.menu_versions(ctx.engine, ctx.account, limit=1000):
        if v["version"] == wanted:
            return v
    raise CommandError(f"没有版本 {wanted}。发送「菜单 版本」查看。")


async def preview_rollback(ctx: Ctx) -> str:
    v = await _version(ctx)
    return (
        f"将把公众号菜单回滚到版本 {v['version']}（{await _audience(ctx)} 位粉丝可见），"
        f"草稿也改成这个版本：\n{menus.render_tree(v['buttons'])}"
    )


async def rollback(ctx: Ctx) -> Outcome:
    v = await _version(ctx)
    before = await current(ctx)
    document = {**before, "menu": v["buttons"]}
    version = await _publish(ctx, v["buttons"])
    config = await save_document(ctx, document)
    return Outcome(
        Outcome.say(f"已回滚到版本 {v['version']} 的菜单（发布为版本 {version}）。").messages,
        (before, account_config_to_dict(config)),
        detail=f"rolled back to menu version {v['version']}",
    )


def specs() -> list[CommandSpec]:
    path = Param("path", "路径")
    return [
        CommandSpec(
            name="menu.show",
            area="菜单",
            words=("菜单 查看", "menu show", "菜单"),
            summary="看菜单草稿和已发布的版本",
            run=show_menu,
        ),
        CommandSpec(
            name="menu.add",
            area="菜单",
            words=("菜单 添加", "menu add"),
            summary="添加菜单项（不带参数则用向导）；类型：点击、链接、小程序",
            run=add_item,
            params=(
                Param("path", "路径", required=False),
                Param("kind", "点击|链接|小程序", required=False),
                Param("content", "内容", "rest", required=False),
            ),
            examples=(
                "菜单 添加 活动 点击 本周活动：满100减20",
                "菜单 添加 服务",
                "菜单 添加 服务/官网 链接 https://example.com",
                "菜单 添加 服务/商城 小程序 wx1234567890abcdef pages/index/index https://example.com",
                "菜单 添加",
            ),
            effect="config",
        ),
        CommandSpec(
            name="menu.edit",
            area="菜单",
            words=("菜单 修改", "menu edit"),
            summary="修改菜单项的名称、回复、链接或小程序",
            run=edit_item,
            params=(
                path,
                Param("field", "名称|回复|链接|小程序"),
                Param("value", "新内容", "rest"),
            ),
            examples=(
                "菜单 修改 活动 名称 本周活动",
                "菜单 修改 服务/官网 链接 https://example.com/new",
            ),
            effect="config",
        ),
        CommandSpec(
            name="menu.move",
            area="菜单",
            words=("菜单 移动", "menu move"),
            summary="把菜单项移到同级的第几个位置",
            run=move_item,
            params=(path, Param("position", "位置", "int")),
            examples=("菜单 移动 服务 1",),
            effect="config",
        ),
        CommandSpec(
            name="menu.remove",
            area="菜单",
            words=("菜单 删除", "menu remove"),
            summary="从草稿删除菜单项",
            run=remove_item,
            params=(path,),
            examples=("菜单 删除 服务/官网",),
            effect="destructive",
            preview=preview_remove,
        ),
        CommandSpec(
            name="menu.preview",
            area="菜单",
            words=("菜单 预览", "menu preview"),
            summary="预览并检查菜单是否符合平台限制",
            run=preview_menu,
        ),
        CommandSpec(
            name="menu.publish",
            area="菜单",
            words=("菜单 发布", "menu publish"),
            summary="把草稿发布到公众号",
            run=publish_menu,
            effect="customers",
            preview=preview_publish,
        ),
        CommandSpec(
            name="menu.versions",
            area="菜单",
            words=("菜单 版本", "menu versions"),
            summary="列出已发布的版本",
            run=list_versions,
        ),
        CommandSpec(
            name="menu.rollback",
            area="菜单",
            words=("菜单 回滚", "menu rollback"),
            summary="把公众号菜单回滚到以前发布的版本",
            run=rollback,
            params=(Param("version", "版本", "int"),),
            examples=("菜单 回滚 1",),
            effect="customers",
            preview=preview_rollback,
        ),
    ]
