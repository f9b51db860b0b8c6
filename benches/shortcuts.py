"""What each CPython-internals shortcut buys, against its portable twin, measured side by side.

    python benches/shortcuts.py [--rounds 3] [--repeats 5]

The shortcuts are chosen at import (`UNSPOOL_PORTABLE`), so every configuration runs in its own child
process: all of them (tuned), none (`UNSPOOL_PORTABLE=1`), and each one turned off alone. The children
run in turns, `--rounds` times over, and each figure is the median of its rounds (each round the best of
`--repeats` passes). Per chunk, on benches/workload.py's catalog in 1–6 character chunks:
  feed+value   `Parser.feed` and a `value` read after every chunk (326 KB)
  stream       `unspool.stream(chunks, response_model=Catalog)`, every partial taken (326 KB)
  stream 100K, stream 1M   the same at ~100 KB and ~1 MB (their ratio: growth with the document)
and `stream ÷ validate`: the 326 KB stream over one `Catalog.model_validate_json`.
A shortcut's gain is (its twin's time ÷ tuned time − 1), on feed+value and on the 326 KB stream.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

NAMES = ["grow_str", "read_str", "reuse_snapshots"]
CONFIGS = {"tuned": "", "portable": "1", **{f"no {n}": n for n in NAMES}}


def child(repeats: int) -> None:
    import unspool
    from partial_ratios import stream_run
    from ratios import unspool_run
    from timing import best
    from workload import Catalog, catalog_doc, products_for_bytes, renew, token_chunks

    doc = catalog_doc(400)
    chunks = token_chunks(doc)
    small = token_chunks(catalog_doc(products_for_bytes(100_000)))
    big = token_chunks(catalog_doc(products_for_bytes(1_000_000)))

    feed = unspool_run(chunks)

    def stream(cs: list[str]) -> object:
        return stream_run(cs)()

    def fresh() -> None:
        for c in (chunks, small, big):
            renew(c)

    assert stream(chunks) == Catalog.model_validate_json(doc)
    out = {
        # (a build from before the switch has no `shortcuts`)
        "shortcuts": list(getattr(unspool, "shortcuts", lambda: ("?",))()),
        "feed+value": best(feed, repeats, fresh) / len(chunks) * 1e9,
        "stream": best(lambda: stream(chunks), repeats, fresh) / len(chunks) * 1e9,
        "stream 100K": best(lambda: stream(small), repeats, fresh) / len(small) * 1e9,
        "stream 1M": best(lambda: stream(big), max(1, repeats // 2), fresh) / len(big) * 1e9,
        "validate": best(lambda: Catalog.model_validate_json(doc), 10 * repeats) * 1e9,
    }
    out["stream ÷ validate"] = out["stream"] * len(chunks) / out.pop("validate")
    print(json.dumps(out))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--baseline",
        metavar="PYTHON",
        help="also run, as config 'baseline', another interpreter or virtualenv's python (another build)",
    )
    ap.add_argument("--only", metavar="NAMES", help="run only these configurations (comma-separated)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.repeats)
        return 0
    configs = {name: (sys.executable, setting) for name, setting in CONFIGS.items()}
    if args.baseline:
        configs["baseline"] = (args.baseline, "")
    if args.only:
        configs = {k: v for k, v in configs.items() if k in args.only.split(",")}
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in configs}
    for r in range(args.rounds):
        for name, (python, setting) in configs.items():
            env = {**os.environ, "UNSPOOL_PORTABLE": setting}
            got = subprocess.run(
                [python, __file__, "--child", "--repeats", str(args.repeats)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            runs[name].append(json.loads(got.stdout))
            print(f"round {r + 1}: {name} done", file=sys.stderr)
    cols = ["feed+value", "stream", "stream 100K", "stream 1M"]
    print(f"median of {args.rounds} interleaved rounds, ns a chunk (best of {args.repeats} passes each)")
    print(f"{'config':18s}" + "".join(f"{c:>13s}" for c in cols) + f"{'1M ÷ 100K':>11s}{'stream÷valid':>14s}")
    med: dict[str, dict[str, float]] = {}
    for name, rs in runs.items():
        m = {c: statistics.median(x[c] for x in rs) for c in [*cols, "stream ÷ validate"]}
        med[name] = m
        growth = statistics.median(x["stream 1M"] / x["stream 100K"] for x in rs)
        print(
            f"{name:18s}"
            + "".join(f"{m[c]:13.1f}" for c in cols)
            + f"{growth:11.2f}{m['stream ÷ validate']:14.1f}"
        )
    print("in effect (tuned):", ", ".join(runs["tuned"][0]["shortcuts"]) or "none")
    t = med["tuned"]
    if all(f"no {n}" in med for n in NAMES):
        print("gain of each shortcut (twin ÷ tuned − 1):")
        for n in NAMES:
            o = med[f"no {n}"]
            gains = {c: o[c] / t[c] - 1 for c in ["feed+value", "stream", "stream 1M"]}
            print(f"  {n:16s} " + "  ".join(f"{c} {g * 100:+6.1f}%" for c, g in gains.items()))
    if "portable" in med:
        p = med["portable"]
        print("  all (portable)   " + "  ".join(f"{c} {p[c] / t[c] * 100 - 100:+6.1f}%" for c in cols))
    if "baseline" in med:
        b = med["baseline"]
        print("tuned ÷ baseline:  " + "  ".join(f"{c} {t[c] / b[c]:.3f}" for c in cols))
    return 0


if __name__ == "__main__":
    sys.exit(main())
