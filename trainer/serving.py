"""A saved model serving requests that offer any tools: the ones it trained with, and others
(an upstream MCP server's new ones, a caller's own) read by their names and descriptions.

A model scores a tool by what it learned of the tool's name, and by what is true of any tool:
how well its name and description match the request (words and meaning) and the request's
words crossed with its description's (trainer/model/features.py); training read tools by
their descriptions alone now and then (`Config.identity_dropout`), which is what ranks a tool
it never saw. The model over its own tools and the ones offered is made once per set of new
tools (their names and descriptions) and kept (`KEPT` sets).
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence

from agentgym.act import ActAnswer, ToolOffered
from agentgym.bundle import Manifest
from trainer import scenarios
from trainer.model.decision import decide
from trainer.model.model import Model
from trainer.run import Run

KEPT = 8


class Served:
    """One bundle's model, ranking any tools offered with it."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        run, self.manifest = Run.from_bundle(data)
        self.model = run.model
        self._models: OrderedDict[str, Model] = OrderedDict()
        self._lock = threading.Lock()  # the cache's: served from threads

    @property
    def known(self) -> dict[str, int]:
        return self.model.toolbox.index

    def model_for(self, offered: Sequence[str | ToolOffered]) -> Model:
        """The model over its own tools and those of `offered` it does not know (offered by
        their definitions: one offered by name alone must be the model's)."""
        new = sorted(
            {
                (d.name, d.description)
                for d in offered
                if not isinstance(d, str) and d.name not in self.known
            }
        )
        if not new:
            return self.model
        digest = hashlib.sha256(repr(new).encode()).hexdigest()
        with self._lock:
            if (kept := self._models.get(digest)) is not None:
                self._models.move_to_end(digest)
                return kept
        model = _extended(self.data, self.manifest, new)
        with self._lock:
            self._models[digest] = model
            while len(self._models) > KEPT:
                self._models.popitem(last=False)
        return model

    def act(
        self,
        text: str,
        calls: Sequence[tuple[str, bool]],
        offered: Sequence[str | ToolOffered] | None = None,
        plan: bool = True,
    ) -> ActAnswer:
        """The model's next choice among `offered` (None: its own tools), and with `plan` its
        plan from there; ValueError for a tool it neither knows nor is given the definition
        of."""
        try:
            if offered is None:
                return decide(self.model, text, calls, plan=plan)
            model = self.model_for(offered)
            names = [d if isinstance(d, str) else d.name for d in offered]
            return decide(model, text, calls, names, plan)
        except ValueError as exc:
            raise ValueError(f"{self.manifest.scenario_id}: {exc}") from None


def _extended(data: bytes, manifest: Manifest, new: Sequence[tuple[str, str]]) -> Model:
    spec = scenarios.of_manifest(manifest)
    spec = dataclasses.replace(
        spec,
        tools=spec.tools + tuple(name for name, _ in new),
        descriptions={**spec.descriptions, **dict(new)},
    )
    run, _ = Run.from_bundle(data, spec)
    return run.model
