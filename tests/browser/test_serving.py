"""How the API serves the dashboard at /ui (functions/dashboard.py): no browser needed."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from functions import dashboard
from functions.factory import create_app

ASSET = "index-Ab12Cd34.js"
SCRIPT = "console.log('AgentGym');\n" * 100  # compressible, past the gzip threshold


@pytest.fixture
def built(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(f'<script src="/ui/assets/{ASSET}"></script>')
    (tmp_path / "assets" / ASSET).write_text(SCRIPT)
    return tmp_path


def client(directory: Path | None) -> TestClient:
    # localhost: with authentication off, the API's guard refuses other Hosts.
    return TestClient(create_app(dashboard.make_router(directory)), base_url="http://localhost")


def test_index_is_served_at_ui_and_ui_slash_and_revalidated(built: Path) -> None:
    with client(built) as http:
        for path in ("/ui", "/ui/"):
            response = http.get(path, follow_redirects=False)
            assert response.status_code == 200, path
            assert ASSET in response.text
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["etag"]


def test_hashed_assets_are_gzipped_and_cached_for_a_year(built: Path) -> None:
    with client(built) as http:
        response = http.get(f"/ui/assets/{ASSET}", headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.text == SCRIPT  # decoded by the client
        raw = http.get(f"/ui/assets/{ASSET}", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in raw.headers
        assert len(gzip.compress(SCRIPT.encode())) < len(raw.content)


def test_unknown_files_and_paths_outside_the_build_are_404(built: Path) -> None:
    (built.parent / "secret.txt").write_text("no")
    with client(built) as http:
        assert http.get("/ui/assets/missing.js").status_code == 404
        assert http.get("/ui/../secret.txt").status_code == 404
        assert http.get("/ui/%2e%2e/secret.txt").status_code == 404


def test_not_built_is_a_503_page_that_says_what_to_install(tmp_path: Path) -> None:
    with client(tmp_path / "nothing") as http:
        response = http.get("/ui/")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "Node 20 and npm" in response.text and "make up" in response.text


def test_the_directory_comes_from_the_environment(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(dashboard.DIR_ENV, str(built))
    with client(None) as http:
        assert http.get("/ui/").status_code == 200


def test_the_api_guard_applies_to_the_dashboard(built: Path) -> None:
    with client(built) as http:
        response = http.get("/ui/", headers={"Host": "evil.example"})
    assert response.status_code == 403
    assert "AGENTGYM_ALLOWED_HOSTS" in response.json()["detail"]


def test_the_combined_app_serves_it() -> None:
    from functions.app import build

    with TestClient(build(), base_url="http://localhost") as http:
        response = http.get("/ui/")
    built = (dashboard.default_dir() / "index.html").is_file()
    assert response.status_code == (200 if built else 503)
