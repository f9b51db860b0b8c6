"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import unspool.client


@pytest.fixture(params=["rust", "sdk"])
def each_wire(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Runs a test once with each way of reading a stream's body (`from_openai(..., wire=...)`): the
    core's SSE reader and the SDK's typed events."""
    monkeypatch.setattr(unspool.client, "DEFAULT_WIRE", unspool.client.Wire(request.param))
    yield request.param
