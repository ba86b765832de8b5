"""The draft box (§2.6): article limits, covers, paging, and drafts leaving the box."""

from __future__ import annotations

from typing import Any

import pytest

from channels.wechat.sandbox import Limits

from .conftest import AMR, JPEG, png


async def draft(fake: Any, path: str, body: dict[str, Any], name: str = "safe") -> Any:
    return await fake.api("POST", f"/cgi-bin/draft/{path}", name, json=body)


async def material(
    fake: Any, kind: str = "image", data: bytes | None = None, name: str = "safe"
) -> str:
    answer = await fake.upload("/cgi-bin/material/add_material", data or png(), name, type=kind)
    return str(answer["media_id"])


def article(thumb: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"title": "新品上线", "content": "<p>正文</p>", "thumb_media_id": thumb}
    return {k: v for k, v in {**base, **fields}.items() if v is not None}


async def add(fake: Any, *articles: dict[str, Any], name: str = "safe") -> Any:
    return await draft(fake, "add", {"articles": list(articles)}, name)


async def test_add_then_get_returns_the_articles_with_urls(fake: Any) -> None:
    cover = await material(fake)
    body = article(
        cover,
        author="小编",
        content_source_url="https://example.com/src",
        need_open_comment=1,
        pic_crop_1_1="0_0_1_1",
    )
    media_id = (await add(fake, body))["media_id"]
    assert isinstance(media_id, str) and media_id in fake.platform.state("safe").drafts.items
    [item] = (await draft(fake, "get", {"media_id": media_id}))["news_item"]
    assert item["title"] == "新品上线" and item["author"] == "小编"
    assert item["content"] == "<p>正文</p>" and item["thumb_media_id"] == cover
    assert item["content_source_url"] == "https://example.com/src"
    assert item["need_open_comment"] == 1 and item["only_fans_can_comment"] == 0
    assert item["pic_crop_1_1"] == "0_0_1_1" and item["article_type"] == "news"
    assert item["url"].startswith("http://mp.weixin.qq.com/s?")
    assert (await draft(fake, "get", {"media_id": "nope"}))["errcode"] == 40007


async def test_drafts_belong_to_one_account(fake: Any) -> None:
    media_id = (await add(fake, article(await material(fake))))["media_id"]
    assert (await draft(fake, "get", {"media_id": media_id}, "plain"))["errcode"] == 40007
    other_cover = await material(fake, name="plain")
    assert (await add(fake, article(other_cover)))["errcode"] == 40007


async def test_default_digest_is_the_first_54_characters_of_the_text(fake: Any) -> None:
    cover = await material(fake)
    body = "<p><b>春季</b>&amp;" + "字" * 60 + "</p>"
    media_id = (await add(fake, article(cover, content=body)))["media_id"]
    [item] = (await draft(fake, "get", {"media_id": media_id}))["news_item"]
    assert item["digest"] == "春季&" + "字" * 51
    given = (await add(fake, article(cover, content=body, digest="摘要")))["media_id"]
    assert (await draft(fake, "get", {"media_id": given}))["news_item"][0]["digest"] == "摘要"


async def test_digest_is_only_kept_for_single_article_drafts(fake: Any) -> None:
    cover = await material(fake)
    media_id = (await add(fake, article(cover, digest="一"), article(cover, digest="二")))[
        "media_id"
    ]
    items = (await draft(fake, "get", {"media_id": media_id}))["news_item"]
    assert [i["digest"] for i in items] == ["", ""]
    assert [i["title"] for i in items] == ["新品上线", "新品上线"]


async def test_a_draft_holds_1_to_8_articles(fake: Any) -> None:
    cover = await material(fake)
    assert (await add(fake))["errcode"] == 45008
    assert (await add(fake, *[article(cover)] * 9))["errcode"] == 45008
    eight = (await add(fake, *[article(cover, title=f"t{i}") for i in range(8)]))["media_id"]
    assert len((await draft(fake, "get", {"media_id": eight}))["news_item"]) == 8
    assert (await draft(fake, "add", {"articles": article(cover)}))["errcode"] == 47001
    assert (await draft(fake, "add", {}))["errcode"] == 47001
    assert (await draft(fake, "add", {"articles": ["x"]}))["errcode"] == 47001


