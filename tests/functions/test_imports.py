"""The functions stay light: importing a handler never pulls in training code, AWS SDKs,
multiprocessing (only a large upload under uvicorn needs a process of its own) or pydantic.v1
(functions/pydantic_v2_only.py).

Each import runs in a fresh interpreter, so nothing another test imported can hide a heavy
import (or be blamed for one).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

MODULES = (
    "functions.app",
    "functions.scenarios",
    "functions.training",
    "functions.models",
    "functions.settings",
    "functions.aliases",
)
HEAVY = ("numpy", "gymnasium", "trainer", "boto3", "multiprocessing", "pydantic.v1")
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


@pytest.mark.parametrize(
    "module", ["functions.scenarios", "functions.training", "functions.settings"]
)
def test_a_handler_that_serves_no_bundle_does_not_build_the_bundles_models(module: str) -> None:
    code = f"import sys, {module}; {module}.app; print('agentgym.bundle' in sys.modules)"
    assert _probe(code) == "False"


@pytest.mark.parametrize("module", MODULES)
def test_with_aws_configured_only_the_aws_sdk_may_come_in(module: str) -> None:
    env = clean_env(
        store_url="dynamodb://agentgym?region=eu-west-1",
        artifacts_url="s3://agentgym-artifacts/models",
    )
    found = imported_after(module, env)
    assert [name for name in found if name.split(".")[0] not in AWS_ONLY] == []


def _probe(code: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], env=env or clean_env(), capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


COUNT_APPS = """
import fastapi
built = []
init = fastapi.FastAPI.__init__
fastapi.FastAPI.__init__ = lambda self, *a, **k: (built.append(1), init(self, *a, **k))[1]
import {module}
{then}
import sys
print(len(built), "mangum" in sys.modules)
"""


@pytest.mark.parametrize("module", MODULES[1:])
def test_importing_a_router_builds_no_app_and_no_adapter(module: str) -> None:
    assert _probe(COUNT_APPS.format(module=module, then="")) == "0 False"


@pytest.mark.parametrize("module", MODULES[1:])
def test_a_lambda_entry_point_builds_its_app_and_adapter_once(module: str) -> None:
    then = f"assert {module}.handler is {module}.handler and {module}.app is not None"
    assert _probe(COUNT_APPS.format(module=module, then=then)) == "1 True"


def test_the_combined_app_is_one_app() -> None:
    assert _probe(COUNT_APPS.format(module="functions.app", then="")) == "1 False"


BLOCKED = "import functions.app, sys; print(sys.modules.get('pydantic.v1', 'absent') is None)"


@pytest.mark.parametrize("module", MODULES[1:])
def test_on_lambda_the_collector_is_off_while_the_app_is_built_and_on_after(module: str) -> None:
    code = (
        f"import gc, {module}; built = gc.isenabled(); {module}.handler; "
        "print(built, gc.isenabled(), len(gc.get_objects()) < gc.get_freeze_count())"
    )
    lambda_env = clean_env() | {"AWS_LAMBDA_FUNCTION_NAME": "agentgym"}
    assert _probe(code, lambda_env) == "False True True"  # what it built is frozen first
    assert _probe(code).startswith("True True")  # anywhere else it is left alone


def test_pydantic_v1_is_blocked_on_lambda_only() -> None:
    assert _probe(BLOCKED) == "False"
    assert _probe(BLOCKED, clean_env() | {"AWS_LAMBDA_FUNCTION_NAME": "agentgym"}) == "True"


# --- what the Lambda layer must hold -----------------------------------------------------------

LAYER = Path(__file__).parents[2] / "infra" / "aws" / "lambda-layer" / "requirements.txt"
ROOT = Path(__file__).parents[2]
HANDLERS = {
    "functions.scenarios": "/api/scenarios",
    "functions.training": "/api/training",
    "functions.models": "/api/models",
    "functions.settings": "/api/settings",
    "functions.aliases": "/api/aliases",
}
# Run with `python -S` (no site-packages): only the layer and the code are on the path, as on
# AWS, where the python3.11 runtime brings boto3 alone.
INVOKE = """
import json, sys
sys.path[:0] = sys.argv[1].split(":")
import {module} as module
event = {{"version": "2.0", "routeKey": "$default", "rawPath": "{path}", "rawQueryString": "",
         "headers": {{"host": "abc.execute-api.eu-west-1.amazonaws.com"}},
         "requestContext": {{"http": {{"method": "GET", "path": "{path}", "protocol": "HTTP/1.1",
                             "sourceIp": "203.0.113.7"}}, "stage": "$default"}},
         "isBase64Encoded": False}}
class Context:
    def get_remaining_time_in_millis(self):
        return 30_000
response = module.handler(event, Context())
print(json.dumps([response["statusCode"], response["body"], "stamina" in sys.modules]))
"""


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dependency layer, as `sam build` makes it from its requirements."""
    into = tmp_path_factory.mktemp("layer")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--target", str(into), "-r", str(LAYER)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    return into


@pytest.mark.parametrize("module", HANDLERS)
def test_a_handler_answers_with_the_lambda_layer_alone(
    module: str, layer: Path, tmp_path: Path
) -> None:
    """A dependency missing from the layer would be a 500 on AWS while every other test here,
    with the whole virtualenv on its path, passes."""
    env = clean_env(
        store_url=f"sqlite:///{tmp_path / 'agentgym.db'}",
        artifacts_url=f"file://{tmp_path / 'artifacts'}",
        data_dir=str(tmp_path),
    ) | {"AWS_LAMBDA_FUNCTION_NAME": "agentgym-test"}
    result = subprocess.run(
        [sys.executable, "-S", "-c", INVOKE.format(module=module, path=HANDLERS[module]),
         f"{layer}:{ROOT}"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    status, body, retried = json.loads(result.stdout.strip().splitlines()[-1])
    assert status == 200, body
    assert not retried  # the retry library loads on a first retry, not on a cold read
