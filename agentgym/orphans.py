"""A process pool's worker that ends with the process that opened it, however that one died.

A `concurrent.futures.ProcessPoolExecutor` worker waits for calls on a queue whose writing end
it holds itself, so it never sees its parent go: after a `kill -9` (or a test's server torn
down) it would live on, orphaned. Its pool's initializer starts `watch_parent`: a daemon thread
that ends the process once its parent is no longer the one that opened it.
"""

from __future__ import annotations

import os
import threading
import time

CHECK_S = 0.5  # how often the worker looks whether its parent still runs


def watch_parent(parent: int) -> None:
    """In a pool's worker: end this process once `parent` (the opener's pid) is gone."""
    threading.Thread(target=_end_with, args=(parent,), daemon=True).start()


def _end_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(CHECK_S)
    os._exit(0)
