"""话术: the enterprise script library in the staff chat.

Staff search (``话术 <关键词>``), get numbered results, and reply with a number to receive the
script in a form they can forward; favourites, recently used and browsing by category work the
same way. Admins add (a wizard, or ``存为话术`` on the message they sent just before), edit, move,
remove, import and export shared scripts; anyone may keep personal scripts only they can see.

A script is named by a number from the last list shown (kept per person for a while), by
``#<id>``, or by its shortcode.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from handlers.commands.base import CommandError, CommandSpec, Ctx, Outcome, Param
from handlers.commands.wizard import Answer, Step, Wizard, text_reader
from handlers.commands.words import fold
from handlers.messages import Text
from scripts_library.library import Found, as_draft
from scripts_library.model import (
    FIELD_BY_LABEL,
    FIELDS,
    KIND_BY_NAME,
    KINDS,
    MAX_CATEGORY,
    MAX_CATEGORY_DEPTH,
    MAX_TITLE,
    MEDIA_FIELDS,
    Draft,
    Script,
    ScriptError,
    chat_messages,
    check_draft,
    check_template,
    context,
    normalize_category,
    normalize_tags,
)
from scripts_library.transfer import ImportProblems, export_csv, export_json, parse
from storage import commands_repo as repo

PICK = "pick"  # pending kind: the last numbered list shown to a person
HELD = "held"  # pending kind: the last message a person sent that was not a command
RESULTS = 10
SHANGHAI = ZoneInfo("Asia/Shanghai")
EXPORT_CHUNK = 1800  # characters per exported message (WeCom texts are limited to 2048 bytes)
MAX_EXPORT_MESSAGES = 10
MAX_IMPORT_CHARS = 200_000
MAX_MEDIA_BYTES = 10 * 1024 * 1024
CLEAR_WORDS = frozenset({"无", "none", "清空"})
SHARED_WORDS = frozenset({"共享", "shared", "公共"})
PERSONAL_WORDS = frozenset({"个人", "personal", "私人"})

Run = Callable[[Ctx], Awaitable[Outcome]]


def _friendly(run: Run) -> Run:
    """Script rule breaches reach the person as a command refusal."""

    @functools.wraps(run)
    async def wrapped(ctx: Ctx) -> Outcome:
        try:
            return await run(ctx)
        except ScriptError as exc:
            raise CommandError(str(exc)) from None

    return wrapped


# Lists and references


def _preview(script: Script) -> str:
    body = script.body
    text = body.get("text") or body.get("description") or body.get("url") or body.get("page") or ""
    text = re.sub(r"\s+", " ", text).strip()
    return text[:40] + ("…" if len(text) > 40 else "")


async def _show(ctx: Ctx, title: str, scripts: list[Script], whys: list[str] | None = None) -> str:
    await repo.put_pending(
        ctx.engine,
        repo.Pending(
            ctx.caller.person,
            PICK,
            ctx.caller.chat,
            "script.pick",
            {"ids": [s.id for s in scripts]},
            ctx.services.clock() + timedelta(minutes=ctx.services.limits.wizard_minutes),
        ),
    )
    lines = [title]
    for number, script in enumerate(scripts, start=1):
        why = f" · 匹配{whys[number - 1]}" if whys else ""
        lines.append(f"{number}. {script.describe()}{why}")
        preview = _preview(script)
        if preview:
            lines.append(f"   {preview}")
    lines.append("回复序号即可收到这条话术，转发给客户；「收藏 <序号>」加入收藏。")
    return "\n".join(lines)


async def _resolve(ctx: Ctx, ref: str) -> Script:
    ref = fold(ref).strip()
    viewer = ctx.caller.person
    script_id: int | None = None
    if re.fullmatch(r"[0-9]{1,3}", ref):
        pick = await repo.get_pending(ctx.engine, viewer, PICK)
        if pick is None or pick.expires_at <= ctx.services.clock():
            raise CommandError("没有可选的列表了：先搜索，例如「话术 退款」，再回复序号。")
        ids = list(pick.data.get("ids", []))
        number = int(ref)
        if not 1 <= number <= len(ids):
            raise CommandError(f"序号要在 1 到 {len(ids)} 之间。")
        script_id = int(ids[number - 1])
    elif re.fullmatch(r"#[0-9]{1,9}", ref):
        script_id = int(ref[1:])
    else:
        found = await ctx.library.by_shortcode(ctx.account, ref, viewer)
        if found is None:
            raise CommandError(f"没有快捷码是「{ref}」的话术。")
        return found
    script = await ctx.library.get(ctx.account, script_id, viewer)
    if script is None:
        raise CommandError("这条话术已经不存在了（或只有它的主人能看到）。")
    return script


def _can_change(ctx: Ctx, script: Script) -> None:
    if script.owner:
        if script.owner != ctx.caller.person:
            raise CommandError("这是别人的个人话术，你不能修改。")
    elif not ctx.caller.has("admin"):
        raise CommandError("共享话术只有管理员能修改；你可以添加自己的个人话术。")


def _staff(ctx: Ctx) -> dict[str, str]:
    return {"name": ctx.caller.name or ctx.caller.user, "userid": ctx.caller.user}


# Staff: find and send


@_friendly
async def search(ctx: Ctx) -> Outcome:
    query = str(ctx.args["words"]).strip()
    found: list[Found] = await ctx.library.search(
        ctx.account, query, ctx.caller.person, limit=RESULTS
    )
    if not found:
        return Outcome.say(
            f"没有找到与「{query}」相关的话术。换个词试试，或发送「话术 分类」浏览。"
        )
    text = await _show(
        ctx,
        f"「{query}」找到 {len(found)} 条：",
        [f.script for f in found],
        [f.why for f in found],
    )
    return Outcome.say(text, detail=f"{len(found)} found")


@_friendly
async def send(ctx: Ctx) -> Outcome:
    script = await _resolve(ctx, str(ctx.args["ref"]))
    variables = context(None, _staff(ctx))
    messages = chat_messages(script, variables, ctx.services.file_url)
    await ctx.library.record_use(ctx.account, script, ctx.caller.person, "chat")
    return Outcome(messages, detail=f"script {script.id}")


@_friendly
async def show(ctx: Ctx) -> Outcome:
    s = await _resolve(ctx, str(ctx.args["ref"]))
    lines = [
        f"#{s.id} {s.title}",
        f"类型：{KINDS[s.kind]}　快捷码：{s.shortcode or '无'}",
        f"分类：{s.category or '未分类'}　标签：{'、'.join(s.tags) or '无'}",
        f"范围：{'个人' if s.owner else '共享'}　使用次数：{s.usage}",
    ]
    if s.created_at is not None:
        when = s.created_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        lines.append(f"创建：{s.created_by.rsplit(':', 1)[-1] or '未知'}，{when}")
    labels = {key: label for key, label, _ in FIELDS[s.kind]}
    lines += [f"{labels.get(k, k)}：{v}" for k, v in s.body.items()]
    return Outcome.say("\n".join(lines))


@_friendly
async def browse(ctx: Ctx) -> Outcome:
    path = normalize_category(str(ctx.args.get("path") or ""))
    if path:
        scripts = await ctx.library.in_category(ctx.account, path, ctx.caller.person)
        if not scripts:
            return Outcome.say(f"分类「{path}」里还没有话术。")
        return Outcome.say(await _show(ctx, f"【{path}】{len(scripts)} 条：", scripts[:30]))
    categories = sorted((await ctx.library.categories(ctx.account, ctx.caller.person)).values())
    if not categories:
        return Outcome.say("还没有分类。管理员可发送「话术 分类 添加 <路径>」，如「售后/退款」。")
    lines = ["话术分类（发送「话术 分类 <路径>」查看其中的话术）："]
    lines += ["　" * p.count("/") + "· " + p.rsplit("/", 1)[-1] for p in categories]
    return Outcome.say("\n".join(lines))


@_friendly
async def favourite(ctx: Ctx) -> Outcome:
    script = await _resolve(ctx, str(ctx.args["ref"]))
    changed = await ctx.library.set_favourite(ctx.caller.person, script, True)
    said = "已收藏" if changed else "已经在收藏里了"
    return Outcome.say(f"{said}：{script.title}。发送「我的收藏」查看。")


@_friendly
async def unfavourite(ctx: Ctx) -> Outcome:
    script = await _resolve(ctx, str(ctx.args["ref"]))
    changed = await ctx.library.set_favourite(ctx.caller.person, script, False)
    return Outcome.say(f"已取消收藏：{script.title}。" if changed else "它不在你的收藏里。")


@_friendly
async def favourites(ctx: Ctx) -> Outcome:
    scripts = await ctx.library.favourites(ctx.account, ctx.caller.person)
    if not scripts:
        return Outcome.say("收藏是空的。搜索后发送「收藏 <序号>」即可收藏。")
    return Outcome.say(await _show(ctx, f"我的收藏（{len(scripts)} 条）：", scripts[:30]))


@_friendly
async def recent(ctx: Ctx) -> Outcome:
    scripts = await ctx.library.recent(ctx.account, ctx.caller.person, RESULTS)
    if not scripts:
        return Outcome.say("最近没有发送过话术。")
    return Outcome.say(await _show(ctx, "最近使用：", scripts))


# Adding: the wizard and "save this"


def _owner(ctx: Ctx, scope: str | None) -> str:
    """ "" (shared) for an admin unless they ask for a personal one; staff keep personal ones."""
    if not ctx.caller.has("admin"):
        return ctx.caller.person
    return ctx.caller.person if scope and fold(scope) in PERSONAL_WORDS else ""


async def _media(ctx: Ctx, answer: Answer, label: str) -> str:
    if answer.image and label == "视频":
        raise CommandError("视频请发送 MP4 的 http(s) 链接（聊天里发来的图片不能当视频）。")
    if answer.image:
        await ctx.progress("收到，正在保存…")
        data = await ctx.services.media.fetch_image(
            ctx.caller.platform, ctx.caller.account, answer.image
        )
        if len(data) > MAX_MEDIA_BYTES:
            raise CommandError(f"{label}超过 10 MB。")
        return await ctx.library.keep_file(_content_type(data), data)
    text = answer.text.strip()
    if not re.fullmatch(r"https?://\S+", text):
        raise CommandError(f"请直接发送{label}，或发送以 http(s):// 开头的链接。")
    return text


def _content_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"GIF8"):
        return "image/gif"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    return "image/jpeg"


def _media_reader(label: str) -> Callable[[Ctx, Answer], Awaitable[Any]]:
    async def read(ctx: Ctx, answer: Answer) -> Any:
        return await _media(ctx, answer, label)

    return read


async def _read_shortcode(_ctx: Ctx, answer: Answer) -> Any:
    return answer.text.strip().lower()


async def _read_tags(_ctx: Ctx, answer: Answer) -> Any:
    return list(normalize_tags(answer.text))


async def _read_category(_ctx: Ctx, answer: Answer) -> Any:
    return normalize_category(answer.text)


def _kind_is(*kinds: str) -> Callable[[dict[str, Any]], bool]:
    def when(values: dict[str, Any]) -> bool:
        return values.get("kind") in kinds

    return when


@_friendly
async def add(ctx: Ctx) -> Outcome:
    kind = KIND_BY_NAME.get(fold(str(ctx.args["kind"])))
    if kind is None:
        raise CommandError(f"话术类型可选：{'、'.join(KINDS.values())}。")
    title = str(ctx.args["title"]).strip()
    if not title or len(title) > MAX_TITLE:
        raise CommandError(f"标题是 1 到 {MAX_TITLE} 个字。")
    values = {"kind": kind, "title": title, "admin": ctx.caller.has("admin")}
    return Outcome(wizard=("script.add", values), detail=f"{kind} script {title}")


async def _finish_add(ctx: Ctx, values: dict[str, Any]) -> Outcome:
    kind = values["kind"]
    body = {key: values[key] for key, _, _ in FIELDS[kind] if values.get(key)}
    if kind in ("link", "miniprogram") and values.get("card_title"):
        body["title"] = values["card_title"]
    draft = Draft(
        title=values["title"],
        kind=kind,
        body=body,
        shortcode=values.get("shortcode") or "",
        tags=tuple(values.get("tags") or ()),
        owner=_owner(ctx, values.get("scope")),
        category=values.get("category") or "",
    )
    try:
        script = await ctx.library.add(ctx.account, draft, ctx.caller.person)
    except ScriptError as exc:
        raise CommandError(f"{exc}\n没有保存，请重新发送「话术 添加」。") from None
    return Outcome.say(_saved(script), detail=f"script {script.id}")


def _saved(script: Script) -> str:
    code = f"，快捷码 {script.shortcode}" if script.shortcode else ""
    scope = "个人话术（只有你能看到）" if script.owner else "共享话术"
    return f"已保存{scope} #{script.id}「{script.title}」{code}。"


async def _read_text(ctx: Ctx, answer: Answer) -> Any:
    text = await text_reader("话术内容", max_chars=4000)(ctx, answer)
    try:
        check_template(text)
    except ScriptError as exc:
        raise CommandError(str(exc)) from None
    return text


async def _read_scope(_ctx: Ctx, answer: Answer) -> Any:
    word = fold(answer.text)
    if word not in SHARED_WORDS | PERSONAL_WORDS:
        raise CommandError("请回复「共享」或「个人」。")
    return word


ADD_WIZARD = Wizard(
    name="script.add",
    title="添加话术",
    steps=(
        Step(
            "text",
            "话术内容是什么？可以用 {{ customer.name }}（客户称呼）"
            "和 {{ staff.name }}（你的名字）。",
            _read_text,
            when=_kind_is("text"),
        ),
        Step(
            "image", "请发送这张图片（或图片链接）。", _media_reader("图片"), when=_kind_is("image")
        ),
        Step(
            "url",
            "链接地址（http:// 或 https://）？",
            text_reader("链接", max_chars=1024),
            when=_kind_is("link"),
        ),
        Step(
            "appid",
            "小程序 AppID（wx 开头）？",
            text_reader("AppID", max_chars=18),
            when=_kind_is("miniprogram"),
        ),
        Step(
            "page",
            "小程序页面路径（如 pages/index/index）？",
            text_reader("页面路径", max_chars=256),
            when=_kind_is("miniprogram"),
        ),
        Step(
            "card_title",
            "卡片标题？（不填则用话术标题）",
            text_reader("卡片标题", max_chars=64),
            optional=True,
            when=_kind_is("link", "miniprogram"),
        ),
        Step(
            "description",
            "描述（卡片上的摘要）？",
            text_reader("描述", max_chars=256),
            optional=True,
            when=_kind_is("link", "video"),
        ),
        Step(
            "cover",
            "封面：发送一张图片，或图片链接。",
            _media_reader("封面"),
            optional=True,
            when=_kind_is("link"),
        ),
        Step(
            "cover",
            "封面（小程序卡片必须有）：发送一张图片，或图片链接。",
            _media_reader("封面"),
            when=_kind_is("miniprogram"),
        ),
        Step(
            "video", "视频链接（MP4，http(s)://）？", _media_reader("视频"), when=_kind_is("video")
        ),
        Step(
            "shortcode",
            "快捷码？（字母数字，如 tk01，搜索时输入它最快）",
            _read_shortcode,
            optional=True,
        ),
        Step("category", "分类？（如 售后/退款）", _read_category, optional=True),
        Step("tags", "标签？（用逗号分隔）", _read_tags, optional=True),
        Step(
            "scope",
            "共享给所有人，还是只给你自己？（回复「共享」或「个人」）",
            _read_scope,
            optional=True,
            when=lambda values: bool(values.get("admin")),
        ),
    ),
    finish=_finish_add,
)


@_friendly
async def save_held(ctx: Ctx) -> Outcome:
    held = await repo.get_pending(ctx.engine, ctx.caller.person, HELD)
    if held is None or held.expires_at <= ctx.services.clock():
        raise CommandError(
            "没有可保存的消息：先把要保存的文字或图片发给我（或转发给我），"
            "再发送「存为话术 <标题>」。"
        )
    title = str(ctx.args["title"]).strip()
    image = str(held.data.get("image") or "")
    if image:
        check_draft(Draft(title, "image", {"image": "file:" + "0" * 64}))  # before fetching it
        data = await ctx.services.media.fetch_image(ctx.caller.platform, ctx.caller.account, image)
        if len(data) > MAX_MEDIA_BYTES:
            raise CommandError("图片超过 10 MB。")
        ref = await ctx.library.keep_file(_content_type(data), data)
        draft = Draft(title, "image", {"image": ref}, owner=_owner(ctx, None))
    else:
        draft = Draft(
            title, "text", {"text": str(held.data.get("text") or "")}, owner=_owner(ctx, None)
        )
    script = await ctx.library.add(ctx.account, draft, ctx.caller.person)
    await repo.take_pending(ctx.engine, ctx.caller.person, HELD)  # only once it is saved
    return Outcome.say(
        _saved(script) + "\n可用「话术 修改」补上快捷码、分类和标签。", detail=f"script {script.id}"
    )


# Changing


@_friendly
async def edit(ctx: Ctx) -> Outcome:
    script = await _resolve(ctx, str(ctx.args["ref"]))
    _can_change(ctx, script)
    label = str(ctx.args["field"]).strip()
    value = str(ctx.args["value"]).strip()
    clear = fold(value) in CLEAR_WORDS
    changes: dict[str, Any] = {}
    if label in ("标题", "title"):
        changes["title"] = value
    elif label in ("快捷码", "shortcode"):
        changes["shortcode"] = "" if clear else value.lower()
    elif label in ("标签", "tags"):
        changes["tags"] = () if clear else normalize_tags(value)
    elif label in ("分类", "category"):
        changes["category"] = "" if clear else normalize_category(value)
    else:
        key = FIELD_BY_LABEL.get(label, label.lower())
        allowed = {k: lbl for k, lbl, _ in FIELDS[script.kind]}
        if key not in allowed:
            names = "、".join(["标题", "快捷码", "标签", "分类", *allowed.values()])
            raise CommandError(f"{KINDS[script.kind]}话术可以修改：{names}。")
        body = dict(script.body)
        if clear:
            body.pop(key, None)
        elif key in MEDIA_FIELDS and not re.fullmatch(r"https?://\S+", value):
            raise CommandError(f"「{allowed[key]}」要写 http(s) 链接。")
        else:
            body[key] = value
        changes["body"] = body
    updated = await ctx.library.update(
        ctx.account, script, as_draft(script, **changes), ctx.caller.person
    )
    return Outcome.say(f"已修改 #{updated.id}「{updated.title}」的{label}。", detail=label)


@_friendly
async def move(ctx: Ctx) -> Outcome:
    script = await _resolve(ctx, str(ctx.args["ref"]))
    _can_change(ctx, script)
    raw = str(ctx.args["path"])
    path = "" if fold(raw) in CLEAR_WORDS else normalize_category(raw)
    await ctx.library.update(
        ctx.account, script, as_draft(script, category=path), ctx.caller.person
    )
    where = f"「{path}」" if path else "未分类"
    return Outcome.say(f"已把「{script.title}」移到{where}。", detail=path)


async def _removable(ctx: Ctx) -> Script:
    try:
        script = await _resolve(ctx, str(ctx.args["ref"]))
    except ScriptError as exc:
        raise CommandError(str(exc)) from None
    _can_change(ctx, script)
    return script


async def preview_remove(ctx: Ctx) -> str:
    script = await _removable(ctx)
    ctx.args["ref"] = f"#{script.id}"  # what is confirmed is the script shown, whatever lists come
    return f"将删除话术 #{script.id}「{script.title}」（已使用 {script.usage} 次），不能撤销。"


@_friendly
async def remove(ctx: Ctx) -> Outcome:
    script = await _removable(ctx)
    await ctx.library.remove(ctx.account, script)
    return Outcome.say(f"已删除话术「{script.title}」。", detail=f"script {script.id}")


@_friendly
async def add_category(ctx: Ctx) -> Outcome:
    path = normalize_category(str(ctx.args["path"]))
    if not path or len(path) > MAX_CATEGORY or path.count("/") >= MAX_CATEGORY_DEPTH:
        raise CommandError(f"分类路径最多 {MAX_CATEGORY_DEPTH} 层，用 / 分隔，如「售后/退款」。")
    created = await ctx.library.add_category(ctx.account, path)
    return Outcome.say(f"已添加分类「{path}」。" if created else f"分类「{path}」已经有了。")


@_friendly
async def remove_category(ctx: Ctx) -> Outcome:
    path = normalize_category(str(ctx.args["path"]))
    await ctx.library.remove_category(ctx.account, path)
    return Outcome.say(f"已删除分类「{path}」。")


# Import and export


@_friendly
async def start_import(ctx: Ctx) -> Outcome:
    return Outcome(wizard=("script.import", {}), detail="import")


async def _read_import(ctx: Ctx, answer: Answer) -> Any:
    text = answer.text.strip()
    if answer.image or not text:
        raise CommandError("请粘贴 CSV 或 JSON 文本。")
    if len(text) > MAX_IMPORT_CHARS:
        raise CommandError(f"一次最多 {MAX_IMPORT_CHARS} 个字，大文件请用命令行 opsbot scripts。")
    return text


async def _finish_import(ctx: Ctx, values: dict[str, Any]) -> Outcome:
    try:
        drafts = parse(values["data"])
    except ImportProblems as exc:
        raise CommandError(f"导入被拒绝，什么都没有保存：\n{exc.describe()}") from None
    try:
        ids = await ctx.library.import_all(ctx.account, drafts, ctx.caller.person)
    except ScriptError as exc:
        raise CommandError(f"导入被拒绝，什么都没有保存：{exc}") from None
    return Outcome.say(f"已导入 {len(ids)} 条话术。", detail=f"{len(ids)} imported")


IMPORT_WIZARD = Wizard(
    name="script.import",
    title="导入话术",
    steps=(
        Step(
            "data",
            "请粘贴 CSV（第一行是表头：标题,类型,快捷码,分类,标签,内容,…）或 JSON。"
            "有一行不对就整批不导入，并告诉你是哪一行。",
            _read_import,
        ),
    ),
    finish=_finish_import,
)


@_friendly
async def export(ctx: Ctx) -> Outcome:
    form = fold(str(ctx.args.get("form") or "csv"))
    if form not in ("csv", "json"):
        raise CommandError("导出格式可选 csv 或 json。")
    scripts = await ctx.library.all(ctx.account)
    if not scripts:
        return Outcome.say("还没有共享话术可以导出。")
    text = export_csv(scripts) if form == "csv" else export_json(scripts)
    chunks = [text[i : i + EXPORT_CHUNK] for i in range(0, len(text), EXPORT_CHUNK)]
    if len(chunks) > MAX_EXPORT_MESSAGES:
        return Outcome.say(
            f"共 {len(scripts)} 条，太长了，聊天里放不下。请在服务器上运行：\n"
            f"opsbot scripts export --account {ctx.account} --format {form} 文件名"
        )
    head = Text(f"共享话术 {len(scripts)} 条（{form.upper()}，分 {len(chunks)} 条消息）：")
    return Outcome([head, *(Text(c) for c in chunks)], detail=f"{len(scripts)} exported")


def specs() -> list[CommandSpec]:
    ref = Param("ref", "序号或快捷码")
    return [
        CommandSpec(
            name="script.search",
            area="话术",
            words=("话术", "script", "搜话术"),
            summary="搜索话术；回复序号收到话术后转发给客户",
            run=search,
            params=(Param("words", "关键词", "rest"),),
            examples=("话术 退款", "话术 tk01", "script refund"),
            role="staff",
        ),
        CommandSpec(
            name="script.send",
            area="话术",
            words=("发送话术", "script send", "话术 发送"),
            summary="收到一条话术（也可以直接回复序号）",
            run=send,
            params=(ref,),
            examples=("发送话术 2", "发送话术 tk01", "发送话术 #15"),
            role="staff",
        ),
        CommandSpec(
            name="script.show",
            area="话术",
            words=("话术 查看", "script show"),
            summary="看一条话术的全部内容",
            run=show,
            params=(ref,),
            examples=("话术 查看 1",),
            role="staff",
        ),
        CommandSpec(
            name="script.browse",
            area="话术",
            words=("话术 分类", "script browse", "话术分类"),
            summary="浏览分类，或看一个分类里的话术",
            run=browse,
            params=(Param("path", "分类路径", "rest", required=False),),
            examples=("话术 分类", "话术 分类 售后/退款"),
            role="staff",
        ),
        CommandSpec(
            name="script.favourite",
            area="话术",
            words=("收藏", "script fav", "话术 收藏"),
            summary="收藏一条话术",
            run=favourite,
            params=(ref,),
            examples=("收藏 1",),
            role="staff",
        ),
        CommandSpec(
            name="script.unfavourite",
            area="话术",
            words=("取消收藏", "script unfav"),
            summary="从收藏中去掉",
            run=unfavourite,
            params=(ref,),
            role="staff",
        ),
        CommandSpec(
            name="script.favourites",
            area="话术",
            words=("我的收藏", "script favs", "话术 收藏夹"),
            summary="看收藏的话术",
            run=favourites,
            role="staff",
        ),
        CommandSpec(
            name="script.recent",
            area="话术",
            words=("最近使用", "script recent", "话术 最近"),
            summary="看最近发送过的话术",
            run=recent,
            role="staff",
        ),
        CommandSpec(
            name="script.add",
            area="话术",
            words=("话术 添加", "script add"),
            summary="用向导添加话术（员工添加的是个人话术）",
            run=add,
            params=(Param("kind", "类型"), Param("title", "标题", "rest")),
            examples=("话术 添加 文本 退款流程", "话术 添加 链接 会员权益介绍"),
            role="staff",
            effect="config",
        ),
        CommandSpec(
            name="script.save",
            area="话术",
            words=("存为话术", "script save"),
            summary="把你刚发给我（或转发给我）的文字或图片存为话术",
            run=save_held,
            params=(Param("title", "标题", "rest"),),
            examples=("存为话术 发货时间说明",),
            role="staff",
            effect="config",
        ),
        CommandSpec(
            name="script.edit",
            area="话术",
            words=("话术 修改", "script edit"),
            summary="修改话术的一个字段（写「无」清空）",
            run=edit,
            params=(ref, Param("field", "字段"), Param("value", "新内容", "rest")),
            examples=("话术 修改 1 快捷码 tk02", "话术 修改 #15 内容 您好 {{ customer.name }}"),
            role="staff",
            effect="config",
        ),
        CommandSpec(
            name="script.move",
            area="话术",
            words=("话术 移动", "script move"),
            summary="把话术移到另一个分类（写「无」取消分类）",
            run=move,
            params=(ref, Param("path", "分类路径", "rest")),
            examples=("话术 移动 1 售后/退款",),
            role="staff",
            effect="config",
        ),
        CommandSpec(
            name="script.remove",
            area="话术",
            words=("话术 删除", "script remove"),
            summary="删除话术",
            run=remove,
            params=(ref,),
            role="staff",
            effect="destructive",
            preview=preview_remove,
        ),
        CommandSpec(
            name="script.category.add",
            area="话术",
            words=("话术 分类 添加", "script category add"),
            summary="添加分类（可多层，用 / 分隔）",
            run=add_category,
            params=(Param("path", "分类路径", "rest"),),
            examples=("话术 分类 添加 售后/退款",),
            effect="config",
        ),
        CommandSpec(
            name="script.category.remove",
            area="话术",
            words=("话术 分类 删除", "script category remove"),
            summary="删除空的分类",
            run=remove_category,
            params=(Param("path", "分类路径", "rest"),),
            effect="config",
        ),
        CommandSpec(
            name="script.import",
            area="话术",
            words=("话术 导入", "script import"),
            summary="粘贴 CSV 或 JSON 批量导入共享话术（一行不对整批不导入）",
            run=start_import,
            effect="config",
        ),
        CommandSpec(
            name="script.export",
            area="话术",
            words=("话术 导出", "script export"),
            summary="导出共享话术（CSV 或 JSON）",
            run=export,
            params=(Param("form", "csv|json", required=False),),
            examples=("话术 导出", "话术 导出 json"),
        ),
    ]


def wizards() -> list[Wizard]:
    return [ADD_WIZARD, IMPORT_WIZARD]
