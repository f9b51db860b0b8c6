"""Memory of the tutorial's server pattern: many `list[Idea]` streams through one wrapped client.

Every request builds a session for `response_model=list[Idea]`, which the API asks for inside an
envelope object. This streams the list through the official openai SDK against a `ReplayServer`
(Chat Completions and Responses, in turn) and prints the process's resident memory after 200 and after
2,000 streams. The bar: the second figure within 5 MB of the first (nothing kept per request).

    .venv/bin/python benches/server_memory.py [--streams 2000] [--warmup 200]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path

import openai
import unspool
from unspool.testing import ReplayServer

# The tutorial's model and ideas, as the tests stream them.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from ideas import IDEAS, Idea  # noqa: E402

MESSAGES = [{"role": "user", "content": "Generate 3 marketing ideas for a note-taking app"}]


def rss_mb() -> float:
    """Resident set size now, in MB (from /proc/self/statm; the peak from `resource` elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 1e6 if sys.platform == "darwin" else peak / 1e3


def one(client: unspool.Client, server: ReplayServer, i: int) -> None:
    endpoint = client.chat.completions if i % 2 == 0 else client.responses
    stream = endpoint.stream(model="gpt-4o-mini", messages=MESSAGES, response_model=list[Idea])
    for _ in stream:
        pass
    ideas = stream.get_final_response()
    assert len(ideas) == len(IDEAS), ideas
    # The test server records every request it receives (`server.requests`, ~4 KB each): that is the
    # server's memory, not the client's, so it is let go of here.
    with server._cond:
        server.requests.clear()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streams", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    args = ap.parse_args()
    with ReplayServer(IDEAS, chunk_sizes=(8, 16, 32)) as server:
        sdk = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        with unspool.from_openai(sdk) as client:
            for i in range(args.warmup):
                one(client, server, i)
            gc.collect()
            before = rss_mb()
            print(f"RSS after {args.warmup:>5} streams: {before:8.1f} MB", flush=True)
            for i in range(args.warmup, args.streams):
                one(client, server, i)
            gc.collect()
            after = rss_mb()
            print(f"RSS after {args.streams:>5} streams: {after:8.1f} MB", flush=True)
    growth = after - before
    verdict = "ok" if growth <= 5.0 else "over the 5 MB bar"
    print(f"difference: {growth:+.1f} MB ({verdict})")
    sys.exit(0 if growth <= 5.0 else 1)


if __name__ == "__main__":
    main()
