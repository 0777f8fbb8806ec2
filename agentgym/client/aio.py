"""The AgentGym API client, written once, in aio.py: `AsyncClient`, for asyncio code (httpx,
websockets' asyncio client). The blocking `Client` in sync.py is generated from it by unasync
(`make client`: every `await` dropped, `_async_io` swapped for `_sync_io`, websockets' sync
client), so the two make the same calls by construction. Edit aio.py, never sync.py."""

from __future__ import annotations

import builtins
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from types import TracebackType
from typing import Any, TypeVar

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, WebSocketException
from websockets.typing import Subprotocol

from agentgym import retries
from agentgym.act import ActAnswer
from agentgym.aliases import Alias
from agentgym.contracts import (
    ActionResponse,
    Episode,
    EpisodePage,
    ModelDetail,
    ModelInfo,
    TrainingStartRequest,
    TrainingStartResponse,
    TrainingStatus,
)
from agentgym.messages import EvaluateReply, SessionEvaluation, TrainingUpdate
from agentgym.records import ScenarioRecord
from agentgym.retries import Bound

from . import _async_io as io
from . import _calls as calls
from ._calls import (
    BUSY,
    Call,
    ClientOptions,
    Data,
    ScenarioSource,
    SettingsWithETag,
    Statuses,
    act_with_model,
)
from ._feed import (
    FIRST_CONNECT,
    RECONNECT,
    Dropped,
    Feed,
    Frame,
    credentials,
    handshake_refusal,
    refusal_or_drop,
    session_url,
)
from ._loops_aio import Loops
from .errors import ApiConnectionError, ApiError, Conflict, NotFound, from_response

logger = logging.getLogger(__name__)
T = TypeVar("T")


