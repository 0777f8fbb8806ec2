"""`agentgym gateway`: the model loaded, the upstreams named, the gateway served."""

from __future__ import annotations

import argparse
import ipaddress
import logging
from pathlib import Path

from agentgym.config import GatewaySettings
from agentgym.errors import BundleError
from gateway.decisions import ApiSink, FileSink, Recorder, Sink
from gateway.following import ApiModels, Following
from gateway.options import options
from gateway.server import Gateway
from gateway.upstreams import Target
from trainer.serving import Served

logger = logging.getLogger(__name__)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args.parser
    # Not a line per session the SDK ends, nor per request its HTTP clients make (to the
    # upstreams, each call: a write to stderr on the hot path).
    for chatty in ("mcp", "httpx", "httpx2"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    settings = GatewaySettings()
    try:
        args = argparse.Namespace(**vars(args) | dict(options(args)))
    except ValueError as exc:
        parser.error(str(exc))
    key = settings.gateway_key or None
    if key is None and not _loopback(args.host):
        parser.error(
            f"--host {args.host}: without AGENTGYM_GATEWAY_KEY the gateway serves this machine "
            "only (127.0.0.1); set a key to serve others"
        )
    if not 0.0 <= args.explore < 1.0:
        parser.error(f"--explore is a share from 0 to below 1, not {args.explore}")
    if args.follow is not None and args.follow < 0:
        parser.error(
            f"--follow is seconds between looks at the alias (0: never), not {args.follow}"
        )
    model = args.model or settings.gateway_model
    upstreams = args.upstream or [u for u in settings.gateway_upstreams.split(",") if u.strip()]
    if not model or not upstreams:
        parser.error("name the model (--model or AGENTGYM_GATEWAY_MODEL) and at least one "
                     "upstream (--upstream or AGENTGYM_GATEWAY_UPSTREAMS)")  # fmt: skip
    try:
        targets = [Target.parse(given) for given in upstreams]
    except ValueError as exc:
        parser.error(f"--upstream: {exc}")
    names = [target.name for target in targets]
    if len(set(names)) < len(names):
        parser.error(f"--upstream: two upstreams named alike in {names}; name them NAME=...")
    path = Path(model)
    from_api = not path.is_file()
    following = None
    if from_api:
        from agentgym.client import ApiError, Client

        try:
            with Client(settings.api_url, settings.api_key or None) as client:
                detail = client.models.get(model)  # an alias: the model it names now
                data = client.models.download(detail.id)
        except ApiError as exc:
            parser.error(f"--model {model}: {exc.detail}")
        model_id = detail.id
        follow_s = settings.gateway_follow_s if args.follow is None else args.follow
        if detail.alias is not None and follow_s > 0:
            models = ApiModels(settings.api_url, settings.api_key or None)
            following = Following(detail.alias, models, follow_s)
    else:
        data, model_id = path.read_bytes(), path.stem
    try:
        served = Served(data)
    except BundleError as exc:
        parser.error(f"--model {model}: {exc}")
    where = args.decisions or ("api" if from_api else "decisions.jsonl")
    sink: Sink | None = None  # "off": none kept (to measure what keeping them costs)
    if where == "api":
        sink = ApiSink(settings.api_url, settings.api_key or None)
    elif where != "off":
        sink = FileSink(Path(where))
    gateway = Gateway(
        served, model_id, targets, Recorder(sink), args.expose, args.explore, following
    )
    if args.stdio:
        import anyio

        anyio.run(gateway.serve_stdio)
        return 0
    import uvicorn

    named = model_id if following is None else f"alias {model} (now {model_id})"
    logger.info("gateway for %s at http://%s:%d/mcp", named, args.host, args.port)
    uvicorn.run(gateway.http_app(key), host=args.host, port=args.port, log_level="warning")
    return 0
