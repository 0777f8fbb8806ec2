"""`/api/aliases` over the real API (uvicorn, SQLite, file artifacts): setting, reading and
rolling back aliases with their history; the models' routes through an alias; what aliases
refuse (409, 404, 412, 422); compare-and-set under concurrent moves; another tenant's aliases;
and `agentgym aliases`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentgym import aliases, bundle, cli
from agentgym.auth import hash_key, new_key
from agentgym.config import ApiSettings
from agentgym.errors import AliasMovedError, AliasTargetMissingError, ModelAliasedError
from agentgym.records import Keys
from agentgym.store import KeyValueStore
from functions.app import build
from functions.resources import Resources

from ..servers import serve_asgi
from .test_models import make_bundle, post_bundle, variant


def imported(api: httpx.Client, number: int) -> str:
    """A model of the tenant's own (imported, each `number` a different one): its id."""
    response = post_bundle(api, make_bundle(weights=variant(number)), name=f"m{number}")
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def put(api: httpx.Client, name: str, model_id: str, **more: Any) -> httpx.Response:
    return api.put(f"/api/aliases/{name}", json={"model_id": model_id} | more)


def test_an_alias_names_a_model_and_keeps_its_history(api: httpx.Client) -> None:
    first, second = imported(api, 1), imported(api, 2)
    made = put(api, "production", first, why="the first one")
    assert made.status_code == 200, made.text
    assert made.headers["etag"] == '"1"'
    moved = put(api, "production", second).json()
    assert (moved["name"], moved["model_id"], moved["version"]) == ("production", second, 2)
    history = api.get("/api/aliases/production").json()["history"]
    assert [(c["model_id"], c["by"], c["why"], c["rollback"]) for c in history] == [
        (first, "tenant default", "the first one", False),
        (second, "tenant default", None, False),
    ]
    assert history[0]["at"] <= history[1]["at"]  # ISO times, in order
    assert [a["name"] for a in api.get("/api/aliases").json()] == ["production"]
    put(api, "canary", "production")  # an alias given for the model: the model it names
    assert api.get("/api/aliases/canary").json()["model_id"] == second
    assert [a["name"] for a in api.get("/api/aliases").json()] == ["canary", "production"]


def test_the_models_routes_take_an_alias_and_answer_the_real_id(api: httpx.Client) -> None:
    model_id = imported(api, 3)
    put(api, "production", model_id)
    detail = api.get("/api/models/production").json()
    assert (detail["id"], detail["alias"]) == (model_id, "production")
    assert api.get(f"/api/models/{model_id}").json()["alias"] is None
    download = api.get("/api/models/production/download")
    assert (
        download.status_code == 200
        and f"{model_id}{bundle.SUFFIX}" in download.headers["content-disposition"]
    )
    assert download.content == api.get(f"/api/models/{model_id}/download").content
    # No trainer runs here: act and evaluate reach the point of asking one, for the real model.
    for path in ("act", "evaluate"):
        answer = api.post(f"/api/models/production/{path}", json={"text": "refund order 7"}
                          if path == "act" else None)  # fmt: skip
        assert answer.status_code == 503 and "no trainer" in answer.json()["detail"]
    assert api.get("/api/models/staging").status_code == 404


def test_rollbacks_undo_moves_in_turn_until_there_is_none(api: httpx.Client) -> None:
    ids = [imported(api, n) for n in (4, 5, 6)]
    for model_id in ids:
        put(api, "production", model_id)
    back = api.post("/api/aliases/production/rollback", json={"why": "v3 refunds twice"})
    assert back.status_code == 200 and back.json()["model_id"] == ids[1]
    last = back.json()["history"][-1]
    assert (last["rollback"], last["why"]) == (True, "v3 refunds twice")
    again = api.post("/api/aliases/production/rollback")  # no body: a why of its own
    assert again.json()["model_id"] == ids[0]
    assert again.json()["history"][-1]["why"] == f"rollback from {ids[1]}"
    none = api.post("/api/aliases/production/rollback")
    assert none.status_code == 409 and "no model before" in none.json()["detail"]
    assert api.get("/api/aliases/production").json()["version"] == 5  # the refusal wrote nothing
    fresh = put(api, "fresh", ids[2]).json()
    assert fresh["version"] == 1
    assert api.post("/api/aliases/fresh/rollback").status_code == 409


