"""The streamer's counters, served at `/metrics` in Prometheus' text format."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class Metrics:
    connections: int = 0  # browsers connected now (gauge)
    sessions_watched: int = 0  # sessions with a NATS subscription now (gauge)
    messages_in: int = 0  # messages received from NATS
    messages_out: int = 0  # frames sent to browsers
    drops: int = 0  # updates conflated away for slow browsers
    slow_disconnects: int = 0  # browsers closed for staying behind
    gap_fills: int = 0  # times missed updates were read back from JetStream

    def render(self) -> str:
        gauges = {"connections", "sessions_watched"}
        lines = []
        for item in fields(self):
            name = f"agentgym_streamer_{item.name}" + ("" if item.name in gauges else "_total")
            kind = "gauge" if item.name in gauges else "counter"
            lines += [f"# TYPE {name} {kind}", f"{name} {getattr(self, item.name)}"]
        return "\n".join(lines) + "\n"
