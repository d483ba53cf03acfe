"""LangChain's standard vector store suite (langchain-tests) against a real `mnemo serve`.

`VectorStoreIntegrationTests` adds, upserts, deletes, gets by id and searches through every sync
and async method of `MnemoVectorStore`, with LangChain's deterministic fake embeddings (6
dimensions, no network). Each test gets a store on a fresh space of the session's `--dev`
server (the `server` fixture of conftest.py); the space is dropped afterwards, so no test sees
another's documents. Nothing here is marked xfail: the store passes the whole suite.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from langchain_core.vectorstores import VectorStore
from langchain_tests.integration_tests.vectorstores import VectorStoreIntegrationTests

from mnemo_client import Mnemo
from mnemo_client.langchain import MnemoVectorStore

# The suite mixes sync and async tests in one class and cannot be edited: mark them all for
# pytest-asyncio (also right under asyncio_mode = "auto") and hush its note on the sync ones.
pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.filterwarnings("ignore:The test <Function .*is not an async function"),
]


class TestMnemoVectorStoreStandard(VectorStoreIntegrationTests):
    """The standard suite, sync and async, get_by_ids included."""

    @pytest_asyncio.fixture
    async def vectorstore(self, server: object) -> AsyncIterator[VectorStore]:
        """An empty store on a space no other test uses; the space is dropped afterwards."""
        url = getattr(server, "url")
        store = MnemoVectorStore(self.get_embeddings(), space=f"lc-std/{uuid.uuid4().hex[:12]}", url=url)
        try:
            yield store
        finally:
            store.delete_space()
            await store.aclose()
            with Mnemo(url) as client:
                assert store.space_name not in set(client.space_names(prefix="lc-std/"))
