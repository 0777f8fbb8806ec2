"""Processes that open the same new SQLite file at once (the API and a trainer started
together by `make up`) all set it up and write: none fails with "database is locked"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

WRITER = """
import asyncio, sys
from agentgym.store.sqlite import SqliteStore
asyncio.run(SqliteStore(sys.argv[1]).put("writer/" + sys.argv[2], b"x"))
"""
PROCESSES = 6
FILES = 30  # the race is rare: enough new files that it showed on most runs before the fix


def test_processes_opening_one_new_file_at_once_all_write(tmp_path: Path) -> None:
    for n in range(FILES):
        path = str(tmp_path / f"fresh-{n}.db")
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", WRITER, path, str(i)], stderr=subprocess.PIPE, text=True
            )
            for i in range(PROCESSES)
        ]
        errors = [w.communicate()[1] for w in writers]
        failures = [e for w, e in zip(writers, errors, strict=True) if w.returncode != 0]
        assert not failures, failures[0]
        rows = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import sqlite3; print(sqlite3.connect({path!r})"
                ".execute('SELECT count(*) FROM kv').fetchone()[0])",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert int(rows) == PROCESSES
