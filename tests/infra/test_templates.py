"""The deployment files in infra/ are valid, and name only what the code really has.

- infra/aws/template.yaml passes cfn-lint, its handlers import, its ECS commands are real
  `agentgym` subcommands, and every IAM statement grants only the actions listed here;
- infra/nats/cluster.conf is a valid nats-server config for each of the three nodes, and three
  servers started from it form a JetStream cluster that holds the streams at three replicas.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_all
from cfnlint.decode import decode

from agentgym import nats_client, subjects
from agentgym.nats_server import find_binary, free_port

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "aws" / "template.yaml"
NATS_CONF = ROOT / "infra" / "nats" / "cluster.conf"
NATS_NODES = ("nats-1", "nats-2", "nats-3")

# cfn-lint warnings the template may carry, by rule id, each with the reason it is accepted.
# None today: any warning fails the test until it is fixed or listed here with a reason.
ACCEPTED_WARNINGS: dict[str, str] = {}

# What each function may do, per resource (see `_resource_name`). Every function describes the
# table: the DynamoDB store calls DescribeTable once per process before its first request.
NATS_SECRET = {"nats-secret": {"secretsmanager:GetSecretValue"}}
FUNCTION_GRANTS: dict[str, dict[str, set[str]]] = {
    "functions.scenarios.handler": {
        "table": {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:DescribeTable"},
        **NATS_SECRET,
    },
    "functions.training.handler": {
        "table": {
            "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
            "dynamodb:Query", "dynamodb:Scan", "dynamodb:DescribeTable",
        },
        "bucket/agentgym/checkpoints/*": {"s3:DeleteObject"},
        "bucket/agentgym/tenants/*/checkpoints/*": {"s3:DeleteObject"},
        **NATS_SECRET,
    },
    "functions.models.handler": {
        "table": {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query",
                  "dynamodb:DescribeTable"},
        "bucket/agentgym/models/*": {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
        "bucket/agentgym/tenants/*/models/*": {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
        "bucket": {"s3:ListBucket"},
        **NATS_SECRET,
    },
    "functions.settings.handler": {
        "table": {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query",
                  "dynamodb:DescribeTable"},
        **NATS_SECRET,
    },
    "functions.decisions.handler": {
        "table": {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:DescribeTable"},
        **NATS_SECRET,
    },
    "functions.aliases.handler": {
        "table": {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query",
                  "dynamodb:DescribeTable"},
    },
}  # fmt: skip
TABLE_READ_WRITE = {
    "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
    "dynamodb:Query", "dynamodb:Scan", "dynamodb:DescribeTable",
}  # fmt: skip
TASK_ROLE_GRANTS: dict[str, dict[str, set[str]]] = {
    "TrainerTaskRole": {
        "table": TABLE_READ_WRITE,
        "bucket/agentgym/*": {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
        "bucket": {"s3:ListBucket"},
        **NATS_SECRET,
    },
    "StreamerTaskRole": {
        "table": {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:DescribeTable"},
        **NATS_SECRET,
    },
    "ReceiverTaskRole": {
        "table": TABLE_READ_WRITE,
        "bucket/agentgym/scenarios/*": {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
        "bucket/agentgym/tenants/*/scenarios/*": {
            "s3:GetObject",
            "s3:PutObject",
            "s3:DeleteObject",
        },
        "bucket": {"s3:ListBucket"},
        **NATS_SECRET,
    },
}


def _load_template() -> dict[str, Any]:
    template, problems = decode(str(TEMPLATE))
    assert not problems, problems
    assert template is not None
    return template


TEMPLATE_DATA = _load_template()
RESOURCES: dict[str, Any] = TEMPLATE_DATA["Resources"]


def _of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in RESOURCES.items() if r["Type"] == kind}


FUNCTIONS = _of_type("AWS::Serverless::Function")
CONTAINERS = {
    container["Name"]: container
    for task in _of_type("AWS::ECS::TaskDefinition").values()
    for container in task["Properties"]["ContainerDefinitions"]
}


def _branches(value: Any) -> Iterator[Any]:
    """Every value a property may take: both sides of an Fn::If, nothing for AWS::NoValue."""
    if isinstance(value, dict) and list(value) == ["Fn::If"]:
        _, when_true, when_false = value["Fn::If"]
        yield from _branches(when_true)
        yield from _branches(when_false)
    elif value != {"Ref": "AWS::NoValue"}:
        yield value


def _resource_name(resource: Any) -> str:
    """A short name for a statement's Resource, as written in the template."""
    names = {
        repr({"Fn::GetAtt": ["Table", "Arn"]}): "table",
        repr({"Fn::GetAtt": ["ArtifactsBucket", "Arn"]}): "bucket",
        repr({"Ref": "NatsCredentialsSecretArn"}): "nats-secret",
    }
    plain = {k: list(v) if isinstance(v, list) else v for k, v in dict(resource).items()}
    if repr(plain) in names:
        return names[repr(plain)]
    if list(plain) == ["Fn::Sub"] and plain["Fn::Sub"].startswith("${ArtifactsBucket.Arn}/"):
        return "bucket/" + plain["Fn::Sub"].removeprefix("${ArtifactsBucket.Arn}/")
    raise AssertionError(f"a statement names an unexpected resource: {resource!r}")