class _Transport:
    def __init__(self, options: ClientOptions, http: httpx.AsyncClient | None) -> None:
        self.options = options
        self.owns_http = http is None
        self.http = http if http is not None else httpx.AsyncClient()

    async def send(self, call: Call[T]) -> T:
        """The call's answer, parsed; a 503 sent again within `BUSY` and `retries`."""
        async for attempt in retries.attempts(
            replace(BUSY, attempts=self.options.retries + 1), calls.busy
        ):
            with attempt:
                return call.parse(await self._once(call))
        raise AssertionError("unreachable: stamina either returns or raises")

    async def _once(self, call: Call[Any]) -> httpx.Response:
        url = self.options.url(call.path)
        try:
            response = await self.http.request(
                call.method, url, params=call.params, content=call.content, json=call.json,
                headers=self.options.headers | call.headers, timeout=self.options.timeout,
            )  # fmt: skip
        except httpx.TransportError as exc:
            raise ApiConnectionError(url, f"{call.method}: {type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise from_response(response.status_code, response.content, response.headers)
        return response

    async def open_feed(
        self, base: str, session_id: str, feed: Feed, bound: Bound
    ) -> tuple[contextlib.AsyncExitStack, ClientConnection, str | bytes]:
        """A connection to the session's feed from `feed.last_seq` on, and its first frame;
        tried again within `bound` while it fails in a way that may pass."""
        subprotocols, token = credentials(self.options.api_key)
        shown = session_url(base, session_id, feed.last_seq, None)  # no token in errors
        try:
            async for attempt in retries.attempts(bound, Dropped):
                with attempt:
                    url = session_url(base, session_id, feed.last_seq, token)
                    return await self._open_once(url, subprotocols)
        except Dropped as exc:
            raise ApiConnectionError(shown, str(exc)) from exc
        raise AssertionError("unreachable: stamina either returns or raises")

    async def _open_once(
        self, url: str, subprotocols: list[str] | None
    ) -> tuple[contextlib.AsyncExitStack, ClientConnection, str | bytes]:
        """The connection (closed by the stack returned) and its first frame."""
        offered = [Subprotocol(p) for p in subprotocols] if subprotocols else None
        async with (
            contextlib.AsyncExitStack() as stack
        ):  # closes the connection unless it is handed on
            try:
                connection = await stack.enter_async_context(
                    connect(url, subprotocols=offered, open_timeout=self.options.timeout)
                )
            except InvalidStatus as exc:
                raise handshake_refusal(
                    exc.response.status_code, bytes(exc.response.body or b"")
                ) from exc
            except InvalidURI:
                raise  # a URL no retry mends
            except (OSError, TimeoutError, WebSocketException) as exc:
                raise Dropped(f"{type(exc).__name__}: {exc}") from exc
            try:
                first = await io.recv(connection, self.options.timeout)
            except ConnectionClosed as exc:
                raise _closed(exc) from exc
            except TimeoutError as exc:
                raise Dropped(f"no snapshot within {self.options.timeout:g} s") from exc
            return stack.pop_all(), connection, first
        raise AssertionError("unreachable: the block returns or raises")

    async def close(self) -> None:
        if self.owns_http:
            await self.http.aclose()


def _closed(exc: ConnectionClosed) -> ApiError | Dropped:
    rcvd = exc.rcvd
    return refusal_or_drop(rcvd.code if rcvd else None, rcvd.reason if rcvd else "")


async def _read_scenario(source: ScenarioSource, media_type: str | None) -> tuple[bytes, str]:
    if calls.blocks(source):  # reading a file
        return await io.off_loop(calls.scenario_body, source, media_type)
    return calls.scenario_body(source, media_type)


class Scenarios:
    """`/api/scenarios`: the built-in scenarios and the caller's own."""

    def __init__(self, transport: _Transport) -> None:
        self._t = transport

    async def list(self) -> list[ScenarioRecord]:
        return await self._t.send(calls.list_scenarios())

    async def get(self, scenario_id: str) -> ScenarioRecord:
        return await self._t.send(calls.get_scenario(scenario_id))

    async def push(
        self,
        source: ScenarioSource,
        *,
        id: str | None = None,
        media_type: str | None = None,
        name: str | None = None,
    ) -> ScenarioRecord:
        """Create a custom scenario from a scenario file (a path, bytes, an open file, or a
        dict), or store its next version when it exists. Chat JSONL needs `id`."""
        body, kind = await _read_scenario(source, media_type)
        try:
            return await self._t.send(calls.create_scenario(body, kind, id, name))
        except Conflict as taken:
            again = calls.push_again(body, kind, id, name)
            if again is None:
                raise
            try:
                return await self._t.send(again)
            except NotFound:  # not the caller's to update: the create's reason (a quota) stands
                raise taken from None

    async def validate(
        self,
        source: ScenarioSource,
        *,
        id: str | None = None,
        media_type: str | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """The API's report on a scenario file, storing nothing: `valid`, `errors`,
        `warnings`, and for a valid one its `id`, `version` and `counts`."""
        body, kind = await _read_scenario(source, media_type)
        return await self._t.send(calls.validate_scenario(body, kind, id, name))

    async def download(self, scenario_id: str, version: str | None = None) -> bytes:
        """The definition as a scenario file (JSON) that pushes back unchanged."""
        return await self._t.send(calls.download_scenario(scenario_id, version))

    async def delete(self, scenario_id: str) -> None:
        await self._t.send(calls.delete_scenario(scenario_id))


class Training:
    """`/api/training` and the live feed of a session."""

    def __init__(self, transport: _Transport) -> None:
        self._t = transport

    async def start(
        self,
        scenario_id: str | TrainingStartRequest,
        framework: str | None = None,
        max_episodes: int | None = None,
        learning_rate: float | None = None,
        seed: int | None = None,
        idempotency_key: str | None = None,
        evaluation: str | None = None,
    ) -> TrainingStartResponse:
        """Queue a session; numbers not given come from the settings. Every start carries an
        Idempotency-Key (a new one unless given), so a retry never queues a second one.
        `evaluation="kfold"`: once trained, cross-validate it too (its status's `kfold`)."""
        request = calls.start_request(
            scenario_id, framework, max_episodes, learning_rate, seed, evaluation
        )
        return await self._t.send(calls.start_training(request, idempotency_key))

    async def status(self, session_id: str) -> TrainingStatus:
        return await self._t.send(calls.training_status(session_id))

    async def list(self) -> list[TrainingStatus]:
        return await self._t.send(calls.list_sessions())

    async def pause(self, session_id: str) -> ActionResponse:
        return await self._t.send(calls.control(session_id, "pause"))

    async def resume(self, session_id: str) -> ActionResponse:
        return await self._t.send(calls.control(session_id, "resume"))

    async def stop(self, session_id: str) -> ActionResponse:
        return await self._t.send(calls.control(session_id, "stop"))

    async def delete(self, session_id: str) -> None:
        await self._t.send(calls.delete_session(session_id))

    async def updates(
        self, session_id: str, since: int = 0, limit: int | None = None
    ) -> builtins.list[TrainingUpdate]:
        """The recorded updates after `since`, in seq order (as the live feed sends them)."""
        return await self._t.send(calls.training_updates(session_id, since, limit))

    async def episodes(
        self,
        session_id: str,
        after: int = 0,
        limit: int | None = None,
        *,
        split: str | None = None,
        solved: bool | None = None,
        intent: str | None = None,
    ) -> EpisodePage:
        """A page of the recorded episodes after `after` (those of `split`, `solved`, `intent`
        if given); its `next` is the `after` of the next page."""
        call = calls.training_episodes(session_id, after, limit, split, solved, intent)
        return await self._t.send(call)

    async def episode(self, session_id: str, seq: int) -> Episode:
        """One recorded episode, by its seq."""
        return await self._t.send(calls.training_episode(session_id, seq))

    async def evaluation(self, session_id: str) -> SessionEvaluation:
        """The session's latest held-out evaluation, with its tool analytics."""
        return await self._t.send(calls.training_evaluation(session_id))

    async def wait(
        self,
        session_id: str,
        statuses: Statuses,
        timeout: float = 600.0,  # noqa: ASYNC109 (each poll is a bounded request)
        poll: float = 0.5,
    ) -> TrainingStatus:
        """Poll the status every `poll` seconds until it is one of `statuses`, and return it.
        SessionEndedError when it ends in another; TimeoutError after `timeout` seconds."""
        wanted = calls.wanted_statuses(statuses)
        deadline = time.monotonic() + timeout
        while True:
            current = await self.status(session_id)
            if calls.reached(current, wanted):
                return current
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(calls.timed_out(current, wanted, timeout))
            await io.sleep(min(poll, remaining))  # the API announces no change over HTTP

    async def watch(
        self, session_id: str, since: int = 0, url: str | None = None
    ) -> AsyncIterator[Frame]:
        """The session's live feed: a `Snapshot`, then each `TrainingUpdate` after `since`
        once, in seq order, until one says the session ended (a paused one's goes on). A
        dropped connection is opened again from the last seq seen, so that none is missed or
        repeated; only a consumer far behind has plain updates conflated by the streamer
        (never a status change; `updates()` has them all). `url` is the streamer's
        (`ws://host:8001`); by default the API's port, which relays it. Breaking out of the
        loop closes the connection when the iterator is closed (at once within
        `contextlib.aclosing`, or `closing` for the blocking client)."""
        feed = Feed(since)
        base = url or self._t.options.base_url
        bound = FIRST_CONNECT
        while not feed.done:
            opened, connection, raw = await self._t.open_feed(base, session_id, feed, bound)
            bound = RECONNECT
            async with opened:
                try:
                    while True:
                        frame = feed.receive(raw)
                        if frame is not None:
                            yield frame
                        if feed.done:
                            return
                        raw = await connection.recv()
                except ConnectionClosed as exc:
                    outcome = _closed(exc)
                    if isinstance(outcome, ApiError):
                        raise outcome from exc
                    logger.info("%s: feed %s; reconnecting from seq %d", session_id, outcome,
                                feed.last_seq)  # fmt: skip


class Models:
    """`/api/models`: trained models and their bundles."""

    def __init__(self, transport: _Transport) -> None:
        self._t = transport

    async def list(self) -> list[ModelInfo]:
        return await self._t.send(calls.list_models())

    async def get(self, model_id: str) -> ModelDetail:
        return await self._t.send(calls.get_model(model_id))

    async def download(self, model_id: str) -> bytes:
        """The model bundle (`.agm`)."""
        return await self._t.send(calls.download_model(model_id))

    async def import_(self, data: Data, name: str | None = None) -> ModelInfo:
        """Import a bundle (a path, bytes or an open file)."""
        body, _ = await io.off_loop(calls.read_data, data)  # a file's read blocks
        return await self._t.send(calls.import_model(body, name))

    async def act(
        self,
        model_id: str,
        text: str,
        calls: Iterable[tuple[str, bool] | str] = (),
        tools: Iterable[str] | None = None,
    ) -> ActAnswer:
        """The model's next tool for `text` after `calls` (each a tool name, or (tool,
        succeeded)), among `tools` if given: computed by a trainer (Unavailable when none
        runs). `in_scope` is False for a request unlike those it trained on, `unsure` True
        where `next` alone is not to be trusted (offer `prediction_set`)."""
        return await self._t.send(act_with_model(model_id, text, calls, tools))

    async def evaluate(
        self, model_id: str, scenario_id: str | None = None, version: str | None = None
    ) -> EvaluateReply:
        """Held-out accuracy, average reward and each tool's precision and recall, and the
        off-policy estimates on held-out logs (`offline`), computed by a trainer (Unavailable
        when none runs); on `scenario_id` (its `version`, else its latest) if given: all its
        tasks and logs where it is not the model's own scenario."""
        return await self._t.send(calls.evaluate_model(model_id, scenario_id, version))

    async def delete(self, model_id: str) -> None:
        await self._t.send(calls.delete_model(model_id))


class Aliases:
    """`/api/aliases`: names for models (`production`), each with its history. Wherever a
    model id is taken (`models.get`, `act`, `evaluate`, `download`), an alias is taken too."""

    def __init__(self, transport: _Transport) -> None:
        self._t = transport

    async def list(self) -> list[Alias]:
        return await self._t.send(calls.list_aliases())

    async def get(self, name: str) -> Alias:
        """The model it names and its history: which model, when, by whom, why."""
        return await self._t.send(calls.get_alias(name))

    async def set(
        self, name: str, model_id: str, why: str | None = None, expected: int | None = None
    ) -> Alias:
        """Point it at `model_id` (made if new; Conflict when there is no such model). With
        `expected` (the `version` read before), PreconditionFailed when it moved since."""
        return await self._t.send(calls.set_alias(name, model_id, why, expected))

    async def rollback(
        self, name: str, why: str | None = None, expected: int | None = None
    ) -> Alias:
        """Back to the model it named before (Conflict when there is none)."""
        return await self._t.send(calls.rollback_alias(name, why, expected))

    async def delete(self, name: str) -> None:
        await self._t.send(calls.delete_alias(name))


class SettingsResource:
    """`/api/settings`: the caller's settings, secrets masked."""

    def __init__(self, transport: _Transport) -> None:
        self._t = transport

    async def get(self) -> SettingsWithETag:
        return await self._t.send(calls.get_settings())

    async def update(self, *, if_match: str | None = None, **fields: Any) -> SettingsWithETag:
        """Change the fields given. With `if_match` (the `etag` of settings read earlier),
        PreconditionFailed when they changed meanwhile."""
        return await self._t.send(calls.update_settings(fields, if_match))


class AsyncClient:
    """The AgentGym API. `base_url` and `api_key` default to AGENTGYM_API_URL and
    AGENTGYM_API_KEY; the key (or a JWT) is sent as `Authorization: Bearer`. Every request
    times out after `timeout` seconds; a 503 is sent again up to `retries` times. `http` is
    an httpx client of your own (proxies, TLS), left open by `close()`."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._transport = _Transport(
            ClientOptions.resolve(base_url, api_key, timeout, retries), http
        )
        self.scenarios = Scenarios(self._transport)
        self.training = Training(self._transport)
        self.models = Models(self._transport)
        self.aliases = Aliases(self._transport)
        self.loops = Loops(self._transport)
        self.settings = SettingsResource(self._transport)

    @property
    def base_url(self) -> str:
        return self._transport.options.base_url

    async def close(self) -> None:
        await self._transport.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
