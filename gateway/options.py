"""What `agentgym gateway` runs with: its flags, or the same options in a file (`--config`), for
a gateway with many upstreams or one a container starts:

    # gateway.toml
    model = "production"          # a bundle, a model id or an alias (followed as it moves)
    upstream = ["shop=python -m my_company.shop_mcp", "wiki=http://127.0.0.1:9000/mcp"]
    port = 8002
    expose = "search"             # or "all"
    explore = 0.05
    decisions = "api"             # "api", a JSON Lines file, or "off"
    follow = 5                    # seconds between looks at the alias

TOML, or JSON for a file named `*.json`. A flag given beside the file wins over it; where
neither says, the environment (`AGENTGYM_GATEWAY_MODEL`, `AGENTGYM_GATEWAY_UPSTREAMS`,
`AGENTGYM_GATEWAY_FOLLOW_S`), then the defaults below.
"""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentgym.config import DEFAULT_GATEWAY_PORT, DEFAULT_HOST


class GatewayOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    upstream: list[str] = Field(default_factory=list)
    host: str = DEFAULT_HOST
    port: int = Field(default=DEFAULT_GATEWAY_PORT, ge=0, le=65535)
    expose: Literal["search", "all"] = "search"
    explore: float = Field(default=0.0, ge=0.0, lt=1.0)  # a share of searches
    stdio: bool = False
    decisions: str | None = None
    follow: float | None = Field(default=None, ge=0.0)  # seconds; 0: never


OPTIONS = tuple(GatewayOptions.model_fields)


def read(path: Path) -> dict[str, Any]:
    """The options a config file holds; ValueError saying where it is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror}") from None
    try:
        found = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None  # both say the line and column
    if not isinstance(found, dict):
        raise ValueError(f"{path}: expected a table of options, {sorted(OPTIONS)}")
    return found


def options(args: argparse.Namespace) -> GatewayOptions:
    """The flags given, over the config file's options (if any); ValueError naming the option
    (and the file) that is wrong."""
    given = {name: getattr(args, name) for name in OPTIONS if getattr(args, name) is not None}
    from_file = read(args.config) if args.config is not None else {}
    try:
        return GatewayOptions.model_validate(from_file | given)
    except ValidationError as exc:
        where = f" in {args.config}" if args.config is not None else ""
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ValueError(f"gateway options{where}: {problems}") from None
