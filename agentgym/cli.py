"""`agentgym`: one command for every process. Each subcommand arrives with its part."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from agentgym.config import (
    DEFAULT_API_PORT,
    DEFAULT_DATA_DIR,
    DEFAULT_GATEWAY_PORT,
    DEFAULT_HOST,
    DEFAULT_NATS_PORT,
    DEFAULT_STREAMER_PORT,
)
from agentgym.nats_server import NatsServer


def _nats(args: argparse.Namespace) -> int:
    server = NatsServer(args.data_dir / "nats", host=args.host, port=args.port)
    # SIGTERM handled before the server starts and says where it is: one sent as soon as it
    # says so stops it gracefully too, never leaving its nats-server behind.
    try:
        with _stop_on_sigterm():
            server.start()
            print(f"nats-server with JetStream at {server.url} (data in {server.store_dir})",
                  flush=True)  # fmt: skip
            return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()  # gracefully, so JetStream flushes


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C, so the same cleanup runs for both."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _api(args: argparse.Namespace) -> int:
    import uvicorn

    from agentgym.config import get_api_settings
    from agentgym.http_server import LimitedH11Protocol
    from agentgym.redact import uvicorn_log_config

    uvicorn.run(
        "functions.app:app",
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_config=uvicorn_log_config(),  # keys in `?token=` never reach the log
        http=LimitedH11Protocol,  # header and body timeouts, a head size limit
        timeout_keep_alive=get_api_settings().http_keep_alive_timeout_s,
    )
    return 0


def _trainer(args: argparse.Namespace) -> int:
    import asyncio

    from agentgym.config import get_trainer_settings
    from trainer.worker import Worker

    settings = get_trainer_settings()
    if args.concurrency:
        settings = settings.model_copy(update={"concurrency": args.concurrency})

    async def work() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await Worker(settings).run(stop)

    asyncio.run(work())
    return 0


def _streamer(args: argparse.Namespace) -> int:
    import asyncio

    from agentgym.config import get_streamer_settings
    from streamer.app import Streamer

    async def stream() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await Streamer(get_streamer_settings()).serve(args.host, args.port, stop)

    asyncio.run(stream())
    return 0


def _train(args: argparse.Namespace) -> int:
    from trainer.offline import ArgumentError, train

    parser: argparse.ArgumentParser = args.parser
    try:
        return train(
            args.scenario,
            scenario_file=args.scenario_file,
            episodes=args.episodes,
            seed=args.seed,
            learning_rate=args.learning_rate,
            as_json=args.json,
            save=args.save,
            kfold=args.evaluation == "kfold",
        )
    except ArgumentError as exc:  # raised before training starts: usage and exit status 2
        parser.error(f"argument {exc.flag}: {exc}")


def _up(args: argparse.Namespace) -> int:
    from agentgym.up import UpOptions, run

    return run(UpOptions.from_args(args))


def _keys_create(args: argparse.Namespace) -> int:
    from agentgym.auth import ConfigError, check_scopes, check_tenant, hash_key, new_key

    try:
        tenant = check_tenant(args.tenant)
        scopes = sorted(check_scopes(args.scope, "--scope"))
    except ConfigError as exc:
        print(f"agentgym keys create: {exc}", file=sys.stderr)
        return 2
    key = new_key()
    print(f"API key for tenant {tenant} (shown once; give it to the client):")
    print(f"  {key}")
    print("Add this entry to AGENTGYM_API_KEYS (comma-separated) and set AGENTGYM_AUTH=apikey:")
    print(f"  {tenant}:{hash_key(key)}" + (f":{'+'.join(scopes)}" if scopes else ""))
    return 0


# What an answer `unsure` but in scope says (the dashboard's Try form says the same).
UNSURE = "a kind of request it did not train on, or more than one choice fits; offer those"


def _act(args: argparse.Namespace) -> int:
    from agentgym.errors import BundleError
    from trainer.run import Run

    try:
        run, manifest = Run.from_bundle(args.model.read_bytes())
    except (OSError, BundleError) as exc:
        print(f"agentgym act: {exc}", file=sys.stderr)
        return 2
    answer = run.act(args.text, ())
    print(f"{manifest.scenario_id}: {' -> '.join(answer.plan) or '(finish at once)'}")
    among = ", ".join(answer.prediction_set)
    if answer.coverage is not None:
        print(f"  next: right with {answer.coverage:.0%} probability among: {among}")
    scope = f"confidence {answer.confidence:.2f}"
    if not answer.in_scope:
        print(f"  OUT OF SCOPE ({scope}): unlike the requests it trained on; let the agent choose")
    elif answer.unsure:
        print(f"  in scope, unsure ({scope}): {UNSURE}")
    else:
        print(f"  in scope ({scope})")
    return 0


def _gateway(args: argparse.Namespace) -> int:
    from gateway import main as gateway_main

    return gateway_main.run(args)


def _aliases(args: argparse.Namespace) -> int:
    from agentgym import alias_cli

    return alias_cli.run(args)


def _loop(args: argparse.Namespace) -> int:
    from agentgym import loop_cli

    return loop_cli.run(args)


def _scenarios(args: argparse.Namespace) -> int:
    from agentgym import scenario_cli
    from agentgym.config import ClientSettings

    if args.scenarios_command == "validate":
        return scenario_cli.validate(args.file, args.id)
    if args.scenarios_command == "push":
        return scenario_cli.push(args.file, args.id, ClientSettings())
    return scenario_cli.list_scenarios(ClientSettings())


CALLS_THE_API = (
    "The API is AGENTGYM_API_URL (default http://127.0.0.1:8000), called with AGENTGYM_API_KEY "
    "when authentication is on."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentgym", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run everything locally: NATS, trainer, streamer, API")
    up.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    up.add_argument("--host", default=DEFAULT_HOST)
    up.add_argument("--api-port", type=int, default=DEFAULT_API_PORT)
    up.add_argument("--streamer-port", type=int, default=DEFAULT_STREAMER_PORT)
    up.add_argument("--nats-url", default=None, help="use this NATS instead of the embedded one")
    up.add_argument("--store-url", default=None, help="default: SQLite under the data dir")
    up.add_argument("--artifacts-url", default=None, help="default: files under the data dir")
    up.add_argument(
        "--gateway-model",
        default=None,
        help="also run the MCP gateway with this model (.agm, id or alias)",
    )
    up.add_argument(
        "--gateway-upstream", action="append", default=None, help="[NAME=]URL_OR_COMMAND"
    )
    up.add_argument("--gateway-port", type=int, default=DEFAULT_GATEWAY_PORT)
    up.set_defaults(run=_up)

    nats = commands.add_parser("nats", help="run the embedded nats-server (JetStream) alone")
    nats.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    nats.add_argument("--host", default=DEFAULT_HOST)
    nats.add_argument(
        "--port", type=int, default=DEFAULT_NATS_PORT, help="taken: a free one is used instead"
    )
    nats.set_defaults(run=_nats)

    api = commands.add_parser("api", help="serve the REST API (functions.app:app) with uvicorn")
    api.add_argument("--host", default=DEFAULT_HOST)
    api.add_argument("--port", type=int, default=DEFAULT_API_PORT)
    api.add_argument("--log-level", default="info")
    api.set_defaults(run=_api)

    trainer = commands.add_parser("trainer", help="run a training worker (NATS work queue)")
    trainer.add_argument("--concurrency", type=int, default=0, help="sessions trained at once")
    trainer.set_defaults(run=_trainer)

    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(
        dest="keys_command", required=True
    )
    create = keys.add_parser("create", help="make a new API key for a tenant")
    create.add_argument("--tenant", required=True)
    create.add_argument(
        "--scope",
        action="append",
        default=[],
        help="grant a scope beyond the default: decisions (reading what served models chose)",
    )
    create.set_defaults(run=_keys_create)

    scenarios = commands.add_parser(
        "scenarios",
        help="custom scenarios: validate a file here, push it to the API, list the catalog",
        description=CALLS_THE_API,
    ).add_subparsers(dest="scenarios_command", required=True)
    for name, help_text in (
        ("validate", "check a scenario file (.json, .yaml) or OpenAI chat JSONL (.jsonl)"),
        ("push", "create the scenario through the API, or store a new version of it"),
    ):
        command = scenarios.add_parser(name, help=help_text)
        command.add_argument("file", type=Path)
        command.add_argument("--id", default=None, help="the scenario's id (needed for JSONL)")
        command.set_defaults(run=_scenarios)
    scenarios.add_parser("list", help="the API's scenarios, built-in and custom").set_defaults(
        run=_scenarios
    )

    aliases = commands.add_parser(
        "aliases",
        help="names for the models that serve (production): list, show, set, roll back",
        description=CALLS_THE_API,
    ).add_subparsers(dest="aliases_command", required=True)
    aliases.add_parser("list", help="every alias and the model it names").set_defaults(run=_aliases)
    aliases.add_parser("show", help="an alias and its history").add_argument("name")
    point = aliases.add_parser("set", help="point an alias (made if new) at a model")
    point.add_argument("name")
    point.add_argument("model", metavar="MODEL_ID", help="a model's id, or another alias")
    back = aliases.add_parser("rollback", help="back to the model the alias named before")
    back.add_argument("name")
    for command in (point, back):
        command.add_argument("--why", default=None, help="recorded in the alias's history")
    for command in aliases.choices.values():
        command.set_defaults(run=_aliases)
    _add_loop(commands)

    act = commands.add_parser("act", help="choose the tools for a new request with a model")
    act.add_argument("--model", type=Path, required=True, help="a model bundle (.agm)")
    act.add_argument("text", help="the request, e.g. a support ticket")
    act.set_defaults(run=_act)

    gateway = commands.add_parser(
        "gateway", help="an MCP server choosing among your MCP servers' tools with a model"
    )
    gateway.add_argument(
        "--model",
        help="a model bundle (.agm), or a model's id or alias in the API (else "
        "AGENTGYM_GATEWAY_MODEL); an alias is followed as it moves (--follow)",
    )
    gateway.add_argument(
        "--follow",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how often to ask which model the --model alias names, and serve it when it moved "
        "(0: never; default AGENTGYM_GATEWAY_FOLLOW_S, 5)",
    )
    gateway.add_argument(
        "--upstream",
        action="append",
        help="[NAME=]URL_OR_COMMAND: a streamable HTTP MCP server, or a command serving stdio "
        "(else AGENTGYM_GATEWAY_UPSTREAMS, comma-separated)",
    )
    # No defaults here: a flag not given leaves the --config file's option, or its default
    # (gateway/options.py).
    gateway.add_argument("--host", help=f"default {DEFAULT_HOST}")
    gateway.add_argument("--port", type=int, help=f"default {DEFAULT_GATEWAY_PORT}")
    gateway.add_argument("--expose", choices=("search", "all"), help="default search")
    gateway.add_argument(
        "--explore",
        type=float,
        help="the share of searches whose first tool is drawn at random (default 0)",
    )
    gateway.add_argument(
        "--stdio", action="store_true", default=None, help="serve over stdio, not HTTP"
    )
    gateway.add_argument(
        "--decisions",
        default=None,
        help="where decisions go: 'api', a JSON Lines file, or 'off' (default: the API for a "
        "model from it, else decisions.jsonl)",
    )
    gateway.add_argument(
        "--config",
        type=Path,
        help="a TOML (or .json) file of these options (model, upstream, port, ...); the flags "
        "given win over it",
    )
    gateway.set_defaults(run=_gateway, parser=gateway)

    streamer = commands.add_parser("streamer", help="serve the WebSocket feed of training")
    streamer.add_argument("--host", default=DEFAULT_HOST)
    streamer.add_argument("--port", type=int, default=DEFAULT_STREAMER_PORT)
    streamer.set_defaults(run=_streamer)

    train = commands.add_parser("train", help="train offline, in this process, with no server")
    train.add_argument("--scenario", help="a built-in scenario (with --scenario-file: its id)")
    train.add_argument(
        "--scenario-file", type=Path, help="a scenario file (.json, .yaml) or chat JSONL"
    )
    train.add_argument("--episodes", type=int, default=None)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--learning-rate", type=float, default=None)
    train.add_argument("--json", action="store_true", help="print one JSON object at the end")
    train.add_argument("--save", type=Path, default=None, help="write the model bundle here")
    train.add_argument(
        "--evaluation",
        choices=("holdout", "kfold"),
        default="holdout",
        help="kfold: also estimate held-out accuracy by 5-fold cross-validation (5 more runs)",
    )
    train.set_defaults(run=_train, parser=train)
    return parser


def _add_loop(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`agentgym loop set | show | run | stop SCENARIO` (agentgym/loop_cli.py): the options of
    `set` are the loop's fields (agentgym/loops.py LoopBody), named alike."""
    loop = commands.add_parser(
        "loop",
        help="a scenario's improvement loop: set it, show its runs, run it now, stop it",
        description=CALLS_THE_API,
    ).add_subparsers(dest="loop_command", required=True)
    put = loop.add_parser("set", help="set the loop up, or change it: the whole of it "
                          "(an option not given takes its default)")  # fmt: skip
    put.add_argument("--alias", required=True, help="the alias it serves and moves")
    put.add_argument("--every-decisions", type=int, default=None, metavar="N",
                     help="run when N new decisions came in")  # fmt: skip
    put.add_argument("--every-seconds", type=int, default=None, metavar="S",
                     help="run every S seconds (10 or more); with neither, only when asked")  # fmt: skip
    put.add_argument("--estimator", choices=("dr", "ips"), default="dr",
                     help="how the gate estimates the difference (default dr)")  # fmt: skip
    put.add_argument("--margin", type=float, default=0.0, metavar="X",
                     help="reward the difference's lower bound must exceed (default 0)")  # fmt: skip
    put.add_argument("--model-only", action="store_true",
                     help="let an estimate from the reward model alone promote")  # fmt: skip
    put.add_argument("--prospective", action="store_true",
                     help="put each candidate on trial; the next run tests it on what came after")  # fmt: skip
    put.add_argument("--max-episodes", type=int, default=None, metavar="N",
                     help="a candidate's training episodes")  # fmt: skip
    put.add_argument("--shadow", action="store_true",
                     help="gateways also score each request with the latest candidate")  # fmt: skip
    put.add_argument("--canary", type=float, default=0.0, metavar="SHARE",
                     help="the share of requests (0 to 0.5) a promoted candidate serves first")  # fmt: skip
    loop.add_parser("show", help="the loop's settings and each run: when, outcome, why, candidate")
    loop.add_parser("run", help="one run now (or the one under way)")
    loop.add_parser("stop", help="stop the loop: no more runs (its runs are kept)")
    for command in loop.choices.values():
        command.add_argument("scenario", metavar="SCENARIO", help="a custom scenario's id")
        command.set_defaults(run=_loop)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request it makes
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
