"""Stateless REST handlers (FastAPI, Mangum on Lambda). They never import training code."""

import gc
import os
import sys

# On Lambda (the runtime sets AWS_LAMBDA_FUNCTION_NAME), before FastAPI is imported: FastAPI
# imports pydantic.v1 (~40 ms, an eighth of a cold start) only to reject v1 models in route
# signatures. Nothing here or in our dependencies uses v1: marked absent, that import fails at
# once and the check answers "not v1". Any other process (the API under uvicorn, tests, a
# program importing the routers) keeps pydantic as it is.
if "AWS_LAMBDA_FUNCTION_NAME" in os.environ:
    sys.modules.setdefault("pydantic.v1", None)  # type: ignore[arg-type]
    # Everything a cold start builds lives as long as the container: the collector would walk
    # it again and again while it is built (FastAPI's own import included). Off until the entry
    # point has built its app and frozen what it holds (functions.lambda_entry), then on: turned
    # on before the freeze, its first collection would walk all of it at once.
    gc.disable()
