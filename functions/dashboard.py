"""The browser dashboard (`dashboard/`, built by `make dashboard`) at `/ui`, on the API's port.

Served by the combined app only (`functions.app:app`, what `agentgym api` and `agentgym up`
run), inside the API's middleware, so the Host and Origin checks of `functions.guard` apply
to it as to every route. Its pages need no credentials; the API calls they make do.

- `/ui` and `/ui/` answer `index.html`, revalidated on every load (`no-cache`, with an ETag);
  `/ui/assets/*` are the hashed files Vite writes, cached for a year (`immutable`): a new
  build names new files. Everything is gzip-compressed for clients that accept it.
- The files come from `AGENTGYM_DASHBOARD_DIR`, or else `dashboard/dist` beside the packages
  (an editable install, as `make install` makes). Read at the first request, not at import.
- Not built (no Node here): `/ui` is a 503 page that says what to install and run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

PREFIX = "/ui"
DIR_ENV = "AGENTGYM_DASHBOARD_DIR"
INDEX = "index.html"
ASSETS = "assets/"
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
GZIP_MIN_BYTES = 500

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>AgentGym: dashboard not built</title>
<link rel="icon" href="data:,"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>The dashboard is not built</h1>
<p>The dashboard needs Node 20 and npm (<a href="https://nodejs.org">nodejs.org</a>). Install
them, then run <code>make up</code> (or <code>make dashboard</code>), which builds it into
<code>dashboard/dist</code>; or point <code>AGENTGYM_DASHBOARD_DIR</code> at a built one.</p>
<p>The API, trainer and streamer run without it: see <a href="/docs">/docs</a>.</p>
</body></html>
"""


def default_dir() -> Path:
    """`dashboard/dist` of the checkout this package is installed from (editable install)."""
    return Path(__file__).resolve().parent.parent / "dashboard" / "dist"


class _Files(StaticFiles):
    """Starlette's static files, with the dashboard's cache headers."""

    def file_response(self, full_path: Any, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(full_path, *args, **kwargs)
        hashed = Path(full_path).parent.name == ASSETS.rstrip("/")
        response.headers["Cache-Control"] = IMMUTABLE if hashed else NO_CACHE
        return response


class Dashboard:
    """The ASGI app behind `/ui` and `/ui/{path}`: the built files, or the not-built page."""

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory
        self._files: _Files | None = None

    @property
    def directory(self) -> Path:
        if self._directory is None:
            configured = os.environ.get(DIR_ENV)
            self._directory = Path(configured) if configured else default_dir()
        return self._directory

    def _built(self) -> _Files | None:
        if self._files is None and (self.directory / INDEX).is_file():
            self._files = _Files(directory=self.directory)
        return self._files

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        files = self._built()
        if files is None:
            response = HTMLResponse(NOT_BUILT, 503, headers={"Cache-Control": "no-store"})
            await response(scope, receive, send)
            return
        path = scope.get("path_params", {}).get("path", "") or INDEX
        await files({**scope, "path": "/" + path, "root_path": ""}, receive, send)


def make_router(directory: Path | None = None) -> APIRouter:
    """`/ui` and `/ui/{path}`, gzip-compressed, from `directory` (None: as the docstring says)."""
    app = GZipMiddleware(Dashboard(directory), minimum_size=GZIP_MIN_BYTES)
    router = APIRouter(tags=["dashboard"])
    for path in (PREFIX, PREFIX + "/{path:path}"):
        router.routes.append(Route(path, app, methods=["GET", "HEAD"], include_in_schema=False))
    return router


router = make_router()
