"""The OpenAI layer's overhead bar, measured side by side in one run.

    python benches/openai_ratios.py [--repeats N] [--products 100] [--in-process] [--check]

The embedded server (`python -m unspool.testing`, in its own process so that it does not share the GIL
with the client) replays the 100-product catalog of benches/workload.py (~81 KB) with no delay, in
1–6 character deltas. Two clients read it through the official openai SDK, alternating, N times each:
  raw      `client.chat.completions.create(stream=True, stream_options={"include_usage": True})`,
           iterating every chunk (unspool asks for usage too, so both get the same bytes)
  unspool  `unspool.from_openai(client).chat.completions.stream(response_model=Catalog)`, iterating every
           partial, then `get_final_response()`
The bar (≤ 1.15) is the ratio of their fastest passes in client CPU time (time.process_time: what each
client spends, without the server's share of the machine); the wall-clock ratio is printed beside it.
With --check, exits 1 if a bar is missed.
"""

from __future__ import annotations

import subprocess
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
from timing import options, report  # noqa: E402
from workload import Catalog, catalog_doc  # noqa: E402

MESSAGES = [{"role": "user", "content": "The catalog, please."}]


def raw_run(client: openai.OpenAI) -> Callable[[], int]:
    def run() -> int:
        n = 0
        # The same request options unspool sends, so the server replays the same bytes (usage included).
        chunks = client.chat.completions.create(
            model="m",
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
        for _chunk in chunks:
            n += 1
        return n

    return run


def unspool_run(client: openai.OpenAI) -> Callable[[], Any]:
    wrapped = unspool.from_openai(client)

    def run() -> Any:
        stream = wrapped.chat.completions.stream(model="m", messages=MESSAGES, response_model=Catalog)
        for _partial in stream:
            pass
        return stream.get_final_response()

    return run


@contextmanager
def served(doc_path: str, delay: float = 0.0) -> Iterator[str]:
    """The embedded server in a child process, replaying `doc_path` (`delay` seconds between chunks);
    yields its base URL."""
    cmd = [sys.executable, "-m", "unspool.testing", "--document", doc_path, "--port", "0"]
    if delay:
        cmd += ["--delay", str(delay)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        url = line.strip().split()[-1] if line.strip() else ""
        if not url.startswith("http"):
            raise RuntimeError(f"the server did not say where it listens: {line!r}")
        yield url
    finally:
        proc.terminate()
        proc.wait()
        proc.stdout.close()


def main() -> int:
    ap = options(__doc__)
    ap.add_argument("--products", type=int, default=100)
    ap.add_argument("--in-process", action="store_true", help="run the server in a thread of this process")
    args = ap.parse_args()
    doc = catalog_doc(args.products)
    Catalog.model_validate_json(doc)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.json"
        path.write_text(doc, encoding="utf-8")
        if args.in_process:
            from unspool.testing import ReplayServer

            where: Any = ReplayServer(Catalog.model_validate_json(doc).model_dump(mode="json"))
        else:
            where = served(str(path))
        with where as server:
            url = server if isinstance(server, str) else server.base_url
            with openai.OpenAI(base_url=url, api_key="bench", max_retries=0) as client:
                raw, ours = raw_run(client), unspool_run(client)
                chunks = raw()
                assert ours() == Catalog.model_validate_json(doc)
                wall: dict[str, list[float]] = {"raw": [], "unspool": []}
                cpu: dict[str, list[float]] = {"raw": [], "unspool": []}
                for _ in range(args.repeats):  # alternate, so that both see the same machine
                    for name, fn in (("raw", raw), ("unspool", ours)):
                        t0, c0 = time.perf_counter(), time.process_time()
                        fn()
                        wall[name].append(time.perf_counter() - t0)
                        cpu[name].append(time.process_time() - c0)
    print(f"catalog: {args.products} products, {len(doc):,} bytes, {chunks:,} SSE chunks per pass")
    print(f"{'fastest of ' + str(args.repeats):34s} {'wall':>10s} {'client CPU':>22s}")
    for name, label in (("raw", "raw SDK create(stream=True)"), ("unspool", "unspool stream(Catalog)")):
        w, c = min(wall[name]), min(cpu[name])
        print(f"  {label:32s} {w * 1e3:8.1f} ms {c * 1e3:8.1f} ms {c / chunks * 1e6:6.1f} µs/chunk")
    ok = report(
        [
            ("unspool ÷ raw SDK (client CPU)", min(cpu["unspool"]) / min(cpu["raw"]), "≤", 1.15),
            ("unspool ÷ raw SDK (wall)", min(wall["unspool"]) / min(wall["raw"]), "≤", 1.15),
        ]
    )
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    raise SystemExit(main())
