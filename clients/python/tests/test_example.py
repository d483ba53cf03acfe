"""examples/agent_memory.py runs against a real `mnemo serve --dev` and recalls what it should:
the filtered search answers only facts of the user's own space, and spreading activation reaches
the turns linked to the fact it starts from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

from conftest import REPO, Server


def test_agent_memory_example(server: Server) -> None:
    prefix = f"example-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, PYTHONPATH=str(REPO / "clients" / "python"))
    out = subprocess.run(
        [sys.executable, str(REPO / "examples" / "agent_memory.py"), server.url, "--prefix", prefix, "--json"],
        capture_output=True, text=True, timeout=120, env=env, check=True,
    )
    result = json.loads(out.stdout)
    alice, bob = result["alice"], result["bob"]
    assert (alice["count"], alice["facts"]) == (9, 3)
    assert (bob["count"], bob["facts"]) == (6, 2)
    assert alice["drinks"] == ["Alice drinks green tea, never coffee"]
    assert bob["drinks"] == ["Bob drinks black coffee with two shots"]
    assert all(i.startswith("fact/drinks/") for i in alice["drinks_ids"] + bob["drinks_ids"])
    assert "flight" in alice["facts_for_dates"][0] and "birthday" in bob["facts_for_dates"][0]
    assert all(i.startswith("fact/") for i in alice["facts_for_dates_ids"] + bob["facts_for_dates_ids"])
    for user in (alice, bob):
        chain = [(a["id"], a["hops"]) for a in user["associated"]]
        assert chain[0][0].startswith("fact/drinks/") and chain[0][1] == 0
        assert ("turn/s1/0", 1) in chain  # the turn the fact came from, one link away
        assert ("turn/s1/1", 2) in chain  # the reply after it, two links away
        activations = [a["activation"] for a in user["associated"]]
        assert activations == sorted(activations, reverse=True)
    assert not any("Bob" in (a["text"] or "") for a in alice["associated"])
    # a second run starts from scratch (the example resets its users' spaces)
    again = subprocess.run(
        [sys.executable, str(REPO / "examples" / "agent_memory.py"), server.url, "--prefix", prefix, "--json"],
        capture_output=True, text=True, timeout=120, env=env, check=True,
    )
    assert json.loads(again.stdout)["alice"]["count"] == 9
