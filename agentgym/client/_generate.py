"""Writes the blocking client (sync.py) from the async one (aio.py) with unasync, the way
httpcore derives its sync code: `make client` after changing aio.py; `--check` exits 1 when
sync.py is not what aio.py makes (tests/test_client_generated.py runs it). A development
tool: it needs the dev extras (unasync, ruff).

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
REPLACEMENTS = {
    "AsyncClient": "Client",  # ours, and httpx's
    "AsyncExitStack": "ExitStack",
    "enter_async_context": "enter_context",
    "aclose": "close",
    "_async_io": "_sync_io",
    "asyncio": "sync",  # websockets.asyncio.client: the only `asyncio` aio.py names
}
HEADER = "# Generated from aio.py by `make client` (agentgym/client/_generate.py): edit aio.py.\n"


def generate() -> str:
    """sync.py's text, as aio.py makes it."""
    import unasync

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp, "aio", "client.py")
        source.parent.mkdir()
        shutil.copy(SOURCE, source)
        unasync.unasync_files([str(source)], [unasync.Rule("/aio/", "/sync/", REPLACEMENTS)])
        text = HEADER + Path(tmp, "sync", "client.py").read_text()
    for ruff in (["check", "--select", "I", "--fix-only"], ["format"]):  # imports sorted, formatted
        text = subprocess.run(
            [sys.executable, "-m", "ruff", *ruff, "--stdin-filename", str(TARGET), "-"],
            input=text,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if sync.py is out of date")
    made = generate()
    if parser.parse_args().check:
        if TARGET.read_text() != made:
            print(f"{TARGET} is not what {SOURCE.name} makes: run `make client`", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(made)
    return 0


if __name__ == "__main__":
    sys.exit(main())
