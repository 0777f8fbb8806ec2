"""How calls join the decisions they followed, and which decisions were searched again
(agentgym/decisions.py's `Joined`): pure, on items as the API keeps them."""

from __future__ import annotations

from typing import Any

from agentgym.decisions import JOIN_WINDOW_S, Joined


def decision(id: str, at: float, session: str | None = "s1", **more: Any) -> dict[str, Any]:
    return {"kind": "decision", "id": id, "time": at, "session": session,
            "served": ["a", "b"]} | more  # fmt: skip


def call(id: str, at: float, tool: str, session: str | None = "s1", **more: Any) -> dict[str, Any]:
    return {"kind": "call", "id": id, "time": at, "tool": tool, "session": session,
            "decision_id": None, "is_error": False} | more  # fmt: skip


def test_a_named_decision_wins_and_a_bare_call_joins_its_sessions_latest_search() -> None:
    items = [
        decision("d1", 0.0),
        decision("d2", 1.0),
        call("c1", 2.0, "b"),  # no id: the session's latest, d2, where it ranked second
        call("c2", 3.0, "a", decision_id="d1"),  # named: d1, whatever came since
        call("c3", 4.0, "z", session="s2"),  # another session: nothing
    ]
    joined = Joined(items)
    assert [(c["id"], c["joined"], c["rank"]) for c in joined.calls["d2"]] == [("c1", "session", 1)]
    assert [(c["id"], c["joined"], c["rank"]) for c in joined.calls["d1"]] == [("c2", "id", 0)]
    assert "c3" not in {c["id"] for calls in joined.calls.values() for c in calls}


def test_a_search_again_before_any_call_marks_the_first_and_paging_does_not() -> None:
    items = [decision("d1", 0.0), decision("d2", 5.0), call("c1", 6.0, "a")]
    assert Joined(items).searched_again == {"d1"}
    called_first = [decision("d1", 0.0), call("c1", 1.0, "a"), decision("d2", 5.0)]
    assert Joined(called_first).searched_again == set()  # it took what it was served, then more
    paged = [decision("d1", 0.0), decision("d2", 1.0, cursor="5")]
    assert Joined(paged).searched_again == set()  # the next page of the same search
    too_late = [decision("d1", 0.0), decision("d2", JOIN_WINDOW_S + 1)]
    assert Joined(too_late).searched_again == set()
    stale = [decision("d1", 0.0), call("c1", JOIN_WINDOW_S + 1, "a")]
    assert Joined(stale).calls == {}  # too long after to be about it
    no_session = [decision("d1", 0.0, session=None), call("c1", 1.0, "a", session=None)]
    assert Joined(no_session).calls == {}
