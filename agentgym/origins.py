"""Which browsers may drive AgentGym: the Origin and Host rules the API and the streamer share.

Any web page the user visits can send requests to 127.0.0.1, and a POST without a body needs
no CORS preflight, so CORS alone does not stop a page from changing state; nor does it stop a
WebSocket, which browsers open across origins freely. Two checks do (pure functions here; the
API's middleware and the streamer apply them):

- **Origin.** A state-changing request or a WebSocket handshake that carries an `Origin` is
  served only when that origin is configured (`AGENTGYM_CORS_ORIGINS`) or is the server's own
  (a page it served). Requests without an `Origin` come from programs, not pages: browsers
  always send one on cross-origin POSTs and on WebSockets.
- **Host.** With authentication off, a page on `evil.example` whose name the attacker points
  at 127.0.0.1 (DNS rebinding) would be same-origin; so the `Host` must then be a local name or
  one configured (`AGENTGYM_ALLOWED_HOSTS`; `*` accepts any).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

# 0.0.0.0 and :: are what a client names when it reaches a server bound to every interface
# (the API's relay does under `agentgym up --host 0.0.0.0`); no DNS name rebinds to them.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", "::"})
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def host_name(host: str) -> str:
    """The name in a `Host` header, without its port: `[::1]:8000` is `::1`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    name, _, port = host.rpartition(":")
    return name if name and port.isdigit() else host


def host_allowed(host: str | None, allowed: Sequence[str]) -> bool:
    """Whether a server with authentication off answers to this `Host`.

    No Host at all (HTTP/1.0) is not a browser, which always sends one."""
    if host is None:
        return True
    name = host_name(host)
    if name in LOCAL_HOSTS or name.endswith(".localhost"):
        return True
    for entry in (a.strip().lower() for a in allowed):
        if entry == "*" or entry == name:
            return True
        if entry.startswith("*.") and name.endswith(entry[1:]):
            return True
    return False


def origin_allowed(origin: str | None, host: str | None, allowed: Sequence[str]) -> bool:
    """Whether a request carrying `Origin: origin` to `Host: host` may change state or open a
    WebSocket: a configured origin, the server's own, or no Origin (not a web page)."""
    if origin is None:
        return True
    origin = origin.strip().rstrip("/").lower()
    configured = {a.strip().rstrip("/").lower() for a in allowed}
    if "*" in configured or origin in configured:
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:  # "null", file://, ...
        return False
    return host is not None and parts.netloc == host.strip().lower()


def refusal(origin: str) -> str:
    """What a refused page is told: which setting would let it in."""
    return (
        f"requests from the web page at {origin[:100]!r} are refused: add its origin to "
        "AGENTGYM_CORS_ORIGINS to allow it"
    )


def host_refusal(host: str) -> str:
    return (
        f"this server does not answer to the host {host[:100]!r} while authentication is off; "
        "use localhost or add the name to AGENTGYM_ALLOWED_HOSTS"
    )