def test_a_model_an_alias_names_cannot_be_deleted(api: httpx.Client) -> None:
    kept, other = imported(api, 7), imported(api, 8)
    put(api, "production", kept)
    put(api, "shadow", kept)
    for named in (kept, "production"):
        refused = api.delete(f"/api/models/{named}")
        assert refused.status_code == 409, refused.text
        assert "'production', 'shadow'" in refused.json()["detail"]
    assert api.get(f"/api/models/{kept}").status_code == 200  # untouched
    put(api, "production", other)
    assert api.delete("/api/aliases/shadow").json() == {"status": "deleted"}
    assert api.delete(f"/api/models/{kept}").json() == {"status": "deleted"}
    assert api.get("/api/aliases/shadow").status_code == 404
    # The history may name a model since deleted: a rollback to it is refused, saying so.
    back = api.post("/api/aliases/production/rollback")
    assert back.status_code == 409 and kept in back.json()["detail"]
    assert api.get("/api/aliases/production").json()["model_id"] == other


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("Production", "lowercase"),
        ("model_abc", "model_"),
        ("2fast", "starting with a letter"),
        ("a" * 65, "1-64"),
        ("pro%2Educt", "lowercase"),
    ],
)
def test_a_bad_name_is_422_saying_the_rule(api: httpx.Client, name: str, says: str) -> None:
    model_id = imported(api, 9)
    for response in (put(api, name, model_id), api.get(f"/api/aliases/{name}")):
        assert response.status_code == 422, response.text
        assert says in response.json()["detail"] and response.json()["errors"][0]["loc"] == [
            "path", "name",
        ]  # fmt: skip


def test_what_aliases_refuse_says_what_to_fix(api: httpx.Client) -> None:
    missing = put(api, "production", "model_0000000000000000")
    assert missing.status_code == 409 and "model_0000000000000000" in missing.json()["detail"]
    via_unknown_alias = put(api, "production", "staging")
    assert via_unknown_alias.status_code == 409 and "staging" in via_unknown_alias.text
    assert api.get("/api/aliases").json() == []  # nothing was made
    unknown = api.get("/api/aliases/production")
    assert unknown.status_code == 404 and "PUT /api/aliases/production" in unknown.text
    assert api.post("/api/aliases/production/rollback").status_code == 404
    assert api.delete("/api/aliases/production").status_code == 404
    no_model = api.put("/api/aliases/production", json={"why": "x"})
    assert no_model.status_code == 422 and "model_id" in no_model.json()["detail"]
    extra = api.put("/api/aliases/production", json={"model_id": "m", "owner": "me"})
    assert extra.status_code == 422 and "owner" in extra.json()["detail"]
    long_why = put(api, "production", "m", why="x" * 501)
    assert long_why.status_code == 422 and "why" in long_why.json()["detail"]


def test_a_move_with_a_stale_if_match_is_412_and_changes_nothing(api: httpx.Client) -> None:
    first, second = imported(api, 10), imported(api, 11)
    etag = put(api, "production", first).headers["etag"]
    put(api, "production", second)  # someone else, meanwhile
    stale = api.put("/api/aliases/production", json={"model_id": first}, headers={"If-Match": etag})
    assert stale.status_code == 412, stale.text
    assert "moved since version 1" in stale.json()["detail"] and second in stale.json()["detail"]
    current = api.get("/api/aliases/production")
    assert current.json()["model_id"] == second
    fresh = api.post(
        "/api/aliases/production/rollback", headers={"If-Match": current.headers["etag"]}
    )
    assert fresh.status_code == 200 and fresh.json()["model_id"] == first
    bad = api.put("/api/aliases/production", json={"model_id": first}, headers={"If-Match": "x"})
    assert bad.status_code == 412 and "GET /api/aliases/production" in bad.json()["detail"]


async def test_concurrent_moves_all_land_in_the_history(api: httpx.Client, base_url: str) -> None:
    ids = [imported(api, n) for n in range(20, 24)]
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        answers = await asyncio.gather(
            *(
                http.put("/api/aliases/production", json={"model_id": ids[n % 4], "why": f"w{n}"})
                for n in range(12)
            )
        )
    assert [a.status_code for a in answers] == [200] * 12
    alias = api.get("/api/aliases/production").json()
    assert alias["version"] == 12  # no move lost
    assert sorted(c["why"] for c in alias["history"]) == sorted(f"w{n}" for n in range(12))
    assert sorted(a.json()["version"] for a in answers) == list(range(1, 13))  # each its own
    assert alias["model_id"] == alias["history"][-1]["model_id"]


