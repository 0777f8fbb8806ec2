"""What the streamer does with requests a browser's user did not mean to make, or that no
browser makes: pages from other origins, rebound host names, ids and numbers out of shape."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin, Subprotocol

from agentgym.auth import hash_key, new_key
from agentgym.records import Keys
from agentgym.store import KeyValueStore
from streamer.app import close_reason

from ..servers import closed_with
from .conftest import StreamerFactory, Trainer

KEY = new_key()
WITH_KEYS = {"auth": "apikey", "api_keys": f"acme:{hash_key(KEY)}"}


@pytest.mark.parametrize("length", [65, 200, 4000])
async def test_a_session_id_of_more_than_64_characters_is_closed_with_4400(
    streamers: StreamerFactory, length: int
) -> None:
    async with streamers() as (url, _):
        close = await closed_with(f"{url}/ws/training/{'a' * length}")
    assert close.code == 4400 and "session id" in close.reason


@pytest.mark.parametrize("session_id", ["session.x", "session%20x", "s%C3%A9ance", "*", ">"])
async def test_a_session_id_with_other_characters_is_closed_with_4400(
    streamers: StreamerFactory, session_id: str
) -> None:
    async with streamers() as (url, _):
        close = await closed_with(f"{url}/ws/training/{session_id}")
    assert close.code == 4400


@pytest.mark.parametrize("since", ["%C2%B2", "1" * 5000])
async def test_a_since_that_is_not_a_small_whole_number_is_closed_with_4400(
    streamers: StreamerFactory, trainer: Trainer, since: str
) -> None:
    async with streamers() as (url, _):
        close = await closed_with(f"{url}/ws/training/{trainer.session_id}?since={since}")
    assert close.code == 4400 and "since" in close.reason


@pytest.mark.parametrize("auth", ["off", "apikey"])
async def test_a_page_from_another_origin_is_closed_with_4403(
    streamers: StreamerFactory, trainer: Trainer, store: KeyValueStore, auth: str
) -> None:
    await store.put(Keys("acme").session(trainer.session_id), trainer.record.dump())
    key = [Subprotocol("agentgym"), Subprotocol(KEY)]
    configured = Origin("https://app.example")
    keys = WITH_KEYS if auth == "apikey" else {}
    async with streamers(cors_origins=[configured], **keys) as (url, _):
        session = f"{url}/ws/training/{trainer.session_id}"
        for target in (session, f"{url}/ws/training"):
            close = await closed_with(
                target, origin=Origin("https://evil.example"), subprotocols=key
            )
            assert close.code == 4403, target
            assert "evil.example" in close.reason and "AGENTGYM_CORS_ORIGINS" in close.reason
        # A long origin is named in part: a close reason is at most 123 bytes.
        close = await closed_with(
            session, origin=Origin(f"https://{'e' * 300}.example"), subprotocols=key
        )
        assert close.code == 4403 and len(close.reason.encode()) <= 123
        # A configured origin, the streamer's own, and a program (no Origin) are served.
        for origin in (configured, Origin(f"http://{urlsplit(url).netloc}"), None):
            async with connect(session, origin=origin, subprotocols=key) as ws:
                assert '"snapshot"' in str(await ws.recv()), origin


async def test_with_auth_off_a_rebound_host_name_is_refused_with_403_unless_allowed(
    streamers: StreamerFactory, trainer: Trainer, store: KeyValueStore
) -> None:
    await store.put(Keys("acme").session(trainer.session_id), trainer.record.dump())

    async def open_as(host: str, url: str, **kwargs: Any) -> ClientConnection:
        """A socket to the streamer whose Host names `host`, as after DNS rebinding."""
        port = urlsplit(url).port
        return await connect(
            f"ws://{host}:{port}/ws/training/{trainer.session_id}",
            host="127.0.0.1",
            port=port,
            proxy=None,
            **kwargs,
        )

    async with streamers() as (url, _):
        with pytest.raises(InvalidStatus) as refused:
            await open_as("evil.example", url)
        assert refused.value.response.status_code == 403
        assert b"AGENTGYM_ALLOWED_HOSTS" in refused.value.response.body
        port = urlsplit(url).port
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            rebound = {"Host": f"evil.example:{port}"}
            assert (await http.get("/metrics", headers=rebound)).status_code == 403
            # Load balancers probe a task by its address, and "ok" tells a page nothing.
            assert (await http.get("/healthz", headers=rebound)).status_code == 200
    # A configured name is served; with authentication on, any name is.
    for overrides, kwargs in (
        ({"allowed_hosts": ["*.example"]}, {}),
        (WITH_KEYS, {"subprotocols": ["agentgym", KEY]}),
    ):
        async with (
            streamers(**overrides) as (url, _),
            await open_as("agentgym.example", url, **kwargs) as ws,
        ):
            assert '"snapshot"' in str(await ws.recv()), overrides


def test_a_close_reason_is_cut_to_123_bytes_on_a_character_boundary() -> None:
    assert close_reason("short") == "short"
    for text in ("x" * 500, "\N{EURO SIGN}" * 100, "a" + "\N{GRINNING FACE}" * 50):
        cut = close_reason(text)
        assert len(cut.encode()) <= 123 and text.startswith(
            cut.removesuffix("\N{HORIZONTAL ELLIPSIS}")
        )
