"""End to end through the OpenAI SDK: unspool's stream against the SDK's raw iteration, side by side.

    python benches/wire_ratios.py [--repeats 5] [--burst-only | --paced-only] [--streams 32]

The embedded server runs in its own process (`python -m unspool.testing`), so that it does not share the
client's GIL or its CPU time; it replays benches/workload.py's catalog in 1–6 character deltas.

burst  no delay: client CPU (time.process_time) per SSE chunk, fastest of --repeats passes, alternating:
         raw   the SDK's `create(stream=True)`, iterating every chunk or event
         rust  `unspool.from_openai(client).<api>.stream(response_model=Catalog)` (the core reads the
               body's bytes: `wire="rust"`, the default), every partial, then `get_final_response()`
         sdk   the same with `wire="sdk"` (the SDK's typed events)
       for the catalog at ~41 KB and ~1.3 MB, Chat Completions and Responses, sync and async.
       The bar: rust ÷ raw ≤ 0.15.
paced  --streams concurrent async streams, each paced by the server at 100 chunks a second (a model's
       pace): client CPU over the run. Streams per core = chunks handled per CPU-second ÷ 100. Beside
       raw, rust and sdk, `bytes` reads the same bodies through the SDK's public API and does nothing
       with them: the floor the transport and the event loop set.
       The bar: rust ÷ raw ≥ 2.5.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import openai  # noqa: E402
import unspool  # noqa: E402
from openai_ratios import served as served_file  # noqa: E402
from workload import Catalog, catalog_doc, products_for_bytes  # noqa: E402

MESSAGES: Any = [{"role": "user", "content": "The catalog, please."}]


@contextmanager
def served(doc: str, delay: float = 0.0) -> Iterator[str]:
    """The embedded server in a child process replaying the text `doc`; yields its base URL."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.json"
        path.write_text(doc, encoding="utf-8")
        with served_file(str(path), delay) as url:
            yield url


def raw_call(client: Any, api: str) -> Any:
    if api == "chat":
        return client.chat.completions.create(
            model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    return client.responses.create(model="m", input=MESSAGES, stream=True)


def ours_call(client: Any, api: str, wire: str) -> Any:
    wrapped = unspool.from_openai(client, wire=wire)
    endpoint = wrapped.chat.completions if api == "chat" else wrapped.responses
    return endpoint.stream(model="m", messages=MESSAGES, response_model=Catalog)


def sync_runs(client: Any, api: str) -> dict[str, Callable[[], int]]:
    def raw() -> int:
        return sum(1 for _ in raw_call(client, api))

    def ours(wire: str) -> Callable[[], int]:
        def run() -> int:
            s = ours_call(client, api, wire)
            n = sum(1 for _ in s)
            s.get_final_response()
            return n

        return run

    return {"raw": raw, "rust": ours("rust"), "sdk": ours("sdk")}


def async_runs(client: Any, api: str, loop: asyncio.AbstractEventLoop) -> dict[str, Callable[[], int]]:
    async def raw() -> int:
        n = 0
        async for _ in await raw_call(client, api):
            n += 1
        return n

    def ours(wire: str) -> Callable[[], Any]:
        async def run() -> int:
            s = ours_call(client, api, wire)
            n = 0
            async for _ in s:
                n += 1
            await s.get_final_response()
            return n

        return run

    fns: dict[str, Any] = {"raw": raw, "rust": ours("rust"), "sdk": ours("sdk")}
    return {k: (lambda f=f: loop.run_until_complete(f())) for k, f in fns.items()}


def chunks_of(client: Any, api: str) -> int:
    return sum(1 for _ in raw_call(client, api))


def burst(doc: str, label: str, repeats: int) -> list[tuple[str, float]]:
    ratios = []
    with served(doc) as url:
        sync_client = openai.OpenAI(base_url=url, api_key="bench", max_retries=0)
        async_client = openai.AsyncOpenAI(base_url=url, api_key="bench", max_retries=0)
        loop = asyncio.new_event_loop()
        try:
            for api in ("chat", "responses"):
                n = chunks_of(sync_client, api)
                for kind, runs in (
                    ("sync", sync_runs(sync_client, api)),
                    ("async", async_runs(async_client, api, loop)),
                ):
                    for fn in runs.values():
                        fn()  # warm: plans, schema, connections
                    cpu: dict[str, list[float]] = {k: [] for k in runs}
                    for _ in range(repeats):
                        for name, fn in runs.items():
                            c0 = time.process_time()
                            fn()
                            cpu[name].append(time.process_time() - c0)
                    best = {k: min(v) / n * 1e6 for k, v in cpu.items()}
                    r = best["rust"] / best["raw"]
                    ratios.append((f"{label} {api} {kind}", r))
                    print(
                        f"  {label:8s} {api:9s} {kind:5s} {n:7,d} chunks   raw {best['raw']:6.2f}  "
                        f"rust {best['rust']:6.2f}  sdk {best['sdk']:6.2f} µs/chunk   "
                        f"rust÷raw {r:.3f}  sdk÷raw {best['sdk'] / best['raw']:.3f}"
                    )
        finally:
            loop.run_until_complete(async_client.close())
            loop.close()
            sync_client.close()
    return ratios


async def _paced_one(client: Any, api: str, name: str) -> int:
    if name == "bytes":  # the floor: the body's bytes through the SDK's public API, nothing done with them
        resource = client.chat.completions if api == "chat" else client.responses
        kwargs: dict[str, Any] = {"model": "m", "stream": True}
        kwargs.update({"messages": MESSAGES} if api == "chat" else {"input": MESSAGES})
        n = 0
        async with resource.with_streaming_response.create(**kwargs) as response:
            async for _ in response.http_response.aiter_bytes():
                n += 1
        return n
    if name == "raw":
        n = 0
        async for _ in await raw_call(client, api):
            n += 1
        return n
    s = ours_call(client, api, name)
    n = 0
    async for _ in s:
        n += 1
    await s.get_final_response()
    return n


async def _paced_run(url: str, api: str, name: str, streams: int) -> tuple[float, float]:
    # The SDK's own HTTP library (`httpx`, or `httpx2` in newer SDKs) for its connection limits.
    lib = sys.modules[openai.DefaultAsyncHttpxClient.__mro__[1].__module__.partition(".")[0]]
    limits = lib.Limits(max_connections=streams * 2)
    http = openai.DefaultAsyncHttpxClient(limits=limits)
    async with openai.AsyncOpenAI(base_url=url, api_key="bench", max_retries=0, http_client=http) as client:
        await _paced_one(client, api, name)  # warm
        c0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(_paced_one(client, api, name) for _ in range(streams)))
        return time.process_time() - c0, time.perf_counter() - t0


