"""Users (§2.8): info, batchget and paged follower lists."""

from __future__ import annotations

from typing import Any


async def test_info_of_followers_and_unfollowers(fake: Any) -> None:
    await fake.act("safe", "oFan", "follow")
    info = await fake.api("GET", "/cgi-bin/user/info", params={"openid": "oFan", "lang": "zh_CN"})
    assert info["subscribe"] == 1 and info["subscribe_scene"] == "ADD_SCENE_SEARCH"
    assert "nickname" not in info and isinstance(info["subscribe_time"], int)
    await fake.act("safe", "oFan", "unfollow")
    info = await fake.api("GET", "/cgi-bin/user/info", params={"openid": "oFan"})
    assert info == {"subscribe": 0, "openid": "oFan"}
    unknown = await fake.api("GET", "/cgi-bin/user/info", params={"openid": "oNobody"})
    assert unknown["errcode"] == 40003


async def test_batchget_takes_up_to_100(fake: Any) -> None:
    ids = [fake.platform.add_follower("safe") for _ in range(101)]
    path = "/cgi-bin/user/info/batchget"
    ok = await fake.api("POST", path, json={"user_list": [{"openid": o} for o in ids[:100]]})
    assert [u["openid"] for u in ok["user_info_list"]] == ids[:100]
    too_many = await fake.api("POST", path, json={"user_list": [{"openid": o} for o in ids]})
    assert too_many["errcode"] == 40032
    assert (await fake.api("POST", path, json={"user_list": []}))["errcode"] == 40032


async def test_user_get_pages_10000_at_a_time(fake: Any) -> None:
    ids = [fake.platform.add_follower("safe", f"o{i:027d}") for i in range(10_001)]
    first = await fake.api("GET", "/cgi-bin/user/get")
    assert (first["total"], first["count"]) == (10_001, 10_000)
    assert first["next_openid"] == ids[9_999] == first["data"]["openid"][-1]
    second = await fake.api("GET", "/cgi-bin/user/get", params={"next_openid": ids[9_999]})
    assert (second["count"], second["data"]["openid"], second["next_openid"]) == (
        1,
        [ids[10_000]],
        "",
    )
    last = await fake.api("GET", "/cgi-bin/user/get", params={"next_openid": ids[10_000]})
    assert last["count"] == 0 and "data" not in last
    unknown = await fake.api("GET", "/cgi-bin/user/get", params={"next_openid": "oNope"})
    assert unknown["errcode"] == 40003
