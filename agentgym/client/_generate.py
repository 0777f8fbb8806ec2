"""Writes the blocking client (sync.py) from the async one (aio.py) with unasync, the way
httpcore derives its sync code, and each module of resources aio.py imports the same way
(`PAIRS`): `make client` after changing one; `--check` exits 1 when a generated module is not
what its source makes (tests/test_client_generated.py checks each). A development tool: it
needs the dev extras (unasync, ruff).

unasync drops `async` and `await`, maps asyncio's names to their blocking twins
(`__aenter__`, `AsyncIterator`, ...) and ours below; it leaves strings alone, so aio.py's
docstrings are written for both clients.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
SOURCE, TARGET = HERE / "aio.py", HERE / "sync.py"
PAIRS = {SOURCE: TARGET, HERE / "_loops_aio.py": HERE / "_loops_sync.py"}
REPLACEMENTS = {
    "AsyncClient": "Client",  # ours, and httpx's
    "AsyncExitStack": "ExitStack",
    "enter_async_context": "enter_context",
    "aclose": "close",
    "_async_io": "_sync_io",
    "asyncio": "sync",  # websockets.asyncio.client: the only `asyncio` aio.py names
    **{source.stem: target.stem for source, target in PAIRS.items() if source != SOURCE},
}
HEADER = "# Generated from {0} by `make client` (agentgym/client/_generate.py): edit {0}.\n"


def generate(source: Path = SOURCE) -> str:
    """The text of `source`'s generated module (PAIRS), as `source` makes it."""
    import unasync

    target = PAIRS[source]
    with tempfile.TemporaryDirectory() as tmp:
        copied = Path(tmp, "aio", "client.py")
        copied.parent.mkdir()
        shutil.copy(source, copied)
        unasync.unasync_files([str(copied)], [unasync.Rule("/aio/", "/sync/", REPLACEMENTS)])
        text = HEADER.format(source.name) + Path(tmp, "sync", "client.py").read_text()
    for ruff in (["check", "--select", "I", "--fix-only"], ["format"]):  # imports sorted, formatted
        text = subprocess.run(
            [sys.executable, "-m", "ruff", *ruff, "--stdin-filename", str(target), "-"],
            input=text,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="fail if a generated module is out of date"
    )
    check = parser.parse_args().check
    stale = 0
    for source, target in PAIRS.items():
        made = generate(source)
        if not check:
            target.write_text(made)
        elif target.read_text() != made:
            print(f"{target} is not what {source.name} makes: run `make client`", file=sys.stderr)
            stale = 1
    return stale


if __name__ == "__main__":
    sys.exit(main())