@pytest.mark.parametrize(
    ("fields", "errcode"),
    [
        ({"title": "标" * 32}, 0),
        ({"title": "标" * 33}, 40097),
        ({"title": ""}, 40097),
        ({"title": None}, 40097),
        ({"title": 7}, 40097),
        ({"author": "作" * 16}, 0),
        ({"author": "作" * 17}, 40097),
        ({"digest": "摘" * 128}, 0),
        ({"digest": "摘" * 129}, 40097),
        ({"content": None}, 40097),
        ({"content": ""}, 40097),
        ({"content": "x" * 19_999}, 0),
        ({"content": "x" * 20_000}, 40097),
        ({"content_source_url": "https://e.com/" + "号" * 336 + "xx"}, 0),  # 1024 bytes
        ({"content_source_url": "https://e.com/" + "号" * 337}, 40097),  # 1025 bytes
        ({"need_open_comment": 1, "only_fans_can_comment": 1}, 0),
        ({"need_open_comment": 2}, 40097),
        ({"need_open_comment": True}, 40097),
        ({"only_fans_can_comment": "1"}, 40097),
        ({"only_fans_can_comment": -1}, 40097),
        ({"article_type": "video"}, 40097),
        ({"pic_crop_235_1": 5}, 40097),
    ],
)
async def test_article_field_limits(fake: Any, fields: dict[str, Any], errcode: int) -> None:
    answer = await add(fake, article(await material(fake), **fields))
    assert answer.get("errcode", 0) == errcode, answer
    assert ("media_id" in answer) is (errcode == 0)


async def test_content_must_stay_below_the_byte_limit(fake_factory: Any) -> None:
    fake = await fake_factory(limits=Limits(draft_content_bytes=100))
    cover = await material(fake)
    assert "media_id" in await add(fake, article(cover, content="号" * 33))  # 99 bytes
    assert (await add(fake, article(cover, content="号" * 34)))["errcode"] == 40097


async def test_news_needs_a_permanent_image_cover(fake: Any) -> None:
    temporary = await fake.upload("/cgi-bin/media/upload", png(), type="image")
    voice = await material(fake, "voice", AMR)
    for thumb in (None, "", "unknown", temporary["media_id"], voice, 12):
        answer = await add(fake, article("x", thumb_media_id=thumb))
        assert answer["errcode"] == 40007, (thumb, answer)
    thumb_material = await material(fake, "thumb", JPEG)
    assert "media_id" in await add(fake, article(thumb_material))
    assert "media_id" in await add(fake, article(await material(fake)))


async def test_newspic_needs_permanent_pictures_and_no_cover(fake: Any) -> None:
    image = await material(fake)
    temporary = (await fake.upload("/cgi-bin/media/upload", png(), type="image"))["media_id"]
    pic = {"article_type": "newspic", "title": "图集", "content": "文字"}
    for info, errcode in (
        (None, 40097),
        ({"image_list": []}, 40097),
        ({"image_list": [{"image_media_id": temporary}]}, 40007),
        ({"image_list": [{"image_media_id": image}, {}]}, 40007),
    ):
        answer = await add(fake, {**pic, "image_info": info})
        assert answer["errcode"] == errcode, (info, answer)
    info = {"image_list": [{"image_media_id": image}]}
    media_id = (await add(fake, {**pic, "image_info": info}))["media_id"]
    [item] = (await draft(fake, "get", {"media_id": media_id}))["news_item"]
    assert item["article_type"] == "newspic" and item["image_info"] == info
    assert item["thumb_media_id"] == ""


async def test_update_replaces_the_article_at_a_0_based_index(fake: Any) -> None:
    cover = await material(fake)
    media_id = (await add(fake, article(cover, title="一"), article(cover, title="二")))["media_id"]
    update = {"media_id": media_id, "index": 1, "articles": article(cover, title="新二")}
    assert (await draft(fake, "update", update))["errcode"] == 0
    items = (await draft(fake, "get", {"media_id": media_id}))["news_item"]
    assert [i["title"] for i in items] == ["一", "新二"]
    for index in (2, -1, "0", None):
        answer = await draft(fake, "update", {**update, "index": index})
        assert answer["errcode"] == 40097, (index, answer)
    bad = await draft(fake, "update", {**update, "articles": article(cover, title="长" * 33)})
    assert bad["errcode"] == 40097
    assert (await draft(fake, "update", {**update, "articles": [article(cover)]}))[
        "errcode"
    ] == 47001
    assert (await draft(fake, "update", {**update, "media_id": "nope"}))["errcode"] == 40007
    items = (await draft(fake, "get", {"media_id": media_id}))["news_item"]
    assert [i["title"] for i in items] == ["一", "新二"]


async def test_update_of_a_single_article_draft_recomputes_the_digest(
    fake: Any, clock: Any
) -> None:
    cover = await material(fake)
    media_id = (await add(fake, article(cover, digest="旧摘要")))["media_id"]
    clock.advance(60)
    new = article(cover, content="<h1>新</h1>正文内容")
    assert (await draft(fake, "update", {"media_id": media_id, "index": 0, "articles": new}))[
        "errcode"
    ] == 0
    assert (await draft(fake, "get", {"media_id": media_id}))["news_item"][0]["digest"] == (
        "新正文内容"
    )
    page = await draft(fake, "batchget", {"offset": 0, "count": 1})
    stored = fake.platform.state("safe").drafts.items[media_id]
    assert page["item"][0]["update_time"] == int(stored.update_time) > int(stored.created_at)