async def test_a_loop_runs_move_loses_to_a_move_made_meanwhile(
    api: httpx.Client, store: KeyValueStore
) -> None:
    serving, candidate, by_hand = imported(api, 30), imported(api, 31), imported(api, 32)
    decided_on = await aliases.move(store, Keys(), "production", serving, by="tenant default")
    put(api, "production", by_hand, why="hotfix")  # while the run decides
    with pytest.raises(AliasMovedError) as lost:
        await aliases.move(store, Keys(), "production", candidate, by="loop run r1",
                           why="promoted", expected=decided_on.version)  # fmt: skip
    assert lost.value.model_id == by_hand and lost.value.by == "tenant default"
    assert "nothing was changed" in str(lost.value)
    assert api.get("/api/aliases/production").json()["model_id"] == by_hand
    won = await aliases.move(store, Keys(), "production", candidate, by="loop run r2",
                             why="promoted: +4.1 points", expected=2)  # fmt: skip
    assert won.history[-1].by == "loop run r2" and won.model_id == candidate
    with pytest.raises(AliasMovedError):  # expected 0: only if there is none yet
        await aliases.move(store, Keys(), "production", candidate, by="x", expected=0)


async def test_a_delete_under_way_and_a_move_never_both_win(
    api: httpx.Client, store: KeyValueStore
) -> None:
    going, staying = imported(api, 40), imported(api, 41)
    await aliases.claim_for_deletion(store, Keys(), going)  # a delete that got this far
    with pytest.raises(AliasTargetMissingError):
        await aliases.move(store, Keys(), "production", going, by="x")
    assert api.get("/api/aliases").json() == []  # put back as it was: not there
    await aliases.move(store, Keys(), "production", staying, by="x")
    with pytest.raises(ModelAliasedError):
        await aliases.claim_for_deletion(store, Keys(), staying)
    assert api.delete(f"/api/models/{going}").json() == {"status": "deleted"}  # it finishes


def test_the_cli_sets_lists_shows_and_rolls_back(
    api: httpx.Client, base_url: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("AGENTGYM_API_URL", base_url)
    first, second = imported(api, 50), imported(api, 51)
    assert cli.main(["aliases", "set", "production", first, "--why", "first"]) == 0
    assert cli.main(["aliases", "set", "production", second]) == 0
    assert f"set to {second} by tenant default" in capsys.readouterr().out
    assert cli.main(["aliases", "list"]) == 0
    assert capsys.readouterr().out.split()[:3] == ["production", second, "v2"]
    assert cli.main(["aliases", "rollback", "production", "--why", "bad"]) == 0
    assert f"rolled back to {first} by tenant default: bad" in capsys.readouterr().out
    assert cli.main(["aliases", "show", "production"]) == 0
    shown = capsys.readouterr().out
    assert shown.count("\n") == 4 and "first" in shown  # the alias, then each of 3 changes
    assert cli.main(["aliases", "set", "production", "model_nope"]) == 1
    assert "409" in capsys.readouterr().err
    assert cli.main(["aliases", "set", "Bad", first]) == 1
    assert "path.name" in capsys.readouterr().err


# --- two tenants ----------------------------------------------------------------------------

KEYS = {tenant: new_key() for tenant in ("acme", "globex")}


@pytest.fixture
def tenants(tmp_path: Path, nats_server_for_module: str) -> Iterator[dict[str, httpx.Client]]:
    settings = ApiSettings(
        data_dir=tmp_path,
        nats_url=nats_server_for_module,
        store_url=f"sqlite:///{tmp_path / 'agentgym.db'}",
        artifacts_url=f"file://{tmp_path / 'artifacts'}",
        auth="apikey",
        api_keys=",".join(f"{tenant}:{hash_key(key)}" for tenant, key in KEYS.items()),
    )
    with serve_asgi(build(Resources(settings))) as url:
        clients = {
            tenant: httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"})
            for tenant, key in KEYS.items()
        }
        yield clients
        for http in clients.values():
            http.close()


def test_another_tenants_alias_is_not_found_and_names_none_of_its_models(
    tenants: dict[str, httpx.Client],
) -> None:
    acme, globex = tenants["acme"], tenants["globex"]
    model_id = imported(acme, 60)
    made = put(acme, "production", model_id)
    assert made.json()["history"][0]["by"] == "tenant acme"
    for method, path in (
        ("GET", "/api/aliases/production"), ("POST", "/api/aliases/production/rollback"),
        ("DELETE", "/api/aliases/production"), ("GET", "/api/models/production"),
        ("GET", "/api/models/production/download"),
    ):  # fmt: skip
        response = globex.request(method, path)
        assert response.status_code == 404, (method, path, response.text)
    assert globex.get("/api/aliases").json() == []
    assert put(globex, "production", model_id).status_code == 409  # not its model
    assert put(globex, "mine", "production").status_code == 409  # nor its alias
    assert acme.get("/api/models/production").json()["id"] == model_id  # untouched