def _grants(policy_documents: list[Any]) -> dict[str, set[str]]:
    """resource name -> the actions the documents allow on it; no wildcard anywhere."""
    granted: dict[str, set[str]] = {}
    for document in policy_documents:
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow", statement
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else list(actions)
            assert all("*" not in action for action in actions), actions
            resources = statement["Resource"]
            for resource in resources if isinstance(resources, list) else [resources]:
                assert resource != "*", statement
                granted.setdefault(_resource_name(resource), set()).update(actions)
    return granted


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


# --- the SAM template -------------------------------------------------------------------------


def test_cfn_lint_finds_no_error_and_no_unaccepted_warning() -> None:
    matches = lint_all(TEMPLATE.read_text())
    errors = [m for m in matches if m.rule.id.startswith("E")]
    warnings = [
        m for m in matches if m.rule.id.startswith("W") and m.rule.id not in ACCEPTED_WARNINGS
    ]
    assert not errors, "\n".join(str(m) for m in errors)
    assert not warnings, "\n".join(str(m) for m in warnings)


def test_the_template_has_the_six_functions_with_their_settings() -> None:
    assert TEMPLATE_DATA["Transform"] == "AWS::Serverless-2016-10-31"
    assert {f["Properties"]["Handler"] for f in FUNCTIONS.values()} == set(FUNCTION_GRANTS)
    defaults = TEMPLATE_DATA["Globals"]["Function"]
    for function in FUNCTIONS.values():
        settings = {**defaults, **function["Properties"]}
        assert settings["Runtime"] == "python3.11"
        assert settings["CodeUri"] == "../../"
        assert settings["MemorySize"] == 512
        assert settings["Timeout"] == 30
    variables = defaults["Environment"]["Variables"]
    assert variables["AGENTGYM_STORE_URL"] == {
        "Fn::Sub": "dynamodb://${Table}?region=${AWS::Region}"
    }
    assert variables["AGENTGYM_ARTIFACTS_URL"] == {
        "Fn::Sub": "s3://${ArtifactsBucket}/agentgym?region=${AWS::Region}"
    }
    assert variables["AGENTGYM_NATS_URL"] == {"Ref": "NatsUrl"}
    assert variables["AGENTGYM_AUTH"] == {"Ref": "AuthMode"}
    assert variables["AGENTGYM_CORS_ORIGINS"] == {"Ref": "CorsOrigins"}


def test_the_store_and_artifact_urls_parse_as_the_backends_expect() -> None:
    from agentgym.artifacts.s3 import S3ArtifactStore
    from agentgym.store.dynamodb import DynamoDBStore

    variables = TEMPLATE_DATA["Globals"]["Function"]["Environment"]["Variables"]
    values = {"${Table}": "agentgym-table-x1", "${ArtifactsBucket}": "agentgym-bucket-x1",
              "${AWS::Region}": "eu-west-1"}  # fmt: skip

    def substitute(text: str) -> str:
        for name, value in values.items():
            text = text.replace(name, value)
        return text

    store = DynamoDBStore.from_url(substitute(variables["AGENTGYM_STORE_URL"]["Fn::Sub"]))
    assert store.table == "agentgym-table-x1"
    artifacts = S3ArtifactStore.from_url(substitute(variables["AGENTGYM_ARTIFACTS_URL"]["Fn::Sub"]))
    assert (artifacts.bucket, artifacts.prefix) == ("agentgym-bucket-x1", "agentgym")
    asyncio.run(store.close())
    asyncio.run(artifacts.close())


