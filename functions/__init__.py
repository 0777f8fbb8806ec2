"""Stateless REST handlers (FastAPI, Mangum on Lambda). They never import training code."""

import sys

# FastAPI imports pydantic.v1 (~40 ms, an eighth of a Lambda cold start) only to reject v1 models
# in route signatures. Nothing here or in our dependencies uses v1: marked absent, that import
# fails at once and the check answers "not v1". A process that already loaded v1 keeps it.
sys.modules.setdefault("pydantic.v1", None)  # type: ignore[arg-type]
