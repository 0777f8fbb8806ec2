"""Browser tests: Playwright drives Debian's Chromium against the system as `agentgym up` runs it.

Playwright's Python package (its sync API) is used: the tests are pytest like the rest of the
suite and reuse its fixtures (`tests.e2e.conftest.System`); no browser is downloaded, Chromium
is `/usr/bin/chromium` (`apt-get install chromium`; `.ci/run` installs it). Each page collects
console errors and page errors, and a test fails if any was logged. Each test leaves a
screenshot under `tests/browser/artifacts/`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentgym.nats_server import free_port
from functions.dashboard import default_dir
from tests.e2e.conftest import System

CHROMIUM = Path(os.environ.get("AGENTGYM_TEST_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).parent / "artifacts"
TIMEOUT_MS = 15_000


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            f"the browser tests need Debian's Chromium at {CHROMIUM}: install it with "
            "`apt-get update && apt-get install -y chromium` (.ci/run does)",
            pytrace=False,
        )
    if not (default_dir() / "index.html").is_file():
        pytest.fail(
            "the dashboard is not built: run `make dashboard` (it needs Node 20 and npm)",
            pytrace=False,
        )


def start_system(root: Path, env: dict[str, str] | None = None) -> System:
    """`agentgym up` on free ports, with `env` added to its environment."""
    system = System(root / "agentgym-data", free_port(), free_port())
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        system.start()  # the children inherit the environment as it is now
    return system


@pytest.fixture(scope="package")  # torn down after the browser tests
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    require_chromium()
    system = start_system(tmp_path_factory.mktemp("browser"))
    yield system
    system.stop()


@pytest.fixture(scope="package")  # torn down after the browser tests
def api(system: System) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=system.api, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")  # closed with its module: Playwright holds an event loop open
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox"] if os.geteuid() == 0 else [],  # root (CI) has no sandbox
        )
        yield chromium
        chromium.close()


@dataclass
class Console:
    """What a page logged as an error: console errors and uncaught exceptions."""

    errors: list[str] = field(default_factory=list)
    allowed: list[Callable[[str], bool]] = field(default_factory=list)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(allow(e) for allow in self.allowed)]


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser: Any, console: Console, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on(
        "console",
        lambda m: m.type == "error" and console.errors.append(f"console: {m.text} ({m.location})"),
    )
    page.on("pageerror", lambda e: console.errors.append(f"page error: {e}"))
    try:
        yield page
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"{request.node.name}.png"
        try:
            page.screenshot(path=str(shot), full_page=True)
        finally:
            context.close()
    assert not console.unexpected(), f"the page logged errors (screenshot: {shot})"


def screenshot(page: Any, name: str) -> None:
    """Keep what the page shows now, beside the one each test leaves at its end."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def wait_for(check: Callable[[], Any], timeout: float = 30, what: str = "it") -> Any:
    """Poll `check` (over HTTP: another process's state) until it returns something true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def run_to_end(
    api: httpx.Client, episodes: int, seed: int, scenario_id: str = "customer_support"
) -> dict[str, Any]:
    """A small run, started over the API and waited for: its final status."""
    started = api.post(
        "/api/training/start",
        json={"scenario_id": scenario_id, "framework": "LangChain",
              "max_episodes": episodes, "seed": seed},
    )  # fmt: skip
    started.raise_for_status()
    session_id = started.json()["session_id"]

    def done() -> dict[str, Any] | None:
        status: dict[str, Any] = api.get(f"/api/training/{session_id}").json()
        return status if status["status"] == "completed" and status["model_id"] else None

    result: dict[str, Any] = wait_for(done, 60, f"run {session_id} completing")
    return result


@pytest.fixture(scope="package")  # torn down after the browser tests
def two_runs(api: httpx.Client) -> list[dict[str, Any]]:
    """Two finished runs of a few hundred episodes, each with its model."""
    return [run_to_end(api, 400, seed) for seed in (1, 2)]