def test_the_table_matches_the_dynamodb_store_layout() -> None:
    table = RESOURCES["Table"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert {(a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]} == {
        ("pk", "S"),
        ("sk", "S"),
    }
    assert [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]] == [
        ("pk", "HASH"),
        ("sk", "RANGE"),
    ]
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True
    bucket = RESOURCES["ArtifactsBucket"]["Properties"]
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_handler_imports_in_a_fresh_interpreter(name: str) -> None:
    handler = FUNCTIONS[name]["Properties"]["Handler"]
    module, _, attribute = handler.rpartition(".")
    assert module and attribute, f"{handler} is not module.attribute"
    result = _run(sys.executable, "-c", f"import {module} as m; assert callable(m.{attribute})")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_function_serves_its_own_routes(name: str) -> None:
    properties = FUNCTIONS[name]["Properties"]
    resource = properties["Handler"].split(".")[1]  # functions.<resource>.handler
    routes = {
        (event["Properties"]["Path"], event["Properties"]["Method"])
        for event in properties["Events"].values()
        if event["Type"] == "HttpApi"
    }
    assert routes == {(f"/api/{resource}", "ANY"), (f"/api/{resource}/{{proxy+}}", "ANY")}
    assert all(
        event["Properties"]["ApiId"] == {"Ref": "HttpApi"}
        for event in properties["Events"].values()
    )


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_function_is_granted_only_its_listed_actions(name: str) -> None:
    properties = FUNCTIONS[name]["Properties"]
    documents = [doc for policy in properties["Policies"] for doc in _branches(policy)]
    assert _grants(documents) == FUNCTION_GRANTS[properties["Handler"]]
    # The secret is granted only when one is given.
    for policy in properties["Policies"]:
        if "nats-secret" in _grants(list(_branches(policy))):
            assert policy["Fn::If"][0] == "HasNatsSecret"


@pytest.mark.parametrize("role", sorted(TASK_ROLE_GRANTS))
def test_each_task_role_is_granted_only_its_listed_actions(role: str) -> None:
    policies = RESOURCES[role]["Properties"]["Policies"]
    documents = [p["PolicyDocument"] for policy in policies for p in _branches(policy)]
    assert _grants(documents) == TASK_ROLE_GRANTS[role]


@pytest.mark.parametrize("container", ["trainer", "streamer", "receiver", "gateway"])
def test_each_ecs_command_is_an_agentgym_subcommand(container: str) -> None:
    command = list(CONTAINERS[container]["Command"])
    assert command[0] == "agentgym"
    help_run = _run(sys.executable, "-m", "agentgym.cli", command[1], "--help")
    assert help_run.returncode == 0, help_run.stderr
    # The whole argument list parses too, not only the subcommand's name.
    parse = (
        "from agentgym.cli import build_parser; "
        f"assert build_parser().parse_args({command[1:]!r}).command == {command[1]!r}"
    )
    parse_run = _run(sys.executable, "-c", parse)
    assert parse_run.returncode == 0, parse_run.stderr


def test_the_load_balancer_keeps_websockets_open_on_the_streamer_port() -> None:
    attributes = {
        a["Key"]: a["Value"]
        for a in RESOURCES["LoadBalancer"]["Properties"]["LoadBalancerAttributes"]
    }
    assert attributes["idle_timeout.timeout_seconds"] == "3600"
    group = RESOURCES["StreamerTargetGroup"]["Properties"]
    assert (group["Port"], group["HealthCheckPath"]) == (8001, "/healthz")
    assert {a["Key"]: a["Value"] for a in group["TargetGroupAttributes"]}[
        "stickiness.enabled"
    ] == "false"
    rule = RESOURCES["StreamerListenerRule"]["Properties"]
    assert rule["Actions"] == [
        {"Type": "forward", "TargetGroupArn": {"Ref": "StreamerTargetGroup"}}
    ]
    assert rule["Conditions"][0]["PathPatternConfig"]["Values"] == [
        "/ws/training",
        "/ws/training/*",
    ]
    streamer = RESOURCES["StreamerService"]["Properties"]["LoadBalancers"][0]
    assert (streamer["ContainerName"], streamer["ContainerPort"]) == ("streamer", 8001)
    assert [m["ContainerPort"] for m in CONTAINERS["streamer"]["PortMappings"]] == [8001]


def test_the_load_balancer_sends_traces_and_snapshots_to_the_receivers() -> None:
    """An exporter's batch is over Lambda's payload limit: the receiver is a container."""
    rule = RESOURCES["ReceiverListenerRule"]["Properties"]
    paths = rule["Conditions"][0]["PathPatternConfig"]["Values"]
    assert {"/v1/traces", "/v1/logs", "/api/scenarios/*/snapshot"} <= set(paths)
    assert rule["Actions"] == [
        {"Type": "forward", "TargetGroupArn": {"Ref": "ReceiverTargetGroup"}}
    ]
    loops = RESOURCES["ReceiverLoopsListenerRule"]["Properties"]
    looped = loops["Conditions"][0]["PathPatternConfig"]["Values"]
    assert looped == ["/api/scenarios/*/loop", "/api/scenarios/*/loop/*"]
    assert loops["Actions"] == rule["Actions"]
    group = RESOURCES["ReceiverTargetGroup"]["Properties"]
    assert (group["Port"], group["HealthCheckPath"]) == (8000, "/healthz")
    assert CONTAINERS["receiver"]["Command"][-1] == "8000"
    from functions.factory import OTLP_PATHS

    assert set(paths) >= OTLP_PATHS


