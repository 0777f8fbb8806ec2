"""FastAPI asks of every route it builds whether a model is a pydantic.v1 one (to refuse it),
and imports pydantic.v1 to ask: some 30 ms of each Lambda cold start, for an answer that is
always no here, where every model is pydantic v2. A v1 model cannot exist before pydantic.v1
is imported, so the question is asked only once something has imported it, which is the
check proposed upstream (fastapi/fastapi#16374). Imported by functions.factory, before any
route is built; if FastAPI's internals move, nothing is patched and
tests/functions/test_imports.py says pydantic.v1 is imported again.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import fastapi.encoders
from fastapi._compat import shared


def _only_once_imported(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    def checked(value: Any) -> bool:
        return "pydantic.v1" in sys.modules and check(value)

    return checked


for _module, _name in (
    (shared, "is_pydantic_v1_model_class"),  # annotation_is_pydantic_v1 calls it: routes
    (shared, "is_pydantic_v1_model_instance"),
    (fastapi.encoders, "is_pydantic_v1_model_instance"),  # responses it encodes
):
    if callable(_found := getattr(_module, _name, None)):
        setattr(_module, _name, _only_once_imported(_found))
