"""The scenario file: how users bring their own tools and tasks, and how every scenario,
built-in or custom, is defined. Pure: bytes in, a definition and a report out, no I/O.

A file is a JSON object or YAML mapping:

    id, name, description, difficulty, duration, rating,
    metrics, features, frameworks           catalog fields, all optional (defaults below)
    tools: [...]                            each in OpenAI, MCP or plain shape (tool_shapes)
    tasks: [{id?, text, solution, intent?, split?, tools?}, ...]
    logs: [{id?, text?, tools?, calls: [{tool, succeeded?, probability?, reward?}], reward?,
            time?, split?}, ...]       episodes agents played (agentgym.scenario.logs)
    hyperparameters: {max_episodes: {min, max, default}, learning_rate: {...}}   optional
    rewards: {solved, progress, failed_call, mistake, unfinished}                optional

or OpenAI chat fine-tuning JSONL (agentgym.scenario.chat_jsonl). Defaults: `name` is the id in
words ("customer_support": "Customer Support"); `duration` follows the default episode
count; `metrics` are what every run measures; `features` count the tasks, tools and intents;
`frameworks` are all three; a task without an id gets `task-00001` and so on by its
position (give ids to keep a task's id, and so its split, when tasks are added before it);
splits as agentgym.scenario.split says; a hyperparameter range's missing bound is the outer
bound, and its missing default the usual one moved inside the range. A file's `version` is
ignored: it is always recomputed.

The result is a ScenarioDefinition whose `dump()` reads back to itself, with the same version.
"""

from __future__ import annotations

import codecs
import gc
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from agentgym.contracts import FloatRange, Framework, Hyperparameters, IntRange
from agentgym.scenario.chat_jsonl import read_jsonl
from agentgym.scenario.checks import (
    Checking,
    assign_ids,
    check_splits,
    check_tasks,
    check_tools,
    warn_ambiguous,
    warn_small_heldout,
    warn_untaught,
    warn_unused,
)
from agentgym.scenario.definition import (
    DEFAULT_HYPERPARAMETERS,
    SCENARIO_ID,
    Rewards,
    ScenarioDefinition,
    Task,
    Tool,
    canonical_json,
    digest,
)
from agentgym.scenario.inputs import (
    MAX_NAME,
    CatalogIn,
    FloatRangeIn,
    HyperparametersIn,
    IntRangeIn,
    Suggester,
    ToolIn,
    read_catalog,
    read_logs,
    read_tasks,
    read_tools,
)
from agentgym.scenario.limits import DEFAULT_LIMITS, MAX_SCENARIO_BYTES, Limits
from agentgym.scenario.logs import GENERATED_LOG_ID, check_logs, split_logs
from agentgym.scenario.media import FORMATS
from agentgym.scenario.problems import (
    Collector,
    InvalidScenarioError,
    Loc,
    MalformedScenarioError,
    Problem,
    Report,
    ScenarioFileError,
    ScenarioTooLargeError,
    UnsupportedScenarioTypeError,
)
from agentgym.scenario.safe_json import loads as json_loads
from agentgym.scenario.split import assign_splits

__all__ = [
    "MAX_SCENARIO_BYTES",
    "InvalidScenarioError",
    "Limits",
    "MalformedScenarioError",
    "Problem",
    "Report",
    "Rewards",
    "ScenarioDefinition",
    "ScenarioFileError",
    "ScenarioTooLargeError",
    "Task",
    "Tool",
    "UnsupportedScenarioTypeError",
    "definition_from_dict",
    "parse_scenario",
]

DEFAULT_METRICS = ("Accuracy", "Held-out Accuracy", "Average Reward")
OTLP_KEYS = frozenset({"resourceSpans", "resource_spans", "resourceLogs", "resource_logs"})
_SCENARIO_ID = re.compile(SCENARIO_ID)


