#!/usr/bin/env python3
"""An agent's long-term memory on Mnemo: conversation turns and facts per user, one space per user.

Each user gets a space `<prefix>/<user>`. Every conversation turn is stored with metadata
(`kind: turn`, `role`, `session`, `turn`), and consecutive turns are linked; facts the agent
extracts are stored as `kind: fact` with a `topic`, linked both ways to the turn they came from.
Then the agent remembers in two ways:

* **filtered recall**: a vector search restricted by metadata (`{"kind": "fact", "topic": ...}`),
  so only facts (of a topic) answer, never chit-chat turns;
* **spreading activation**: `recall` seeds on the nearest memories and follows the links, so
  asking about one fact also brings back the turn it came from and what was said next.

Run it against a development server:

    mnemo serve --dev &
    python3 examples/agent_memory.py http://127.0.0.1:7600            # deterministic embedder
    python3 examples/agent_memory.py http://127.0.0.1:7600 --local    # all-MiniLM-L6-v2 (pip install 'mnemo-client[local]')

The default embedder hashes words into vectors (`HashingEmbedder`): no model and no network, so
the output is the same everywhere; similarity then means shared words. `--json` prints what was
recalled as one JSON object (the test reads it).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any

from mnemo_client import Hit, Mnemo, NotFound, Space
from mnemo_client.embedders import HashingEmbedder, SentenceTransformerEmbedder

# (user, session, role, text, facts extracted from that turn as (topic, fact))
CONVERSATIONS: list[tuple[str, str, str, str, list[tuple[str, str]]]] = [
    ("alice", "s1", "user", "Hi! I only drink green tea, never coffee.", [("drinks", "Alice drinks green tea, never coffee")]),
    ("alice", "s1", "assistant", "Noted: green tea it is. Anything else for the trip?", []),
    ("alice", "s1", "user", "I am allergic to peanuts, so no peanut snacks please.", [("health", "Alice is allergic to peanuts")]),
    ("alice", "s1", "assistant", "Got it, no peanuts. I will book the vegetarian meal.", []),
    ("alice", "s2", "user", "My flight to Lisbon leaves on Friday morning.", [("travel", "Alice's flight to Lisbon leaves on Friday morning")]),
    ("alice", "s2", "assistant", "I will remind you on Thursday evening to check in.", []),
    ("bob", "s1", "user", "Morning. Black coffee, two shots, as always.", [("drinks", "Bob drinks black coffee with two shots")]),
    ("bob", "s1", "assistant", "Two shots of black coffee, coming up.", []),
    ("bob", "s1", "user", "Also, my daughter's birthday is on the 12th of March.", [("family", "Bob's daughter's birthday is the 12th of March")]),
    ("bob", "s1", "assistant", "I will remind you a week before her birthday.", []),
]


@dataclass
class AgentMemory:
    """Per-user memory spaces on one Mnemo server (the embedding happens in the client)."""

    client: Mnemo
    dimension: int
    prefix: str = "agent-memory"

    def space(self, user: str) -> Space:
        """The user's space, created on first use."""
        return self.client.create_space(f"{self.prefix}/{user}", self.dimension, exist_ok=True)

    def reset(self, user: str) -> None:
        """Forget everything about a user."""
        try:
            self.client.delete_space(f"{self.prefix}/{user}")
        except NotFound:
            pass

    def remember_turn(self, user: str, session: str, turn: int, role: str, text: str) -> str:
        """Store one conversation turn and link it after the previous turn of the session."""
        space = self.space(user)
        memory_id = f"turn/{session}/{turn}"
        space.put(memory_id, text=text, metadata={"kind": "turn", "role": role, "session": session, "turn": turn})
        if turn > 0:
            space.link(f"turn/{session}/{turn - 1}", memory_id, weight=0.6)
        return memory_id

    def remember_fact(self, user: str, topic: str, fact: str, source: str, number: int) -> str:
        """Store a fact and link it with the turn it came from (both ways)."""
        space = self.space(user)
        memory_id = f"fact/{topic}/{number}"
        space.put(memory_id, text=fact, metadata={"kind": "fact", "topic": topic, "source": source})
        space.link(memory_id, source, weight=0.9)
        space.link(source, memory_id, weight=0.9)
        return memory_id

    def facts(self, user: str, query: str, topic: str | None = None, k: int = 3) -> list[Hit]:
        """The facts nearest to the query (never turns), optionally of one topic."""
        where: dict[str, Any] = {"kind": "fact"}
        if topic is not None:
            where["topic"] = topic
        return self.space(user).search(text=query, k=k, filter=where)

    def associate(self, user: str, query: str, k: int = 5) -> list[Hit]:
        """Spreading activation from the memories nearest to the query, over the links."""
        return self.space(user).recall(text=query, k=k, seeds=1, hops=2, decay=0.6, over_similarity=False)


def main(argv: list[str] | None = None) -> int:
    """Store the demo conversations, then recall with a filter and by association."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:7600", help="the mnemo serve URL")
    parser.add_argument("--token", default=None, help="a token or the admin key (none against --dev)")
    parser.add_argument("--local", action="store_true", help="embed with the local all-MiniLM-L6-v2 (the `local` extra)")
    parser.add_argument("--prefix", default="agent-memory", help="space name prefix (one space per user under it)")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    args = parser.parse_args(argv)

    embed = SentenceTransformerEmbedder() if args.local else HashingEmbedder(256)
    dimension = SentenceTransformerEmbedder.dimension if args.local else 256
    with Mnemo(args.url, token=args.token, embed=embed) as client:
        memory = AgentMemory(client, dimension, args.prefix)
        users = sorted({c[0] for c in CONVERSATIONS})
        for user in users:
            memory.reset(user)
        turns: dict[tuple[str, str], int] = {}
        number = 0
        for user, session, role, text, facts in CONVERSATIONS:
            turn = turns.get((user, session), 0)
            turns[(user, session)] = turn + 1
            source = memory.remember_turn(user, session, turn, role, text)
            for topic, fact in facts:
                memory.remember_fact(user, topic, fact, source, number)
                number += 1

        out: dict[str, Any] = {}
        for user in users:
            drinks = memory.facts(user, "what does the user drink, tea or coffee?", topic="drinks", k=1)
            any_fact = memory.facts(user, "flight or birthday", k=1)
            associated = memory.associate(user, "green tea coffee drinks")
            out[user] = {
                "count": memory.space(user).count(),
                "facts": memory.space(user).count({"kind": "fact"}),
                "drinks": [h.text for h in drinks],
                "drinks_ids": [h.id for h in drinks],
                "facts_for_dates": [h.text for h in any_fact],
                "facts_for_dates_ids": [h.id for h in any_fact],
                "associated": [{"id": h.id, "hops": h.hops, "activation": round(h.score, 3), "text": h.text}
                               for h in associated],
            }
    if args.json:
        print(json.dumps(out, indent=None))
        return 0
    for user, found in out.items():
        print(f"== {user}: {found['count']} memories, {found['facts']} facts")
        print(f"   drinks (filter kind=fact, topic=drinks): {found['drinks']}")
        print(f"   facts about a flight or a birthday (filter kind=fact): {found['facts_for_dates']}")
        print("   spreading activation from 'green tea coffee drinks':")
        for item in found["associated"]:
            print(f"     hop {item['hops']}  activation {item['activation']:.3f}  {item['id']}: {item['text']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
