"""Whether a saved model knows what it does not know: in scope for its own held-out requests,
out of scope for other domains', unsure of an intent it never trained on.

    .venv/bin/python tests/benchmarks/abstention.py [--seeds 0 1] [--episodes 2000] [--jobs 2]
        [--words]

Per built-in scenario and seed, two runs of the one training loop (a held-out evaluation every
100 episodes, as a worker trains), each saved and loaded back as `act` loads it:
- as the scenario is: its held-out requests should be in scope (target at least 95%), and the
  requests of tests/data/off_domain.txt (everyday questions, arithmetic, other businesses'
  support requests, written for this) out of scope (target at least 90%);
- with whole intents held out (every fifth of the scenario's, by name, and none of their tasks
  trained on): how many of their requests come back `unsure` (out of scope, less near the
  training requests than the validation ones come, or with a prediction set of more than one
  choice), beside how many of the held-out requests of trained intents do.

Today's model (`in_scope` the new measure: trainer/model/scope.py) is printed beside the one
before it (the share of the request's word features trained over all tools on offer, in scope
at 0.6), measured on the same models. `--words` trains without the sentence encoder. It never
fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OFF_DOMAIN = ROOT / "tests" / "data" / "off_domain.txt"
SCENARIOS = ("customer_support", "code_review", "data_analysis")
HELD_INTENTS = 5  # every fifth intent is held out whole
BEFORE = 0.6  # the measure before: in scope at this share of word features trained


def off_domain() -> list[str]:
    lines = OFF_DOMAIN.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def before(loaded: Any, text: str) -> bool:
    """The measure `in_scope` had before: the share of the request's word features the policy
    trained, over every tool on offer."""
    from trainer.model.features import State

    model = loaded.model
    step = model.context(text).step(State.of_calls([]))
    words = step.word_rows().ravel()
    return bool(len(words)) and float((model.params["w_pi"][words] != 0).mean()) >= BEFORE


def measure(scenario_id: str, seed: int, whole: bool, episodes: int, words: bool) -> dict[str, Any]:
    """A run's saved model: for each kind of request, (in scope now, in scope before, unsure)."""
    from trainer import scenarios
    from trainer.run import Run
    from trainer.training.loop import Evaluating, train

    spec = scenarios.get(scenario_id)
    held: set[str] = set()
    if whole:
        held = set(sorted({t.intent for t in spec.tasks})[::HELD_INTENTS])
        tasks = tuple(
            dataclasses.replace(t, split="heldout") if t.intent in held else t for t in spec.tasks
        )
        spec = dataclasses.replace(spec, tasks=tasks)
    run = Run(spec, 0.001, seed, episodes, **({"encoder": None} if words else {}))
    train(run, [Evaluating(100)])
    loaded, manifest = Run.from_bundle(run.bundle("LangChain")[1], spec)

    def answers(texts: list[str]) -> list[tuple[bool, bool, bool]]:
        found = []
        for text in texts:
            answer = loaded.act(text, ())
            found.append((answer.in_scope, before(loaded, text), answer.unsure))
        return found

    heldout = [t for t in loaded.heldout if t.intent not in held]
    return {
        "heldout": answers([t.text for t in heldout]),
        "unseen": answers([t.text for t in loaded.heldout if t.intent in held]),
        "off": [] if whole else answers(off_domain()),
        "scope": manifest.scope,
        "intents": sorted(held),
    }


def share(found: list[tuple[bool, bool, bool]], column: int, value: bool = True) -> float:
    return 100 * sum(row[column] == value for row in found) / max(1, len(found))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--words", action="store_true", help="train without the encoder")
    args = parser.parse_args()
    jobs = [(s, seed, whole) for s in SCENARIOS for seed in args.seeds for whole in (False, True)]
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = {job: pool.submit(measure, *job, args.episodes, args.words) for job in jobs}
        results = {job: future.result() for job, future in futures.items()}
    reads = "words alone" if args.words else "the sentence encoder"
    print(
        f"saved models after {args.episodes:,} episodes reading {reads}, seeds {args.seeds}; "
        f"{len(off_domain())} off-domain requests (in scope now / before):"
    )
    totals: dict[str, list[tuple[bool, bool, bool]]] = {"heldout": [], "off": [], "unseen": []}
    unsure_trained: list[tuple[bool, bool, bool]] = []
    for scenario_id in SCENARIOS:
        for seed in args.seeds:
            plain, whole = results[(scenario_id, seed, False)], results[(scenario_id, seed, True)]
            totals["heldout"] += plain["heldout"]
            totals["off"] += plain["off"]
            totals["unseen"] += whole["unseen"]
            unsure_trained += whole["heldout"]
            scope = plain["scope"]
            print(
                f"  {scenario_id:17s} seed {seed}: held-out in scope "
                f"{share(plain['heldout'], 0):.1f}% / {share(plain['heldout'], 1):.1f}%, "
                f"off-domain out of scope {share(plain['off'], 0, False):.1f}% / "
                f"{share(plain['off'], 1, False):.1f}% ({scope.measure} at {scope.threshold:.3f}"
                f", fitted on {scope.n}); intents {', '.join(whole['intents'])} never trained "
                f"on: unsure {share(whole['unseen'], 2):.1f}%, out of scope "
                f"{share(whole['unseen'], 0, False):.1f}% / {share(whole['unseen'], 1, False):.1f}%"
                f" (held-out of trained intents unsure {share(whole['heldout'], 2):.1f}%)"
            )
    heldout, off, unseen = totals["heldout"], totals["off"], totals["unseen"]
    print(
        f"all: held-out in scope {share(heldout, 0):.1f}% / {share(heldout, 1):.1f}% of "
        f"{len(heldout)} (target >= 95%); off-domain out of scope {share(off, 0, False):.1f}% / "
        f"{share(off, 1, False):.1f}% of {len(off)} (target >= 90%); never-trained intents "
        f"unsure {share(unseen, 2):.1f}% of {len(unseen)}, out of scope "
        f"{share(unseen, 0, False):.1f}% / {share(unseen, 1, False):.1f}%; trained intents' "
        f"held-out unsure {share(unsure_trained, 2):.1f}% "
        f"(median per run {statistics.median([share(results[j]['heldout'], 2) for j in jobs if j[2]]):.1f}%)"
    )


if __name__ == "__main__":
    main()