def parse_scenario(
    body: bytes,
    media_type: str,
    *,
    scenario_id: str | None = None,
    name: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[ScenarioDefinition, Report]:
    """The definition a scenario file holds, and the warnings about it.

    `media_type` may carry parameters (`; charset=utf-8`: the body is UTF-8 regardless).
    `scenario_id` supplies or replaces the file's id (JSONL has none: it is required there)
    and `name` its name. Raises ScenarioTooLargeError (413), UnsupportedScenarioTypeError
    (415), MalformedScenarioError (400) or InvalidScenarioError (422, whose `.report` has
    the warnings too)."""
    kind = FORMATS.get(media_type.split(";", 1)[0].strip().lower())
    if kind is None:
        raise UnsupportedScenarioTypeError(media_type, sorted(FORMATS))
    if len(body) > limits.max_bytes:
        raise ScenarioTooLargeError(len(body), limits.max_bytes)
    if kind == "jsonl" and scenario_id is None:
        msg = "a JSONL scenario has no header: the caller must give its id"
        raise InvalidScenarioError(Report(errors=[Problem(("id",), "id", msg)]))
    with _collector_paused():
        text = _decode(body)
        out = Collector(limits.max_problems)
        if kind == "json":
            data = _json(text, limits)
            if (export := trace_kind(data)) is not None:
                from agentgym.traces import files

                data = files.READERS[export]([(0, data)], out)
        elif kind == "yaml":
            from agentgym.scenario import (
                safe_yaml,  # PyYAML only when a body is YAML: ~10 ms a cold start
            )

            data = safe_yaml.load(text, limits)
        elif (export := trace_kind(_first_line(text))) is not None:
            # Imported here: the trace exports' readers, only for a body that is one.
            from agentgym.traces import files

            data = files.READERS[export](files.documents_of(text, limits), out)
        else:
            data, out.locate = read_jsonl(text, limits, out)
        del text
        return _normalize(data, scenario_id, name, limits, out)


def is_otlp(data: object) -> bool:
    """Whether a JSON document (or a JSONL file's first line, as data) is an OTLP export: what
    the OpenTelemetry Collector's file exporter writes (agentgym.traces.files)."""
    return isinstance(data, dict) and not OTLP_KEYS.isdisjoint(data)


def trace_kind(data: object) -> str | None:
    """Which trace export a JSON document or JSONL file's first line (as data) begins, if
    any: "otlp" (the OpenTelemetry Collector's file exporter), "langsmith" (a run or its
    feedback), "langfuse" (an observation, a score, or a page of them) or "openai_agents" (a
    trace or span of the OpenAI Agents SDK); agentgym.traces.files reads each."""
    if not isinstance(data, dict):
        return None
    keys = data.keys()
    if is_otlp(data):
        return "otlp"
    if {"run_type", "trace_id"} <= keys or {"key", "run_id"} <= keys:
        return "langsmith"
    if data.get("object") in ("trace", "trace.span"):
        return "openai_agents"
    if "data" in keys and "meta" in keys and isinstance(data["data"], list):
        return trace_kind(data["data"][0]) if data["data"] else "langfuse"
    if ({"traceId", "type", "startTime"} <= keys) or ({"traceId", "dataType", "value"} <= keys):
        return "langfuse"
    return None


def _first_line(text: str) -> object:
    """A JSONL text's first line, as data (None where it is not JSON)."""
    line = next((line for line in text.split("\n", 64) if line.strip()), "")
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return None


def _json(text: str, limits: Limits) -> object:
    """A JSON file's data; one that goes on after its first value is likely JSONL sent or
    named as JSON, and the error says so."""
    try:
        return json_loads(text, max_depth=limits.max_depth)
    except MalformedScenarioError as exc:
        if exc.problems[0].msg != "Extra data":
            raise
        msg = (
            "Extra data: a second JSON value follows the first; a file of one JSON object per"
            " line is chat JSONL (Content-Type: application/x-ndjson, or a .jsonl file)"
        )
        raise MalformedScenarioError(msg, exc.line, exc.column) from None


def definition_from_dict(
    data: object,
    *,
    scenario_id: str | None = None,
    name: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[ScenarioDefinition, Report]:
    """The definition of a scenario file already read into Python data (built-in scenarios,
    tests). InvalidScenarioError as parse_scenario."""
    with _collector_paused():
        return _normalize(data, scenario_id, name, limits, Collector(limits.max_problems))


_pause_lock = threading.Lock()
_pauses = 0
_was_enabled = False


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a file is read: reading builds millions
    of objects, none in a cycle, and the collector would walk them all again and again (half
    the time of a 32 MiB file). Counted, so parses in several threads (the API reads off its
    event loop) turn it back on only when the last one ends, and only if it was on."""
    global _pauses, _was_enabled
    with _pause_lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()


def _decode(body: bytes) -> str:
    """UTF-8, with a byte-order mark (some Windows editors write one) dropped."""
    if body.startswith(codecs.BOM_UTF8):
        body = body[len(codecs.BOM_UTF8) :]
    try:
        return body.decode()
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        column = exc.start - body.rfind(b"\n", 0, exc.start)
        raise MalformedScenarioError("not UTF-8 text", line, column) from None


def _normalize(
    data: object, scenario_id: str | None, name: str | None, limits: Limits, out: Collector
) -> tuple[ScenarioDefinition, Report]:
    """Read, check, split and complete `data`; InvalidScenarioError with every error found."""
    if not isinstance(data, dict):
        out.error((), "a scenario file is an object (a mapping, in YAML) with tools and tasks")
        raise InvalidScenarioError(out.report)
    _count_limits(data, limits)
    catalog = read_catalog(data, out)
    tools = read_tools(data.get("tools"), out)
    tasks = read_tasks(data.get("tasks"), out)
    logs = read_logs(data.get("logs"), out)
    scenario = _scenario_id(catalog, scenario_id, out)
    if name is not None and not 0 < len(name) <= MAX_NAME:
        out.error(("name",), f"should be 1-{MAX_NAME} characters, not {len(name)}")
    hyperparameters = _hyperparameters(catalog.hyperparameters if catalog else None, out)
    given = ((r.entry.fields or {}).get("name") for r in tools)
    known = {tool for tool in given if isinstance(tool, str)}
    ctx = Checking(out, limits, known, Suggester(known))
    if data.get("tools") == []:
        out.error(("tools",), "is empty: a scenario needs a tool")
    if not data.get("tasks") and not data.get("logs"):
        what = "is empty" if data.get("tasks") == [] else "is required"
        out.error(
            ("tasks",), f"{what}: a scenario needs tasks to train on and to hold out, or logs"
        )
    check_tools(tools, ctx)
    ids = assign_ids(tasks, ctx)
    check_tasks(tasks, ctx)
    splits = assign_splits(ids, [t.intent for _, t in tasks], [t.split for _, t in tasks])
    log_ids = assign_ids(logs, ctx, "logs", GENERATED_LOG_ID)
    times = check_logs(logs, ctx)
    log_splits = split_logs(log_ids, logs, times)
    # What training logs with an outcome teach (the tools they call): with them, tasks may all
    # be held out, to evaluate what the logs taught.
    logged = {
        call.tool
        for (_, log), split in zip(logs, log_splits, strict=True)
        if split == "train" and log.reward is not None
        for call in log.calls
    }
    if tasks:
        check_splits(tasks, splits, ctx, learned_from_logs=bool(logged))
    warn_unused(tools, tasks, ctx, {call.tool for _, log in logs for call in log.calls})
    warn_untaught(tasks, splits, ctx, logged)
    warn_small_heldout(tasks, splits, ctx)
    warn_ambiguous(tasks, ctx)
    if out.failed or catalog is None or scenario is None or hyperparameters is None:
        raise InvalidScenarioError(out.report)
    definition = _definition(
        catalog,
        scenario,
        name,
        hyperparameters,
        [r.tool for r in tools if r.tool is not None],
        [
            {**t.model_dump(), "id": i, "split": s}
            for (_, t), i, s in zip(tasks, ids, splits, strict=True)
        ],
        [
            {**log.model_dump(), "id": i, "time": time, "split": s}
            for (_, log), i, time, s in zip(logs, log_ids, times, log_splits, strict=True)
        ],
    )
    content = canonical_json(definition)
    items = len(definition.tools) + len(definition.tasks) + len(definition.logs)
    size = len(content) + 4 * items  # dump()'s layout
    if size > limits.max_bytes:
        msg = (
            f"normalized, the file is about {size} bytes, over the limit of "
            f"{limits.max_bytes}: a download of it could not be sent back as it is"
        )
        out.warn((), msg)
    return definition.model_copy(update={"version": digest(content)}), out.report


def _definition(
    catalog: CatalogIn,
    scenario: str,
    name: str | None,
    hyperparameters: Hyperparameters,
    tools: list[ToolIn],
    tasks: list[dict[str, Any]],
    logs: list[dict[str, Any]],
) -> ScenarioDefinition:
    """The complete definition, every default filled in (its version still to compute)."""
    intents = {t["intent"] for t in tasks if t["intent"] is not None}
    features = catalog.features
    return ScenarioDefinition.model_validate(
        {
            "id": scenario,
            "name": name or catalog.name or _words(scenario),
            "description": catalog.description,
            "difficulty": catalog.difficulty,
            "duration": catalog.duration or _duration(hyperparameters),
            "rating": catalog.rating,
            "metrics": list(DEFAULT_METRICS) if catalog.metrics is None else catalog.metrics,
            "features": _features(tools, len(tasks), len(intents))
            if features is None
            else features,
            "frameworks": list(dict.fromkeys(catalog.frameworks or Framework)),
            "tools": [t.model_dump() for t in tools],
            "tasks": tasks,
            "logs": logs,
            "hyperparameters": hyperparameters,
            "rewards": catalog.rewards.model_dump() if catalog.rewards else {},
            "version": "",
        }
    )


def _count_limits(data: dict[str, Any], limits: Limits) -> None:
    """Refuse a file with too many tools or tasks before reading any of them."""
    for key, limit, field in (
        ("tools", limits.max_tools, "max_tools"),
        ("tasks", limits.max_tasks, "max_tasks"),
        ("logs", limits.max_logs, "max_logs"),
    ):
        items = data.get(key)
        if isinstance(items, list) and len(items) > limit:
            msg = f"{len(items)} {key}; the limit is {limit} ({field})"
            raise InvalidScenarioError(Report(errors=[Problem.at((key,), msg)]))


def _scenario_id(catalog: CatalogIn | None, given: str | None, out: Collector) -> str | None:
    if given is None:
        if catalog is not None and catalog.id is None:
            out.error(("id",), "is required: name the scenario (letters, digits, '_' or '-')")
        return catalog.id if catalog else None
    if not _SCENARIO_ID.match(given):
        out.error(("id",), f"should be 1-64 letters, digits, '_' or '-', not {given!r}")
        return None
    if catalog is not None and catalog.id not in (None, given):
        out.warn(("id",), f"the file says {catalog.id!r}; the scenario is {given!r}")
    return given


def _hyperparameters(given: HyperparametersIn | None, out: Collector) -> Hyperparameters | None:
    """The ranges, each bound the file leaves out taken from DEFAULT_HYPERPARAMETERS."""
    usual = DEFAULT_HYPERPARAMETERS
    episodes = _range(
        given.max_episodes if given else None, usual.max_episodes, "max_episodes", out
    )
    rates = _range(
        given.learning_rate if given else None, usual.learning_rate, "learning_rate", out
    )
    if episodes is None or rates is None:
        return None
    return Hyperparameters.model_validate({"max_episodes": episodes, "learning_rate": rates})


def _range(
    given: IntRangeIn | FloatRangeIn | None,
    usual: IntRange | FloatRange,
    key: str,
    out: Collector,
) -> dict[str, float] | None:
    low = usual.min if given is None or given.min is None else given.min
    high = usual.max if given is None or given.max is None else given.max
    if given is None or given.default is None:
        default = min(max(usual.default, low), high)  # the usual default, moved into the range
    else:
        default = given.default
    loc: Loc = ("hyperparameters", key)
    if low > high:
        out.error((*loc, "min"), f"{low} is above max ({high})")
        return None
    if not low <= default <= high:
        out.error((*loc, "default"), f"{default} is outside min..max ({low}..{high})")
        return None
    return {"min": low, "max": high, "default": default}


def _words(scenario_id: str) -> str:
    """ "customer_support" as "Customer Support"."""
    words = re.split(r"[_-]+", scenario_id)
    return " ".join(w[:1].upper() + w[1:] for w in words if w) or scenario_id


def _duration(hyperparameters: Hyperparameters) -> str:
    """A rough label for how long a run of the default episode count takes."""
    episodes = hyperparameters.max_episodes.default
    return "minutes" if episodes <= 10_000 else "under an hour" if episodes <= 100_000 else "hours"


def _features(tools: list[ToolIn], tasks: int, intents: int) -> list[str]:
    def count(n: int, what: str) -> str:
        return f"{n} {what}" if n == 1 else f"{n} {what}s"

    features = [count(tasks, "task"), count(len(tools), "tool")]
    if intents:
        features.append(count(intents, "intent"))
    if any(t.failure_rate for t in tools):
        features.append("Transient tool failures")
    if any(t.fallback for t in tools):
        features.append("Tool fallbacks")
    features.append("Held-out evaluation")
    return features
