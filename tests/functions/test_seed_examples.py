"""The seed README's Python examples, run as written against our API.

Only the address changes (the test server listens on a free port, not 8000). The status
example reads a session with a fixed id, so that session is made to exist first.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import httpx

from agentgym.records import Keys, SessionRecord
from agentgym.store import KeyValueStore

SEED_README = Path(__file__).parents[1] / "seed" / "agentgym-api-readme.md"


def python_examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", SEED_README.read_text(), flags=re.DOTALL)


def run(example: str, base_url: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(example.replace("http://localhost:8000", base_url), {"__name__": "__seed__"})
    return out.getvalue()


def test_the_seed_readme_has_the_two_examples() -> None:
    assert len(python_examples()) == 2


def test_start_example_starts_a_session(base_url: str, api: httpx.Client) -> None:
    printed = run(python_examples()[0], base_url)
    session_id = printed.removeprefix("Training session started: ").strip()
    assert api.get(f"/api/training/{session_id}").json()["status"] == "queued"


async def test_status_example_prints_episode_and_accuracy(
    base_url: str, store: KeyValueStore
) -> None:
    example = python_examples()[1]
    fixed_id = re.search(r'session_id = "([^"]+)"', example)
    assert fixed_id is not None
    record = SessionRecord(
        session_id=fixed_id.group(1), scenario_id="customer_support", framework="LangChain",
        status="running", current_episode=42, max_episodes=200, accuracy=61.25,
        learning_rate=0.001, seed=1,
    )  # fmt: skip
    await store.put(Keys().session(record.session_id), record.dump())
    assert run(example, base_url) == "Episode 42/200\nAccuracy: 61.25%\n"
