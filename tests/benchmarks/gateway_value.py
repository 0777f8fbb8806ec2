"""Proof of value: a simulated agent over held-out requests, finding its tool three ways, on a
real upstream MCP server of hundreds of tools.

    .venv/bin/python -m tests.benchmarks.gateway_value [--seed 0] [--episodes 2000]

The agent has one request to serve and one right tool for it (tests/data/many_tools.json's
held-out requests). It puts tool definitions in its context and calls the first it was served;
told that was the wrong tool, it searches once more and calls the first it has not tried yet.
Measured per way of finding tools: task success (the right tool called within those two
tries), the tool-definition tokens put in its context (gateway/catalog.py's `tokens`, four
characters a token), and the miss rate (the right tool was never among the definitions it was
served, so no choice could find it). The three ways:

- `agentgym gateway` as a process over the SDK's `MCPServer` (stdio) serving all the tools:
  `search_tools` (`limit` 5; an unsure answer is a wider set within its token budget), the
  calls through `call_tool` to the real upstream, and each outcome to `report_outcome`, the
  decisions written to a file as a gateway keeps them;
- BM25 tool search (`rank-bm25`'s Okapi over names and descriptions, 5 a search): what tool
  search does;
- every tool offered at once, as an agent without a chooser gets them. Which it would call
  depends on its language model, which this benchmark does not run: it is scored as choosing
  by MiniLM cosine between the request and each definition (what semantic tool filters do).
  Its token cost is exact; its success is that stand-in's.

It prints its figures and never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))  # ranking.py imports tfidf.py as a neighbour
from tests.benchmarks.gateway_accuracy import bm25, minilm
from tests.benchmarks.gateway_overhead import free_port, session, wait_until
from tests.benchmarks.ranking import SCENARIO

SEARCH_LIMIT = 5
TRIES = 2  # the first served tool, then, told it failed, one more search


class Tally:
    def __init__(self) -> None:
        self.solved = self.tokens = self.missed = self.tasks = 0

    def add(self, solved: bool, tokens: int, missed: bool) -> None:
        self.tasks += 1
        self.solved += solved
        self.tokens += tokens
        self.missed += missed

    def line(self, name: str) -> str:
        n = max(self.tasks, 1)
        return (
            f"  {name:34s} success {100 * self.solved / n:5.1f}%  tokens per task "
            f"{self.tokens / n:8,.0f}  miss rate {100 * self.missed / n:5.1f}%"
        )


def definition_tokens(spec: Any) -> dict[str, int]:
    """Each tool's definition as the upstream lists it (tests/gateway/upstream.py's server,
    built here: name, description, inputSchema), in tokens."""
    import anyio

    from gateway.catalog import tokens
    from tests.gateway.upstream import build

    server = build([{"name": t, "description": spec.descriptions.get(t, "")} for t in spec.tools],
                   extras=False)  # fmt: skip
    listed = anyio.run(server.list_tools)
    return {
        tool.name: tokens(
            {
                "name": tool.name,
                "description": tool.description or "",
                "inputSchema": tool.input_schema,
            }
        )
        for tool in listed
    }


def searched_locally(heldout: list[Any], rankings: list[list[str]], cost: dict[str, int]) -> Tally:
    """An agent over a search that answers the same `SEARCH_LIMIT` tools for the same request."""
    tally = Tally()
    for task, ranking in zip(heldout, rankings, strict=True):
        served = ranking[:SEARCH_LIMIT]
        right = task.solution[0]
        tokens = sum(cost[t] for t in served)
        solved = served[0] == right
        if not solved:  # told it failed: the same search again, the next tool
            tokens += sum(cost[t] for t in served)
            solved = len(served) > 1 and served[1] == right
        tally.add(solved, tokens, right not in served)
    return tally


def all_offered(heldout: list[Any], rankings: list[list[str]], cost: dict[str, int]) -> Tally:
    tally = Tally()
    everything = sum(cost.values())
    for task, ranking in zip(heldout, rankings, strict=True):
        right = task.solution[0]
        tally.add(right in ranking[:TRIES], everything, False)  # all in context: never missed
    return tally


async def agent_through_gateway(url: str, heldout: list[Any]) -> Tally:
    from gateway.catalog import tokens

    tally = Tally()
    http, opened = session(url)
    async with http, opened as mcp:
        for task in heldout:
            right, tried, spent, seen = task.solution[0], [], 0, set()
            solved = False
            for _ in range(TRIES):
                answer = await mcp.call_tool(
                    "search_tools", {"query": task.text, "limit": SEARCH_LIMIT}
                )
                found = answer.structured_content
                assert found is not None, answer.content
                shown = [
                    {k: t[k] for k in ("name", "description", "inputSchema")}
                    for t in found["tools"]
                ]
                spent += sum(tokens(t) for t in shown)
                seen |= {t["name"] for t in shown}
                untried = [t["name"] for t in shown if t["name"] not in tried]
                if not untried:
                    break
                tool = untried[0]
                tried.append(tool)
                called = await mcp.call_tool("call_tool", {"name": tool, "arguments": {},
                                                           "decision_id": found["decision_id"]})  # fmt: skip
                assert not called.is_error, called.content
                solved = tool == right
                outcome = {"decision_id": found["decision_id"], "reward": 1.0 if solved else 0.0}
                await mcp.call_tool("report_outcome", outcome)
                if solved:
                    break
            tally.add(solved, spent, right not in seen)
    return tally


def through_gateway(spec: Any, heldout: list[Any], seed: int, episodes: int) -> tuple[Tally, int]:
    """The agent's tally, and how many decisions the gateway wrote."""
    from agentgym.contracts import Framework
    from trainer.run import Run
    from trainer.training.loop import Evaluating, train

    run = Run(spec, 0.001, seed, episodes)
    train(run, [Evaluating(100)])
    with tempfile.TemporaryDirectory() as scratch:
        bundle, log = Path(scratch) / "model.agm", Path(scratch) / "decisions.jsonl"
        bundle.write_bytes(run.bundle(Framework.LANGCHAIN)[1])
        upstream = f"{sys.executable} -m tests.gateway.upstream stdio --no-extras --scenario-file {SCENARIO}"
        port = free_port()
        gateway = subprocess.Popen(
            [sys.executable, "-m", "agentgym.cli", "gateway", "--model", str(bundle),
             "--upstream", f"tools={upstream}", "--port", str(port), "--decisions", str(log)]
        )  # fmt: skip
        try:
            wait_until(f"http://127.0.0.1:{port}/healthz", lambda r: r.json()["upstreams"]["tools"])
            tally = asyncio.run(agent_through_gateway(f"http://127.0.0.1:{port}/mcp", heldout))
        finally:
            gateway.terminate()
            gateway.wait(10)
        logged = [json.loads(line) for line in log.read_text().splitlines()]
    return tally, sum(item["kind"] == "decision" for item in logged)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--episodes", type=int, default=2000)
    args = parser.parse_args()

    from trainer.offline import scenario

    spec = scenario(None, SCENARIO)
    heldout = [task for task in spec.split()[1] if len(task.solution) == 1]
    cost = definition_tokens(spec)
    semantic, _ = minilm(spec, heldout)
    print(f"{spec.id}: {len(spec.tools)} tools ({sum(cost.values()):,} tokens of definitions), "
          f"{len(heldout)} held-out requests of one right tool; the agent tries {TRIES} tools at most")  # fmt: skip
    print(all_offered(heldout, semantic, cost).line("every tool offered (MiniLM choosing)"))
    print(searched_locally(heldout, bm25(spec, heldout), cost).line("BM25 tool search"))
    tally, decisions = through_gateway(spec, heldout, args.seed, args.episodes)
    print(tally.line(f"agentgym gateway, seed {args.seed}"), f"({decisions} decisions logged)")


if __name__ == "__main__":
    main()