async def test_delete_is_idempotent(fake: Any) -> None:
    media_id = (await add(fake, article(await material(fake))))["media_id"]
    assert (await draft(fake, "count", {}))["total_count"] == 1
    assert (await draft(fake, "delete", {"media_id": media_id}))["errcode"] == 0
    assert (await draft(fake, "get", {"media_id": media_id}))["errcode"] == 40007
    assert (await draft(fake, "delete", {"media_id": media_id}))["errcode"] == 0
    assert (await draft(fake, "count", {}))["total_count"] == 0
    assert (await draft(fake, "delete", {}))["errcode"] == 40007


async def test_batchget_pages_newest_first(fake: Any, clock: Any) -> None:
    cover = await material(fake)
    ids = []
    for title in ("一", "二", "三"):
        ids.append((await add(fake, article(cover, title=title)))["media_id"])
        clock.advance(10)
    page = await draft(fake, "batchget", {"offset": 0, "count": 2})
    assert page["total_count"] == 3 and page["item_count"] == 2
    assert [i["media_id"] for i in page["item"]] == [ids[2], ids[1]]
    assert page["item"][0]["content"]["news_item"][0]["content"] == "<p>正文</p>"
    rest = await draft(fake, "batchget", {"offset": 2, "count": 20, "no_content": 1})
    assert [i["media_id"] for i in rest["item"]] == [ids[0]]
    [item] = rest["item"][0]["content"]["news_item"]
    assert "content" not in item and item["title"] == "一"
    assert (await draft(fake, "batchget", {"offset": 3, "count": 1}))["item"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"offset": 0, "count": 0},
        {"offset": 0, "count": 21},
        {"offset": -1, "count": 1},
        {"offset": "0", "count": 1},
        {"count": 1},
        {"offset": 0, "count": 1, "no_content": 2},
        {"offset": 0, "count": 1, "no_content": True},
    ],
)
async def test_batchget_arguments(fake: Any, body: dict[str, Any]) -> None:
    assert (await draft(fake, "batchget", body))["errcode"] == 40097
    assert (await draft(fake, "batchget", {"offset": 0, "count": 20, "no_content": 0}))[
        "item_count"
    ] == 0


async def test_count_needs_no_body(fake: Any) -> None:
    await add(fake, article(await material(fake)))
    await add(fake, article(await material(fake)))
    assert await fake.api("POST", "/cgi-bin/draft/count") == {"total_count": 2}


async def test_mass_sending_a_draft_takes_it_out_of_the_box(fake: Any) -> None:
    fans = [fake.platform.add_follower("safe", f"oFan{i:024d}") for i in range(2)]
    media_id = (await add(fake, article(await material(fake), title="周报")))["media_id"]
    body = {"msgtype": "mpnews", "mpnews": {"media_id": media_id}, "touser": fans}
    preview = {**body, "touser": fans[0]}
    assert (await fake.api("POST", "/cgi-bin/message/mass/preview", json=preview))["errcode"] == 0
    assert (await draft(fake, "count", {}))["total_count"] == 1  # a preview keeps the draft
    sent = await fake.api(
        "POST", "/cgi-bin/message/mass/send", json={**body, "clientmsgid": "weekly-1"}
    )
    assert sent["errcode"] == 0 and isinstance(sent["msg_data_id"], int)
    assert (await draft(fake, "get", {"media_id": media_id}))["errcode"] == 40007
    assert (await draft(fake, "count", {}))["total_count"] == 0
    seen = fake.platform.timeline("safe", fans[1])[-1]["message"]
    assert seen["type"] == "mpnews" and seen["titles"] == ["周报"]
    retry = await fake.api(
        "POST", "/cgi-bin/message/mass/send", json={**body, "clientmsgid": "weekly-1"}
    )
    assert retry["errcode"] == 45065 and retry["msg_id"] == sent["msg_id"]
    again = await fake.api("POST", "/cgi-bin/message/mass/send", json=body)
    assert again["errcode"] == 40007


async def test_mpnews_mass_sends_need_a_draft_not_a_news_material(fake: Any) -> None:
    legacy = fake.platform.add_media("safe", "news", articles=[{"title": "旧"}])
    body = {"msgtype": "mpnews", "mpnews": {"media_id": legacy}, "filter": {"is_to_all": True}}
    answer = await fake.api("POST", "/cgi-bin/message/mass/sendall", json=body)
    assert answer["errcode"] == 40007
    seeded = fake.platform.add_draft("safe", [{"title": "新"}])
    body["mpnews"] = {"media_id": seeded}
    assert (await fake.api("POST", "/cgi-bin/message/mass/sendall", json=body))["errcode"] == 0
    assert seeded not in fake.platform.state("safe").drafts.items


@pytest.mark.parametrize("path", ["add_news", "update_news"])
async def test_news_material_apis_are_retired(fake: Any, path: str) -> None:
    cover = await material(fake)
    answer = await fake.api(
        "POST", f"/cgi-bin/material/{path}", json={"articles": [article(cover)]}
    )
    assert answer["errcode"] == 45103
    assert answer["errmsg"].startswith("This API has been unsupported")
