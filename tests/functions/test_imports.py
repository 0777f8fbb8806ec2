"""The functions stay light: importing a handler never pulls in training code or AWS SDKs.

Each import runs in a fresh interpreter, so nothing another test imported can hide a heavy
import (or be blamed for one).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

MODULES = (
    "functions.app",
    "functions.scenarios",
    "functions.training",
    "functions.models",
    "functions.settings",
)
HEAVY = ("numpy", "gymnasium", "trainer", "boto3")
AWS_ONLY = ("boto3",)

PROBE = """
import json, sys
import {module}
heavy = {heavy!r}
found = sorted(
    name for name in sys.modules if any(name == h or name.startswith(h + ".") for h in heavy)
)
print(json.dumps(found))
"""


def imported_after(module: str, env: dict[str, str]) -> list[str]:
    """The heavy packages (or any of their submodules) in sys.modules after `import module`."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module, heavy=HEAVY)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def clean_env(**agentgym: str) -> dict[str, str]:
    """This environment without any AGENTGYM_* setting, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTGYM_")}
    return env | {f"AGENTGYM_{name.upper()}": value for name, value in agentgym.items()}


@pytest.mark.parametrize("module", MODULES)
def test_importing_a_handler_imports_no_training_code_or_aws_sdk(module: str) -> None:
    assert imported_after(module, clean_env()) == []


@pytest.mark.parametrize("module", MODULES)
def test_with_aws_configured_only_the_aws_sdk_may_come_in(module: str) -> None:
    env = clean_env(
        store_url="dynamodb://agentgym?region=eu-west-1",
        artifacts_url="s3://agentgym-artifacts/models",
    )
    found = imported_after(module, env)
    assert [name for name in found if name.split(".")[0] not in AWS_ONLY] == []
