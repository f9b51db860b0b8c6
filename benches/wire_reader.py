"""What reading the OpenAI streaming wire costs from Python: `unspool._core.WireReader` against readers
written in Python.

    python benches/wire_reader.py [--repeats N] [--size BYTES] [--read BYTES]

The ~1.3 MB catalog of benches/workload.py, streamed by `unspool.testing.ReplayServer` (in-process)
in its 1–6 character deltas as Chat Completions chunks (with usage) and as Responses events; the raw
body is fetched once with httpx and then read from memory in 16 KB reads (as a socket gives them), so
that only the reading is timed. Every reader gets the document's text out and is checked to:

  WireReader     `WireReader.feed(read)` per read, the TEXT items joined
  python lines   the least a Python reader does: split the reads into lines, `json.loads` each
                 `data:` line, pick the delta out (LF line ends only; no other SSE rule)
  sdk decoder    the openai SDK's own `SSEDecoder` over the reads and `json.loads` of each event, the
                 delta picked out (what the SDK does before it builds its pydantic objects)

Prints, per API: each reader's time (fastest of N, in turns), µs per event, µs per 16 KB read, MB/s of
stream, and the ratio to WireReader.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from openai._streaming import SSEDecoder  # noqa: E402
from timing import interleaved, options  # noqa: E402
from unspool._core import WireReader  # noqa: E402
from unspool.testing import ReplayServer  # noqa: E402
from workload import catalog_doc, products_for_bytes  # noqa: E402

TEXT = WireReader.TEXT


def bodies(doc: Any) -> dict[str, bytes]:
    """The raw Chat and Responses bodies ReplayServer streams for `doc` (JSON mode: the text is its JSON)."""
    out = {}
    with ReplayServer(doc) as server, httpx.Client(timeout=300) as client:
        chat = {
            "model": "m",
            "messages": [{"role": "user", "content": "The catalog, please."}],
            "response_format": {"type": "json_object"},
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        out["chat"] = client.post(server.base_url + "/chat/completions", json=chat).content
        responses = {
            "model": "m",
            "input": "The catalog, please.",
            "text": {"format": {"type": "json_object"}},
        }
        out["responses"] = client.post(
            server.base_url + "/responses", json={**responses, "stream": True}
        ).content
    return out


def wire_reader(api: str, reads: list[bytes]) -> Callable[[], str]:
    def run() -> str:
        reader = WireReader(api)  # type: ignore[arg-type]
        parts = []
        for read in reads:
            for item in reader.feed(read):
                if item[0] == TEXT:
                    parts.append(item[1])
        reader.finish()
        return "".join(parts)

    return run


def python_lines(api: str, reads: list[bytes]) -> Callable[[], str]:
    loads = json.loads

    def run() -> str:
        parts = []
        rest = b""
        for read in reads:
            *lines, rest = (rest + read).split(b"\n")
            for line in lines:
                if not line.startswith(b"data: ") or line == b"data: [DONE]":
                    continue
                event = loads(line[6:])
                if api == "chat":
                    choices = event["choices"]
                    if choices and choices[0]["delta"].get("content"):
                        parts.append(choices[0]["delta"]["content"])
                elif event["type"] == "response.output_text.delta":
                    parts.append(event["delta"])
        return "".join(parts)

    return run


def sdk_decoder(api: str, reads: list[bytes]) -> Callable[[], str]:
    loads = json.loads

    def run() -> str:
        parts = []
        for sse in SSEDecoder().iter_bytes(iter(reads)):
            if sse.data.startswith("[DONE]"):
                break
            event = loads(sse.data)
            if api == "chat":
                choices = event["choices"]
                if choices and choices[0]["delta"].get("content"):
                    parts.append(choices[0]["delta"]["content"])
            elif event["type"] == "response.output_text.delta":
                parts.append(event["delta"])
        return "".join(parts)

    return run


def main() -> None:
    ap = options(__doc__)
    ap.add_argument("--size", type=int, default=1_300_000, help="the catalog's size in bytes")
    ap.add_argument("--read", type=int, default=16 * 1024, help="bytes a read")
    args = ap.parse_args()
    doc = json.loads(catalog_doc(products_for_bytes(args.size)))
    text = json.dumps(doc, ensure_ascii=False)  # as the server writes it
    for api, body in bodies(doc).items():
        reads = [body[i : i + args.read] for i in range(0, len(body), args.read)]
        events = sum(1 for _ in SSEDecoder().iter_bytes(iter([body])))
        runs = {
            "WireReader": wire_reader(api, reads),
            "python lines": python_lines(api, reads),
            "sdk decoder": sdk_decoder(api, reads),
        }
        for name, run in runs.items():
            assert run() == text, f"{name} read something else"
        times = interleaved({name: (run, 1) for name, run in runs.items()}, args.repeats)
        base = times["WireReader"]
        print(
            f"{api}: document {len(text.encode()):,} bytes, body {len(body):,} bytes, {events:,} events "
            f"({len(body) // events} bytes each), {len(reads):,} reads of {args.read // 1024} KB"
        )
        for name, t in times.items():
            print(
                f"  {name:13s} {t * 1e3:8.1f} ms  {t / events * 1e6:6.2f} µs/event  "
                f"{t / len(reads) * 1e6:8.1f} µs/read  {len(body) / t / 1e6:7.1f} MB/s  {t / base:5.2f}x"
            )


if __name__ == "__main__":
    main()
