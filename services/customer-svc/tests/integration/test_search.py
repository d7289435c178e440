"""Chinese search through HTTP on the real database: character pairs, pinyin, initials,
relevance order, owner names and who may search by them, terms kept current, metacharacters."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from customer_svc.customers.models import Customer, CustomerSearchKey
from customer_svc.customers.search_terms import search_terms
from customer_svc.main import definition
from retailcare_shared.migrations import alembic_config
from retailcare_shared.testing import DatabaseFactory, ServiceUnderTest


async def names_for(
    api: Any, q: str, headers: dict[str, str] | None = None, **params: Any
) -> list[str]:
    response = await api.client.get(
        "/api/v1/customers", params={"q": q, **params}, headers=headers or api.ADMIN
    )
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


async def test_two_characters_find_the_shops_containing_them(api: Any) -> None:
    await api.register(name="幸福超市", address="文三路12号", owner_name="王伟")
    await api.register(name="红旗便利店", address="中山路超市旁", owner_name="李娜")
    await api.register(name="万家烟酒店", address="解放路8号", owner_name="陈超")
    assert sorted(await names_for(api, "超市")) == ["幸福超市", "红旗便利店"]
    assert await names_for(api, "便利") == ["红旗便利店"]
    assert await names_for(api, "解放") == ["万家烟酒店"]
    assert await names_for(api, "市超") == []  # both characters, but not adjacent
    assert sorted(await names_for(api, "超")) == ["万家烟酒店", "幸福超市", "红旗便利店"]


async def test_pinyin_and_initials_find_chinese_names(api: Any) -> None:
    await api.register(name="幸福超市", address="文三路12号", owner_name="王伟")
    await api.register(name="重庆小卖部", address="解放路8号", owner_name="李娜")
    await api.register(name="Lucky Store", address="1 Wulin Road", owner_name="Tom")
    for typed in ("chaoshi", "ChaoShi", "chao shi", "cs", "CS", "xingfu", "xfcs"):
        assert await names_for(api, typed) == ["幸福超市"], typed
    assert await names_for(api, "chongqing") == ["重庆小卖部"]
    assert await names_for(api, "zhongqing") == ["重庆小卖部"]  # every reading of 重
    assert await names_for(api, "cq") == ["重庆小卖部"]
    assert await names_for(api, "lucky") == ["Lucky Store"]  # Latin names as before
    assert await names_for(api, "wenshan") == []  # addresses are searched by characters


async def test_results_are_ranked_by_relevance_then_shorter_name(api: Any) -> None:
    await api.register(name="城东烟酒超市", address="超市路1号")  # contains
    await api.register(name="超市", address="人民路1号")  # exact
    await api.register(name="超市之家便利", address="人民路2号")  # prefix, longer
    await api.register(name="超市之家", address="人民路3号")  # prefix, shorter
    await api.register(name="好又多", address="超市路9号")  # address only
    await api.register(name="城东超市", address="人民路4号")  # contains, shorter
    assert await names_for(api, "超市") == [
        "超市",
        "超市之家",
        "超市之家便利",
        "城东超市",
        "城东烟酒超市",
        "好又多",
    ]
    await api.register(name="长寿商店", address="西湖路1号")
    await api.register(name="长寿", address="西湖路2号")
    await api.register(name="Changshou Bakery", address="西湖路3号")
    # a literal match on the name ranks above a pinyin reading of it
    assert await names_for(api, "changshou") == ["Changshou Bakery", "长寿", "长寿商店"]


async def test_pages_follow_the_ranking(api: Any) -> None:
    for name in ("超市", "超市一", "超市二号", "大超市", "东区超市店"):
        await api.register(name=name)
    collected: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"q": "超市", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = await api.client.get("/api/v1/customers", params=params, headers=api.ADMIN)
        page = response.json()
        collected += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert collected == ["超市", "超市一", "超市二号", "大超市", "东区超市店"]
    bad = await api.client.get(
        "/api/v1/customers", params={"q": "超市", "cursor": "bm90LWEtY3Vyc29y"}, headers=api.ADMIN
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


async def test_owner_names_are_searched_only_by_roles_that_see_them(api: Any) -> None:
    manager = await api.create_manager()
    await api.register(name="红旗便利店", owner_name="张三丰", manager_id=manager["id"])
    await api.register(name="幸福超市", owner_name="李四")
    for headers in (api.ADMIN, api.CALL_CENTER, api.SUPERVISOR, api.manager_token(manager["id"])):
        assert await names_for(api, "张三", headers) == ["红旗便利店"]
        assert await names_for(api, "zhangsan", headers) == ["红旗便利店"]
        assert await names_for(api, "zsf", headers) == ["红旗便利店"]
    # an analyst sees owner names masked, so `q` does not match them (it would reveal them)
    assert await names_for(api, "张三", api.ANALYST) == []
    assert await names_for(api, "zhangsan", api.ANALYST) == []
    assert await names_for(api, "红旗", api.ANALYST) == ["红旗便利店"]
    response = await api.client.get("/api/v1/customers", params={"q": "红旗"}, headers=api.ANALYST)
    assert response.json()["items"][0]["owner_name"] != "张三丰"
    # a manager searches only their own shops, owner names included
    assert await names_for(api, "李四", api.manager_token(manager["id"])) == []


async def test_terms_follow_patch_and_erasure(service: ServiceUnderTest, api: Any) -> None:
    shop = await api.register(name="幸福超市", address="文三路12号", owner_name="张三")
    patched = await api.client.patch(
        f"/api/v1/customers/{shop['id']}",
        json={"name": "红旗便利店", "address": "解放路8号", "owner_name": "王五"},
        headers={**api.ADMIN, "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert await names_for(api, "超市") == [] and await names_for(api, "chaoshi") == []
    assert await names_for(api, "文三") == [] and await names_for(api, "张三") == []
    assert await names_for(api, "便利") == ["红旗便利店"]
    assert await names_for(api, "解放") == ["红旗便利店"]
    assert await names_for(api, "wangwu") == ["红旗便利店"]

    erased = await api.client.post(
        f"/api/v1/customers/{shop['id']}/erase-personal-data",
        json={"reason": "owner asked (PIPL)"},
        headers=api.ADMIN,
    )
    assert erased.status_code == 200, erased.text
    assert await names_for(api, "王五") == [] and await names_for(api, "wangwu") == []
    assert await names_for(api, "便利") == ["红旗便利店"]
    async with service.database.transaction() as session:
        stored = await session.scalar(select(Customer.search_terms))
    assert stored == search_terms("红旗便利店", "解放路8号", None)
    assert not any("王" in term or term.startswith(("op:", "oi:")) for term in stored or [])


async def test_like_metacharacters_and_quotes_are_plain_text(api: Any) -> None:
    for name in ("100%超市", "超_市", "反斜杠\\超市", "O'Brien 超市", "普通超市"):
        await api.register(name=name)
    assert await names_for(api, "%") == ["100%超市"]
    assert await names_for(api, "_") == ["超_市"]
    assert await names_for(api, "\\超") == ["反斜杠\\超市"]
    assert await names_for(api, "'b") == ["O'Brien 超市"]
    assert await names_for(api, "%超") == ["100%超市"]
    assert await names_for(api, "超%") == []
    assert await names_for(api, '{"') == []  # array-literal characters are data too
    assert len(await names_for(api, "超市")) == 4


async def test_q_combines_with_the_other_filters(api: Any) -> None:
    await api.register(name="幸福超市", county="330102", market_type="urban")
    await api.register(name="幸福超市二店", county="330106", market_type="rural")
    assert await names_for(api, "超市", county="330106") == ["幸福超市二店"]
    assert await names_for(api, "cs", market_type="urban") == ["幸福超市"]


async def test_pages_of_a_pinyin_search_are_the_single_page_cut(api: Any) -> None:
    await api.register(name="Chaoshi Mart")  # the name begins with the letters
    await api.register(name="Big Chaoshi")  # contains them
    await api.register(name="超市")  # reads as them
    await api.register(name="幸福超市")
    await api.register(name="红旗商店", address="chaoshi lane 1")  # the address
    await api.register(name="万家商行", owner_name="晁石")  # the owner reads chao shi
    whole = await names_for(api, "chaoshi")
    assert whole == ["Chaoshi Mart", "Big Chaoshi", "超市", "幸福超市", "红旗商店", "万家商行"]
    collected: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"q": "chaoshi", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await api.client.get("/api/v1/customers", params=params, headers=api.ADMIN)).json()
        collected += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert collected == whole


async def test_keys_follow_a_new_licence_number(service: ServiceUnderTest, api: Any) -> None:
    shop = await api.register(name="幸福超市")
    patched = await api.client.patch(
        f"/api/v1/customers/{shop['id']}",
        json={"license_no": "330102NEW0001"},
        headers={**api.ADMIN, "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    async with service.database.transaction() as session:
        keys = (
            await session.execute(
                select(CustomerSearchKey.term, CustomerSearchKey.tier, CustomerSearchKey.license_no)
            )
        ).all()
    tiers = {(term, tier) for term, tier, _ in keys}
    assert {("幸福", 1), ("福超", 2), ("超市", 2), ("wu", 4), ("sa", 5)} <= tiers
    # "ha" is in the address (Hangzhou) and the owner name (Zhang): kept once, at its best tier
    assert ("ha", 4) in tiers and ("ha", 5) not in tiers
    assert len(tiers) == len(keys) == len({term for term, _ in tiers})
    assert {license_no for _, _, license_no in keys} == {"330102NEW0001"}
    assert await names_for(api, "超市") == ["幸福超市"]


async def test_the_migration_fills_terms_and_keys_of_existing_shops(
    database_factory: DatabaseFactory,
) -> None:
    url = await database_factory.create(definition.service_dir)
    config = alembic_config(definition.service_dir, url)
    engine = create_async_engine(url)
    shops = [
        ("330102000001", "幸福超市", "文三路12号", "张三"),
        ("330102000002", 'Corner "{shop}"', None, None),
    ]
    try:
        await asyncio.to_thread(command.downgrade, config, "0002")
        async with engine.begin() as connection:
            for license_no, name, address, owner in shops:
                await connection.execute(
                    text(
                        "INSERT INTO customers (id, license_no, name, address, owner_name, county,"
                        " market_type, version) VALUES (gen_random_uuid(), :license_no, :name,"
                        " :address, :owner, '330102', 'urban', 1)"
                    ),
                    {"license_no": license_no, "name": name, "address": address, "owner": owner},
                )
        await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.begin() as connection:
            result = await connection.execute(
                text("SELECT license_no, search_terms FROM customers")
            )
            stored = {row[0]: row[1] for row in result}
            pairs = (
                await connection.execute(
                    text("SELECT term FROM customer_search_keys WHERE license_no = '330102000001'")
                )
            ).scalars()
            found = await connection.scalar(
                text("SELECT count(*) FROM customers WHERE search_terms @> ARRAY['p:chao shi']")
            )
            assert {*pairs} >= {"幸福", "超市", "文三", "张三"}
        for license_no, name, address, owner in shops:
            assert stored[license_no] == search_terms(name, address, owner)
        assert found == 1
    finally:
        await engine.dispose()
        await database_factory.drop(url)
