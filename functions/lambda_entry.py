"""A Lambda entry point: its own small app (one router, plus health) and its Mangum adapter.

Built on first use of `functions.<resource>.handler` (or `.app`), once per container, not when
the router is imported: importing a router builds nothing, so the combined app
(`functions.app`) builds exactly one app, and nothing of Lambda's reaches a process that is
not one. Each router module forwards its module `__getattr__` here (PEP 562).
"""

from __future__ import annotations

import gc
from typing import Any

from fastapi import APIRouter

from functions.factory import create_app

ENTRY = ("app", "handler")
_built: dict[str, tuple[Any, Any]] = {}


def attribute(module: str, router: APIRouter, name: str) -> Any:
    """`app` or `handler` of the entry point `module` serving `router`."""
    if name not in ENTRY:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    if module not in _built:
        from mangum import Mangum  # only a Lambda entry point needs it

        app = create_app(router)
        _built[module] = (app, Mangum(app, lifespan="off"))
        # Everything imported so far lives as long as the container: out of the collector's
        # sight, a full collection during the first request walks only what came after
        # (walking it all costs a cold start tens of ms).
        gc.freeze()
        gc.enable()  # after the freeze: off while all that was built (functions/__init__.py)
    return _built[module][ENTRY.index(name)]
