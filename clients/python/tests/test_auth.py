"""Authentication through the client against `mnemo serve` with an admin key (auth on): tokens
issued by `create_token` work within their grant, and 401/403 map to Unauthorized/Forbidden."""

from __future__ import annotations

import asyncio

import pytest

from mnemo_client import AsyncMnemo, BadRequest, Forbidden, Mnemo, Unauthorized

from conftest import Server


def test_admin_token_and_scopes(auth_server: Server, name: str) -> None:
    with Mnemo(auth_server.url, token=auth_server.admin_key) as admin:
        space = admin.create_space(name, 2)
        space.put("a", [1.0, 0.0], text="hello")
        admin.create_space(name + "x", 2)
        read = admin.create_token(space=name, scopes=("read",), expires_in=600)
        write = admin.create_token(prefix=name + "/", scopes=["read", "write"], subject="agent-1")
        with pytest.raises(BadRequest) as bad:
            admin.create_token(space=name, scopes=("read",), expires_in=10**9)  # over 30 days
        assert bad.value.code == "invalidArgument" and bad.value.field == "ttlSeconds"
        with pytest.raises(BadRequest):
            admin.create_token(space=name, scopes=("bogus",))
        with pytest.raises(ValueError):
            admin.create_token(space=name, prefix=name + "/")
    assert read.count(".") == 2  # a JWT

    with Mnemo(auth_server.url, token=read) as reader:
        space = reader.space(name)
        assert space.get("a").text == "hello"
        assert [h.id for h in space.search([1.0, 0.0], k=1)] == ["a"]
        assert space.count() == 1
        assert list(reader.space_names()) == [name]  # listing shows only what the token covers
        with pytest.raises(Forbidden) as err:
            space.put("b", [0.0, 1.0])
        assert err.value.status == 403 and err.value.code == "forbidden"
        with pytest.raises(Forbidden):
            reader.space(name + "x").count()
        with pytest.raises(Forbidden):
            reader.create_space(name + "/new", 2)

    with Mnemo(auth_server.url, token=write) as writer:
        sub = writer.space(name + "/notes")
        with pytest.raises(Forbidden):
            writer.create_space(name + "/notes", 2)  # no admin scope
        with pytest.raises(Forbidden):
            writer.space(name).put("b", [0.0, 1.0])  # the prefix covers name/..., not name
        assert sub.name.startswith(name)


def test_unauthorized(auth_server: Server, name: str) -> None:
    with Mnemo(auth_server.url) as anonymous:
        assert anonymous.health() and anonymous.ready()  # no credential needed
        with pytest.raises(Unauthorized) as err:
            list(anonymous.space_names())
        assert err.value.status == 401 and err.value.code == "unauthorized"
    with Mnemo(auth_server.url, token="not-a-valid-credential-at-all") as wrong:
        with pytest.raises(Unauthorized):
            wrong.create_space(name, 2)

    async def main() -> None:
        async with AsyncMnemo(auth_server.url, token="x" * 20) as bad:
            with pytest.raises(Unauthorized):
                await bad.space(name).count()
        async with AsyncMnemo(auth_server.url, token=auth_server.admin_key) as admin:
            await admin.create_space(name, 2)
            token = await admin.create_token(space=name, scopes=("read", "write"))
        async with AsyncMnemo(auth_server.url, token=token) as agent:
            await agent.space(name).put("a", [1.0, 0.0])
            assert await agent.space(name).count() == 1
            with pytest.raises(Forbidden):
                await agent.delete_space(name)

    asyncio.run(main())