def paced(doc: str, streams: int, api: str) -> dict[str, tuple[float, float]]:
    """Client (CPU, wall) seconds for `streams` concurrent async streams at 100 chunks/s, per client."""
    with served(doc, delay=0.01) as url:
        return {name: asyncio.run(_paced_run(url, api, name, streams)) for name in PACED}


# The clients of the paced run: `bytes` is the floor (reading the body, nothing else).
PACED = ("raw", "rust", "sdk", "bytes")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--streams", type=int, default=32)
    ap.add_argument("--burst-only", action="store_true")
    ap.add_argument("--paced-only", action="store_true")
    ap.add_argument("--small-only", action="store_true", help="burst: only the ~41 KB catalog")
    ap.add_argument("--big-only", action="store_true", help="burst: only the ~1.3 MB catalog")
    args = ap.parse_args()
    small = catalog_doc(products_for_bytes(41_000))
    big = catalog_doc(products_for_bytes(1_300_000))
    ok = True
    if not args.paced_only:
        print(f"burst: client CPU per chunk, fastest of {args.repeats} alternating passes")
        ratios = [] if args.big_only else burst(small, f"{len(small) // 1000} KB", args.repeats)
        if not args.small_only:
            ratios += burst(big, f"{len(big) / 1e6:.1f} MB", max(1, args.repeats // 2))
        worst = max(r for _, r in ratios)
        ok &= worst <= 0.15
        print(f"burst bar rust ÷ raw ≤ 0.15: worst {worst:.3f} -> {'met' if worst <= 0.15 else 'NOT met'}")
    if not args.burst_only:
        doc = catalog_doc(products_for_bytes(4_000))  # ~1,000 chunks: 10 s a stream at 100 chunks/s
        with served(doc) as url, openai.OpenAI(base_url=url, api_key="bench", max_retries=0) as c:
            n = chunks_of(c, "chat")
        print(f"paced: {args.streams} concurrent async streams, {n:,} chunks each at 100 chunks/s (chat)")
        got = paced(doc, args.streams, "chat")
        per_core = {k: args.streams * n / cpu / 100 for k, (cpu, _wall) in got.items()}
        for k, (cpu, wall) in got.items():
            print(
                f"  {k:5s} client CPU {cpu:6.2f} s, {wall:5.1f} s wall: {per_core[k]:7.1f} streams per core"
            )
        r = per_core["rust"] / per_core["raw"]
        ok &= r >= 2.5
        print(f"paced bar rust ÷ raw ≥ 2.5: {r:.2f} -> {'met' if r >= 2.5 else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
