"""Answering `agentgym.act`: a saved model's next choice for a request, from its bundle.

Bundles are loaded once and kept, the last MAX_LOADED used, per trainer (a model's policy is
some tens of MB). Loading and deciding run in one thread of their own: off the event loop, so
training and acks go on, and one at a time, as a loaded run's caches are not shared safely:
a cold bundle's load holds up the decisions asked after it (a trainer's act requests share
that thread). A request the model cannot answer (a tool it does not have, an unknown model)
is refused with the reason and the HTTP status the API gives it (trainer/services.py).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from cachetools import LRUCache

from agentgym.artifacts import ArtifactStore
from agentgym.errors import ArtifactNotFoundError, BundleError
from agentgym.messages import ActRequest
from trainer.services import Refused
from trainer.serving import Served

MAX_LOADED = 4


class Acting:
    def __init__(self, artifacts: ArtifactStore) -> None:
        self.artifacts = artifacts
        self.loaded: LRUCache[tuple[str, str, str], Served] = LRUCache(MAX_LOADED)
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="agentgym-act")

    def close(self) -> None:
        self.thread.shutdown(wait=False, cancel_futures=True)

    async def answer(self, raw: bytes) -> bytes:
        """The ActAnswer to an encoded ActRequest; Refused when there is none."""
        try:
            request = ActRequest.decode(raw)
        except ValueError:
            raise Refused(400, "malformed request") from None
        try:
            served = await self._served(request)
            calls = [(call.tool, call.succeeded) for call in request.calls]
            loop = asyncio.get_running_loop()
            decision = await loop.run_in_executor(
                self.thread, served.act, request.text, calls, request.tools
            )
        except ArtifactNotFoundError:
            raise Refused(404, f"model {request.model_id!r} not found") from None
        except BundleError as exc:
            raise Refused(422, f"the model cannot act: {exc}") from None
        except ValueError as exc:  # a tool the model does not have
            raise Refused(422, str(exc)) from None
        return decision.model_dump_json().encode()

    async def _served(self, request: ActRequest) -> Served:
        """The model, loaded (and kept) if it was not. The key holds the bundle's hash (as the
        API read it from the model's record): a model deleted and imported again as another is
        loaded again."""
        key = (request.tenant, request.bundle, request.sha256)
        if (kept := self.loaded.get(key)) is not None:
            return kept
        data = await self.artifacts.get(request.bundle)
        loop = asyncio.get_running_loop()
        served = await loop.run_in_executor(self.thread, Served, data)
        self.loaded[key] = served
        return served
