"""Pure helpers without a server: vector encoding (little-endian float32, base64), path
segments (names with `/`), timestamps, result parsing."""

from __future__ import annotations

import base64
import struct
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from mnemo_client import Hit
from mnemo_client._core import encode_vector, format_time, space_path
from mnemo_client.results import decode_vector, parse_hit, parse_time


def test_encode_vector_little_endian_float32() -> None:
    raw = base64.b64decode(encode_vector([1.0, -2.5, 0.1]))
    assert raw == struct.pack("<3f", 1.0, -2.5, 0.1)
    assert encode_vector(np.array([1.0, -2.5, 0.1], dtype=">f8")) == encode_vector([1.0, -2.5, 0.1])
    with pytest.raises(ValueError):
        encode_vector(np.zeros((2, 2)))
    with pytest.raises(ValueError):
        encode_vector(["a", "b"])


def test_decode_vector_both_forms() -> None:
    v = decode_vector({"vectorBase64": base64.b64encode(struct.pack("<2f", 0.5, 3.0)).decode()})
    assert v is not None and v.dtype == np.float32 and v.tolist() == [0.5, 3.0]
    w = decode_vector({"vector": [0.5, 3.0]})
    assert w is not None and w.tolist() == [0.5, 3.0]
    assert decode_vector({}) is None


def test_paths_percent_encode_names_and_ids() -> None:
    assert space_path("tenant-7/notes", "memories", "a%2Fb") == "/v1/spaces/tenant-7%2Fnotes/memories/a%2Fb"
    assert space_path("a b?#") == "/v1/spaces/a%20b%3F%23"


def test_times() -> None:
    assert parse_time("2026-11-30T07:36:25.289Z") == datetime(2026, 11, 30, 7, 36, 25, 289000, tzinfo=timezone.utc)
    assert parse_time("2026-11-30T07:36:25.1+02:00") == datetime(
        2026, 11, 30, 7, 36, 25, 100000, tzinfo=timezone(timedelta(hours=2)))
    assert parse_time(None) is None
    assert format_time(datetime(2026, 1, 1)) == "2026-01-01T00:00:00+00:00"  # naive means UTC
    assert format_time("2026-01-01T00:00:00Z") == "2026-01-01T00:00:00Z"


def test_parse_hit_search_and_recall() -> None:
    hit = parse_hit({"id": "a", "distance": 0.25, "score": 0.75, "text": "t", "metadata": {"k": 1},
                     "content": None, "createdAt": "2026-01-01T00:00:00Z"})
    assert isinstance(hit, Hit) and (hit.distance, hit.score, hit.text, hit.metadata) == (0.25, 0.75, "t", {"k": 1})
    assert hit.activation is None and hit.hops is None
    recalled = parse_hit({"id": "b", "activation": 0.5, "hops": 2, "content": "AP8="})
    assert (recalled.score, recalled.activation, recalled.hops, recalled.content) == (0.5, 0.5, 2, b"\x00\xff")
