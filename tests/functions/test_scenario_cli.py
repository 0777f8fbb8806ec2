"""`agentgym scenarios push` and `list` against a real API: create, then the next version."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from agentgym import scenario_cli
from agentgym.config import ClientSettings

EXAMPLE = Path(__file__).parents[2] / "examples" / "scenarios" / "shop_support.yaml"


def test_push_creates_then_stores_the_next_version(
    base_url: str, api: httpx.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = ClientSettings(api_url=base_url)
    assert scenario_cli.push(EXAMPLE, None, settings) == 0
    assert "created scenario 'shop_support'" in capsys.readouterr().out
    first = api.get("/api/scenarios/shop_support").json()

    changed = tmp_path / "shop_support.yaml"
    changed.write_text(EXAMPLE.read_text().replace("Shop support", "Shop support, v2"))
    assert scenario_cli.push(changed, None, settings) == 0
    assert "stored version 2 of scenario 'shop_support'" in capsys.readouterr().out
    second = api.get("/api/scenarios/shop_support").json()
    assert second["name"] == "Shop support, v2"
    assert second["versions"] == [first["version"], second["version"]]

    assert scenario_cli.list_scenarios(settings) == 0
    listing = capsys.readouterr().out
    assert "shop_support" in listing and "customer_support" in listing


def test_push_of_an_invalid_file_stores_nothing(
    base_url: str, api: httpx.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(EXAMPLE.read_text().replace("solution: [lookup_order]", "solution: [lookup]"))
    assert scenario_cli.push(broken, None, ClientSettings(api_url=base_url)) == 1
    assert "did you mean 'lookup_order'" in capsys.readouterr().err
    assert api.get("/api/scenarios/shop_support").status_code == 404


def test_push_to_an_api_that_is_not_there_says_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = ClientSettings(api_url="http://127.0.0.1:9")
    assert scenario_cli.push(EXAMPLE, None, settings) == 2
    assert "127.0.0.1:9" in capsys.readouterr().err


def test_validate_says_each_error_once_and_asks_a_jsonl_file_for_its_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(EXAMPLE.read_text().replace("solution: [lookup_order]", "solution: [lookup]"))
    assert scenario_cli.validate(broken, None) == 1
    # Five tasks broken, five errors: each listed once, not again in a summary line.
    assert capsys.readouterr().err.count("did you mean 'lookup_order'") == 5

    chats = tmp_path / "chats.jsonl"
    chats.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n')
    assert scenario_cli.validate(chats, None) == 2
    assert "give its id with --id ID" in capsys.readouterr().err


def test_push_prints_what_it_did_and_not_each_http_request(
    base_url: str, api: httpx.Client
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agentgym.cli", "scenarios", "push", str(EXAMPLE)],
        env=os.environ | {"AGENTGYM_API_URL": base_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "created scenario 'shop_support'" in done.stdout
    assert "HTTP Request" not in done.stderr
