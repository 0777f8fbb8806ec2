"""The dashboard's transferred size: index.html and every file it loads, fetched through a
running API with `Accept-Encoding: gzip`, the bytes on the wire (compressed bodies) summed.

    .venv/bin/python tests/benchmarks/dashboard_size.py                      # its own API
    .venv/bin/python tests/benchmarks/dashboard_size.py --url http://127.0.0.1:8000

Without --url it starts `agentgym api` on a free port (serving /ui needs no NATS or store).
Build the dashboard first (`make dashboard`).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx

from agentgym.nats_server import free_port


class _Links(HTMLParser):
    """What a page loads: scripts, stylesheets, preloads, icons (not data: URLs)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        url = found.get("src") if tag == "script" else found.get("href") if tag == "link" else None
        if url and not url.startswith("data:"):
            self.urls.append(url)


CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")


@contextmanager
def api_server() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "agentgym.cli", "api", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/healthz")
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(20)


def fetch(client: httpx.Client, url: str) -> tuple[bytes, int, str]:
    """The decoded body, the bytes received for it, and its Content-Encoding."""
    with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as response:
        response.raise_for_status()
        body = response.read()
        return body, response.num_bytes_downloaded, response.headers.get("content-encoding", "-")


def measure(base: str) -> None:
    rows: list[tuple[str, int, int, str]] = []
    with httpx.Client(timeout=30) as client:
        index_url = f"{base}/ui/"
        body, wire, encoding = fetch(client, index_url)
        rows.append(("/ui/", wire, len(body), encoding))
        parser = _Links()
        parser.feed(body.decode())
        queue = [urljoin(index_url, u) for u in parser.urls]
        seen: set[str] = set()
        while queue:
            url = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            body, wire, encoding = fetch(client, url)
            rows.append((url.removeprefix(base), wire, len(body), encoding))
            if url.endswith(".css"):
                queue += [urljoin(url, u) for u in CSS_URL.findall(body.decode())]
    width = max(len(r[0]) for r in rows)
    print(f"{'file':{width}}  {'on the wire':>12}  {'decoded':>10}  encoding")
    for path, wire, size, encoding in rows:
        print(f"{path:{width}}  {wire:>12,}  {size:>10,}  {encoding}")
    total_wire, total = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(
        f"{'total':{width}}  {total_wire:>12,}  {total:>10,}  ({total_wire / 1024:.1f} KiB transferred)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running API (default: start one)")
    args = parser.parse_args()
    if args.url:
        measure(args.url.rstrip("/"))
    else:
        with api_server() as url:
            measure(url)


if __name__ == "__main__":
    main()
