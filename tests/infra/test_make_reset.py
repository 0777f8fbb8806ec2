"""`make reset` forgets the local system's state and keeps the installation (issue 27: a
newcomer resetting with `make clean` lost the virtualenv)."""

from __future__ import annotations

import subprocess
from pathlib import Path

MAKEFILE = Path(__file__).resolve().parents[2] / "Makefile"


def test_reset_removes_the_local_state_and_keeps_the_virtualenv(tmp_path: Path) -> None:
    state = tmp_path / ".agentgym" / "artifacts"
    state.mkdir(parents=True)
    (tmp_path / ".agentgym" / "agentgym.db").write_bytes(b"sessions")
    installed = tmp_path / ".venv" / ".installed"
    installed.parent.mkdir()
    installed.touch()

    done = subprocess.run(
        ["make", "-f", str(MAKEFILE), "reset"], cwd=tmp_path, capture_output=True, text=True
    )

    assert done.returncode == 0, done.stderr
    assert not (tmp_path / ".agentgym").exists()
    assert installed.exists()
