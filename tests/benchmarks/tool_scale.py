"""The learner at scale: a generated scenario of 1,000 tools, trained in a process of its own.

    .venv/bin/python tests/benchmarks/tool_scale.py [--tools 1000] [--tasks 20000]
        [--seconds 20] [--cpu N]

The scenario is generated (seeded) in code: each tool is named and described from a vocabulary
(a verb, an object, a qualifier), each task asks in words of its description for one to three
tools, and half the tasks offer every tool while the other half offer their solution's tools
among 5 to 60 others. Each run, customer_support's and the generated one's, is a fresh
process pinned to one core, as a trainer's slot runs a session: the run built, trained for
`--seconds` with a held-out evaluation every 100 episodes, then its peak resident memory
(VmHWM) and episodes per second, and the held-out accuracy it reached.

Targets: at most 256 MB for the 1,000-tool session; at least half customer_support's episodes
per second. It prints its figures; it never fails on a slow machine.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script, sys.path[0] is tests/benchmarks
    sys.path.insert(0, str(ROOT))

MEMORY_TARGET_MB = 256.0
SPEED_TARGET = 0.5  # of customer_support's episodes per second
EVAL_EVERY = 100


def _words(text: str) -> list[str]:
    return text.split()


VERBS = _words(
    "find create update delete list send check cancel refund export import sync merge archive "
    "restore approve reject assign schedule share"
)
OBJECTS = _words(
    "order invoice account password ticket shipment payment report user team project file "
    "calendar meeting contract quote lead customer product price coupon review message "
    "webhook backup license subscription device alert dashboard"
)
QUALIFIERS = _words(
    "draft overdue recurring archived shared pending internal external monthly weekly urgent "
    "legacy primary regional partner trial"
)
FILLER = _words("please could you i need to help me with my the a for our asap thanks today now")


def generate(n_tools: int, n_tasks: int, seed: int = 0) -> Any:
    """The scenario (a ScenarioSpec) of `n_tools` tools and `n_tasks` tasks, a fifth held out."""
    from trainer.scenarios.base import ScenarioSpec, Task

    rng = random.Random(seed)
    combos = [(v, o, q) for v in VERBS for o in OBJECTS for q in QUALIFIERS]
    rng.shuffle(combos)
    tools, descriptions, words = [], {}, {}
    for verb, obj, qualifier in combos[:n_tools]:
        name = f"{verb}_{qualifier}_{obj}"
        tools.append(name)
        descriptions[name] = f"{verb.capitalize()} a {qualifier} {obj} in the {obj} service."
        words[name] = (verb, qualifier, obj)
    tasks = []
    for i in range(n_tasks):
        solution = tuple(rng.sample(tools, rng.choice((1, 1, 2, 3))))
        asks = [" ".join(words[t]) for t in solution]
        text = " ".join(
            [rng.choice(FILLER), *" then ".join(asks).split(), rng.choice(FILLER), f"ref {i}"]
        )
        if i % 2:  # a retrieved few, as an agent offers its model
            others = rng.sample(tools, rng.randint(5, 60))
            offered = tuple(t for t in tools if t in set(others) | set(solution))
        else:
            offered = None  # every tool
        split = "heldout" if i % 5 == 4 else "train"
        tasks.append(Task(f"t{i:06d}", text, solution, words[solution[0]][0], split, offered))
    return ScenarioSpec(
        id="tool_scale",
        version="1",
        tools=tuple(tools),
        tasks=tuple(tasks),
        name="Tool scale",
        descriptions=descriptions,
    )


def _session(kind: str, n_tools: int, n_tasks: int, seconds: float, cpu: int, out: Any) -> None:
    """In a fresh process, as a slot: the scenario made, a run built and trained."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    from agentgym.contracts import Framework
    from trainer import scenarios
    from trainer.run import Run

    spec = scenarios.get("customer_support") if kind == "builtin" else generate(n_tools, n_tasks)
    run = Run(spec, 0.001, 0, 10**9)
    run.train_episode()  # first-call costs (imports, caches) out of the timing
    started, first, evaluating = time.perf_counter(), run.episode, 0.0
    while time.perf_counter() - started < seconds:
        run.train_episode()
        if run.episode % EVAL_EVERY == 0:
            evaluated = time.perf_counter()
            run.evaluate_heldout()
            evaluating += time.perf_counter() - evaluated
    spent = time.perf_counter() - started
    episodes = run.episode - first
    run.checkpoint()  # a checkpoint's serialization counts towards the peak too
    run.bundle(Framework.LANGCHAIN)  # and so does packing the best policy
    status = Path("/proc/self/status").read_text()
    peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    out.put(
        (
            episodes / (spent - evaluating),
            episodes / spent,
            peak_kb / 1024,
            run.episode,
            run.heldout_accuracy,
            len(run.heldout_sample),
        )
    )


def session(
    kind: str, n_tools: int, n_tasks: int, seconds: float, cpu: int
) -> tuple[float, float, float, int, float, int]:
    """(episodes/s training, episodes/s with the evaluations, peak resident MB, episodes,
    held-out accuracy, held-out tasks evaluated)."""
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    process = spawn.Process(target=_session, args=(kind, n_tools, n_tasks, seconds, cpu, out))
    process.start()
    result: tuple[float, float, float, int, float, int] = out.get(timeout=seconds + 900)
    process.join(30)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=20.0, help="training time per session")
    parser.add_argument("--cpu", type=int, default=None, help="the core to pin to")
    args = parser.parse_args()
    cpu = args.cpu if args.cpu is not None else sorted(os.sched_getaffinity(0))[-1]
    print(
        f"{args.tools} tools, {args.tasks} tasks (half offer every tool, half 6 to 63); "
        f"{args.seconds:g}s of training per session, pinned to CPU {cpu}"
    )
    results = {
        "customer_support": session("builtin", 0, 0, args.seconds, cpu),
        f"{args.tools:,} tools": session("generated", args.tools, args.tasks, args.seconds, cpu),
    }
    for name, (rate, overall, mb, episodes, heldout, n) in results.items():
        print(
            f"  {name:<17} {rate:7,.0f} episodes/s training ({overall:7,.0f} with the held-out "
            f"and validation evaluations every {EVAL_EVERY})  peak {mb:6.1f} MB  "
            f"({episodes} episodes, held-out {heldout:.1f}% of {n})"
        )
    (base, base_overall, *_), (rate, overall, mb, *_) = results.values()
    print(
        f"  memory: {mb:.0f} MB of the {MEMORY_TARGET_MB:.0f} MB allowed "
        f"({'met' if mb <= MEMORY_TARGET_MB else 'MISSED'}); training speed: {rate / base:.2f} "
        f"of customer_support's (target {SPEED_TARGET}: "
        f"{'met' if rate >= SPEED_TARGET * base else 'MISSED'}); with the evaluations: "
        f"{overall / base_overall:.2f}"
    )


if __name__ == "__main__":
    main()
