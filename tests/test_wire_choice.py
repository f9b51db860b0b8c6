"""`from_openai(..., wire=...)`: the core reads the body by default, the SDK's events on request, and a
body that cannot be read is a clear error that keeps what arrived. Real HTTP throughout: a broken body
comes from a small server of this test's own."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import openai
import pytest
import unspool
from ideas import IDEAS, Idea
from unspool.testing import ReplayServer

MESSAGES: Any = [{"role": "user", "content": "ideas"}]


def test_the_default_wire_is_the_core_and_sdk_is_the_sdks_events() -> None:
    with ReplayServer(IDEAS) as server, openai.OpenAI(base_url=server.base_url, api_key="t") as sdk:
        for wire, reads_bytes in ((None, True), ("rust", True), ("sdk", False)):
            client = unspool.from_openai(sdk) if wire is None else unspool.from_openai(sdk, wire=wire)
            s = client.chat.completions.stream(model="m", messages=MESSAGES, response_model=list[Idea])
            assert s.get_final_response() == [Idea(**d) for d in IDEAS]
            assert (s._session.wire is unspool.client.Wire.RUST) is reads_bytes
        # The keyword on a call overrides the client's.
        s = unspool.from_openai(sdk, wire="sdk").responses.stream(
            model="m", messages=MESSAGES, response_model=list[Idea], wire="rust"
        )
        assert s.get_final_response() == [Idea(**d) for d in IDEAS]
        assert s._session.wire is unspool.client.Wire.RUST
        with pytest.raises(ValueError):
            unspool.from_openai(sdk, wire="bytes")


_CHUNK = '{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":%s}}]}'
GOOD = ("data: " + _CHUNK % json.dumps('[{"title": "Ab') + "\n\n").encode()
BROKEN = ("data: " + _CHUNK % "oops" + "\n\n").encode()


@pytest.fixture
def broken_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = GOOD + BROKEN
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_body_that_cannot_be_read_is_a_wire_error_naming_the_event_and_where(broken_server: str) -> None:
    with openai.OpenAI(base_url=broken_server, api_key="t", max_retries=0) as sdk:
        s = unspool.from_openai(sdk, mode="json").chat.completions.stream(
            model="m", messages=MESSAGES, response_model=list[Idea]
        )
        with pytest.raises(unspool.WireError) as e:
            list(s)
        where = len(GOOD) + BROKEN.index(b"oops")  # the byte of the stream where its JSON breaks
        assert "chat.completion.chunk" in str(e.value) and f"byte {where}" in str(e.value)
        assert e.value.text == '[{"title": "Ab'  # what arrived before it is kept
        assert s.text == '[{"title": "Ab'
        with pytest.raises(unspool.WireError):
            s.get_final_response()
