"""A custom scenario at scale: 1,000 tools and 100,000 tasks, validated, pushed and trained.

    .venv/bin/python -m tests.benchmarks.scenario_scale [--tools 1000] [--tasks 100000]
        [--available 10] [--seconds 20]

The scenario is generated (seeded): each tool is named and described from a vocabulary of its
own, each task's text asks for its solution's tools in words drawn from their descriptions
(with filler), and offers the solution's tools plus distractors, `--available` in all, as an
agent with many tools offers a retrieved few per request (OpenAI chat JSONL lists each
conversation's tools the same way). Measured, each in the same run:

- validation: `parse_scenario` of the file's bytes, in this process;
- push: `POST /api/scenarios` to the API (`functions.app` under uvicorn, SQLite, file
  artifacts), until its 201;
- training, in a fresh process per scenario as a trainer's slot runs it (the worker reads the
  definition and hands its slot the scenario): a `Run` built, then episodes for `--seconds`;
  that process's peak resident memory (VmHWM) and episodes per second, beside the same for
  customer_support.

Targets: pushed in under 30 s; at most 256 MB for the session; at least half customer_support's
episodes per second. It prints its figures; it never fails on a slow machine.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script, sys.path[0] is tests/benchmarks
    sys.path.insert(0, str(ROOT))

PUSH_TARGET_S = 30.0
MEMORY_TARGET_MB = 256.0
SPEED_TARGET = 0.5  # of customer_support's episodes per second

VERBS = "find get create update delete list send check cancel refund export import sync merge"
NOUNS = (
    "order invoice account password ticket shipment payment report user team project file "
    "calendar meeting contract quote lead customer product price coupon review message"
)
FILLER = [
    "please",
    "could",
    "you",
    "i",
    "need",
    "to",
    "help",
    "me",
    "with",
    "my",
    "the",
    "a",
    "for",
    "our",
    "asap",
    "thanks",
    "today",
    "now",
]


def generate(n_tools: int, n_tasks: int, available: int, seed: int = 0) -> dict[str, Any]:
    """A scenario file (as a dict) with `n_tools` tools and `n_tasks` tasks."""
    rng = random.Random(seed)
    verbs, nouns = VERBS.split(), NOUNS.split()
    tools = []
    for i in range(n_tools):
        verb, noun, other = rng.choice(verbs), rng.choice(nouns), rng.choice(nouns)
        marks = [f"w{i}x{j}" for j in range(3)]  # what only this tool's requests say
        tools.append(
            {
                "name": f"{verb}_{noun}_{i}",
                "description": f"{verb.title()} a {noun} by its {other} ({' '.join(marks)}).",
            }
        )
    names = [tool["name"] for tool in tools]
    tasks = []
    for i in range(n_tasks):
        solution = rng.sample(range(n_tools), rng.randint(1, 3))
        words: list[str] = []
        for tool in solution:
            description = tools[tool]["description"].replace("(", "").replace(").", "")
            words += rng.sample(description.lower().split(), 3) + rng.sample(FILLER, 2)
        offered = set(solution)
        while len(offered) < min(max(available, len(solution)), n_tools):
            offered.add(rng.randrange(n_tools))
        task = {
            "id": f"t{i:06d}",
            "text": " ".join(words),
            "solution": [names[t] for t in solution],
        }
        if available < n_tools:  # otherwise a task offers every tool, as the format's default
            task["tools"] = [names[t] for t in sorted(offered)]
        tasks.append(task)
    return {"id": "scale", "name": "Generated at scale", "tools": tools, "tasks": tasks}


def push_seconds(body: bytes) -> float:
    """Wall time of POST /api/scenarios to a real API over SQLite and file artifacts."""
    import httpx

    from agentgym.config import ApiSettings
    from functions.app import build
    from functions.resources import Resources
    from tests.servers import serve_asgi

    with tempfile.TemporaryDirectory(prefix="agentgym-scale-") as tmp:
        settings = ApiSettings(
            data_dir=Path(tmp),
            store_url=f"sqlite:///{tmp}/agentgym.db",
            artifacts_url=f"file://{tmp}/artifacts",
        )
        with serve_asgi(build(Resources(settings))) as url, httpx.Client(timeout=300) as http:
            started = time.perf_counter()
            response = http.post(
                f"{url}/api/scenarios", content=body, headers={"Content-Type": "application/json"}
            )
            elapsed = time.perf_counter() - started
            if response.status_code != 201:
                raise RuntimeError(f"push failed: {response.status_code} {response.text[:500]}")
    return elapsed


def _train(spec: Any, seconds: float, out: Any) -> None:
    """In a fresh process, as a slot: given the scenario as a worker hands it over (the worker
    reads the definition; its slot receives the spec), a run built and trained for `seconds`."""
    from trainer import scenarios
    from trainer.run import Run

    run = Run(spec or scenarios.get("customer_support"), 0.001, 0, 10**9)
    run.update()  # first-call costs (imports, caches) out of the timing
    started, episodes = time.perf_counter(), run.episode
    while time.perf_counter() - started < seconds:
        run.update()
    rate = (run.episode - episodes) / (time.perf_counter() - started)
    status = Path("/proc/self/status").read_text()
    peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    out.put((rate, peak_kb / 1024))


def train(spec: Any, seconds: float) -> tuple[float, float]:
    """(episodes per second, peak resident MB) of a session of the scenario (None: of
    customer_support)."""
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    process = spawn.Process(target=_train, args=(spec, seconds, out))
    process.start()
    result: tuple[float, float] = out.get(timeout=seconds + 600)
    process.join(30)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--available", type=int, default=10, help="tools offered per task")
    parser.add_argument("--seconds", type=float, default=20.0, help="training time per scenario")
    args = parser.parse_args()

    from agentgym.scenario_file import parse_scenario

    body = json.dumps(
        generate(args.tools, args.tasks, args.available), separators=(",", ":")
    ).encode()
    print(f"generated: {args.tools} tools, {args.tasks} tasks, {args.available} offered per task, "
          f"{len(body) / 2**20:.1f} MiB of JSON")  # fmt: skip
    started = time.perf_counter()
    definition, report = parse_scenario(body, "application/json")
    validated = time.perf_counter() - started
    counts = definition.counts()
    print(f"validation: {validated:.2f} s ({counts['heldout']} held out, "
          f"{len(report.warnings)} warnings)")  # fmt: skip
    pushed = push_seconds(body)
    verdict = "met" if pushed < PUSH_TARGET_S else "MISSED"
    print(f"push: {pushed:.2f} s until 201 (target < {PUSH_TARGET_S:.0f} s: {verdict})")

    from trainer import scenarios

    scale_rate, scale_mb = train(scenarios.spec_of(definition), args.seconds)
    base_rate, base_mb = train(None, args.seconds)
    ratio = scale_rate / base_rate if base_rate else 0.0
    print(f"customer_support session: {base_rate:8.0f} episodes/s, peak {base_mb:6.1f} MB")
    print(f"generated session:        {scale_rate:8.0f} episodes/s, peak {scale_mb:6.1f} MB")
    memory = "met" if scale_mb <= MEMORY_TARGET_MB else "MISSED"
    speed = "met" if ratio >= SPEED_TARGET else "MISSED"
    print(f"  memory: {scale_mb:.1f} MB (target <= {MEMORY_TARGET_MB:.0f} MB: {memory})")
    print(f"  speed: {ratio:.2f}x customer_support's (target >= {SPEED_TARGET}x: {speed})")


if __name__ == "__main__":
    main()