def test_the_load_balancer_sends_mcp_to_the_gateways_which_need_a_key_to_run() -> None:
    rule = RESOURCES["GatewayListenerRule"]["Properties"]
    assert rule["Conditions"][0]["PathPatternConfig"]["Values"] == ["/mcp"]
    assert rule["Actions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": "GatewayTargetGroup"}}]
    group = RESOURCES["GatewayTargetGroup"]["Properties"]
    assert (group["Port"], group["HealthCheckPath"]) == (8002, "/healthz")
    container = CONTAINERS["gateway"]
    assert container["Command"][-1] == "8002"
    assert "TaskRoleArn" not in RESOURCES["GatewayTaskDefinition"]["Properties"]  # no AWS access
    secrets = [s["Name"] for branch in _branches(container["Secrets"]) for s in branch]
    assert secrets == ["AGENTGYM_API_KEY", "AGENTGYM_GATEWAY_KEY"]
    assertions = TEMPLATE_DATA["Rules"]["GatewaysNeedAModelUpstreamsAndKeys"]["Assertions"]
    assert len(assertions) == 3


def test_the_outputs_are_there() -> None:
    assert set(TEMPLATE_DATA["Outputs"]) >= {
        "ApiUrl",
        "StreamerUrl",
        "GatewayUrl",
        "TracesUrl",
        "TableName",
        "BucketName",
    }
    assert TEMPLATE_DATA["Outputs"]["StreamerUrl"]["Value"]["Fn::Sub"].startswith("ws://")


# --- the NATS cluster config ------------------------------------------------------------------


def _node_env(name: str, store_dir: Path) -> dict[str, str]:
    return {**os.environ, "NATS_SERVER_NAME": name, "NATS_STORE_DIR": str(store_dir)}


@pytest.mark.parametrize("node", NATS_NODES)
def test_the_nats_config_is_valid_for_each_node(node: str, tmp_path: Path) -> None:
    result = _run(
        str(find_binary()), "-c", str(NATS_CONF), "-t", env=_node_env(node, tmp_path / node)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid" in result.stdout + result.stderr


def test_the_nats_config_needs_the_node_name_from_the_environment(tmp_path: Path) -> None:
    env = _node_env("nats-1", tmp_path)
    del env["NATS_SERVER_NAME"]
    result = _run(str(find_binary()), "-c", str(NATS_CONF), "-t", env=env)
    assert result.returncode != 0
    assert "NATS_SERVER_NAME" in result.stdout + result.stderr


def test_the_nats_config_routes_to_every_node_on_the_documented_ports() -> None:
    text = NATS_CONF.read_text()
    for node in NATS_NODES:
        assert f"nats-route://{node}:6222" in text
    assert re.search(r"^listen: 0\.0\.0\.0:4222$", text, re.MULTILINE)
    assert re.search(r"^http: 0\.0\.0\.0:8222$", text, re.MULTILINE)


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[str]:
    """Three nodes from the config as local processes (flags change only ports and routes);
    yields the first node's client URL."""
    ports = [(free_port(), free_port(), free_port()) for _ in NATS_NODES]
    routes = ",".join(f"nats-route://127.0.0.1:{cluster}" for _, cluster, _ in ports)
    processes = []
    try:
        for node, (client, cluster, monitor) in zip(NATS_NODES, ports, strict=True):
            command = [
                str(find_binary()), "-c", str(NATS_CONF), "-a", "127.0.0.1",
                "-p", str(client), "-m", str(monitor),
                "--cluster", f"nats://127.0.0.1:{cluster}", "--routes", routes,
            ]  # fmt: skip
            with (tmp_path / f"{node}.log").open("w") as log:
                processes.append(
                    subprocess.Popen(
                        command,
                        env=_node_env(node, tmp_path / node),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        yield f"nats://127.0.0.1:{ports[0][0]}"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


async def test_three_nodes_from_the_config_hold_the_streams_at_three_replicas(
    nats_cluster: str,
) -> None:
    nc = await nats_client.connect(nats_cluster, "infra-test", 10)
    try:
        js = nc.jetstream()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while True:  # until the cluster has elected its JetStream meta leader
            try:
                await subjects.ensure_streams(js, replicas=3)
                break
            except Exception:
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.2)
        for stream in (subjects.CMD_STREAM, subjects.TRAINING_STREAM):
            info = await js.stream_info(stream)
            assert info.config.num_replicas == 3
            assert info.cluster is not None
            assert info.cluster.name == "agentgym"
            peers = {peer.name for peer in info.cluster.replicas or []}
            assert {info.cluster.leader, *peers} == set(NATS_NODES)
    finally:
        await nc.close()
