"""Reading an uploaded scenario off the event loop, so one big upload never stalls the others.

Parsing and validating a file of tens of MiB holds the GIL for whole seconds (json's and
pydantic's C code release it at no point), so a thread would not do: under uvicorn a large
body goes to a process of its own (spawned at the first, then kept). On Lambda an instance
serves one request at a time and cannot run a process pool (no /dev/shm): a thread there.
The process answers with what the routes need, never an exception (ours do not all survive
pickling): the catalog entry, the report and the file to store, or the refusal.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentgym import catalog
from agentgym.records import ScenarioRecord

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from agentgym.scenario.parse import Problem, Report

IN_PROCESS_BYTES = 1024 * 1024  # smaller bodies parse in milliseconds: a thread is enough
_pool: ProcessPoolExecutor | None = None


@dataclass(frozen=True)
class Upload:
    """A valid upload: its catalog entry (one version), validation report and scenario file."""

    entry: ScenarioRecord
    report: Report
    data: bytes  # the normalized definition, as stored and downloaded


@dataclass(frozen=True)
class Refusal:
    """An upload refused: the HTTP status, what to fix, where, and the report if it was read."""

    status: int
    message: str
    problems: list[Problem]
    report: Report | None


def read(
    body: bytes, media_type: str, scenario_id: str | None, name: str | None
) -> Upload | Refusal:
    """Parse and validate `body` (pure: runs wherever it is sent)."""
    from agentgym.scenario.parse import ScenarioFileError, parse_scenario

    try:
        definition, report = parse_scenario(body, media_type, scenario_id=scenario_id, name=name)
    except ScenarioFileError as exc:
        return Refusal(exc.status, exc.message, exc.problems, exc.report)
    data = definition.dump()
    entry = catalog.entry(definition, report.warnings)
    entry.stored_bytes = len(data)
    return Upload(entry, report, data)


async def read_off_loop(
    body: bytes, media_type: str, scenario_id: str | None, name: str | None
) -> Upload | Refusal:
    args: tuple[Any, ...] = (body, media_type, scenario_id, name)
    if len(body) <= IN_PROCESS_BYTES or "AWS_LAMBDA_FUNCTION_NAME" in os.environ:
        return await asyncio.to_thread(read, *args)
    return await asyncio.get_running_loop().run_in_executor(_process(), read, *args)


def _process() -> ProcessPoolExecutor:
    # Imported here: a Lambda handler never takes this path, and its cold start would pay for
    # multiprocessing's import.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from agentgym import orphans

    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=orphans.watch_parent,  # it ends with the API, however that ends
            initargs=(os.getpid(),),
        )
    return _pool
