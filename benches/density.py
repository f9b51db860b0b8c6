"""How the core's per-chunk cost depends on how much of the text is non-ASCII.

    python benches/density.py [--repeats N]

The bar's loop (`feed` + a `value` read per chunk) over the catalog with only a share of its non-ASCII
words left as they are and the others' non-ASCII characters made `x` (`workload.some_non_ascii`:
as many characters, so the same token chunks), each as a ratio to the trivial PyO3 call loop of
`ratios.py`, all interleaved in one run. The catalog's own text is the last row. A diagnostic, not
a bar: it shows where along the way from English-like prose to the catalog's mix the time goes.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ratios import floor_run, unspool_run  # noqa: E402
from timing import interleaved, options  # noqa: E402
from workload import catalog_doc, non_ascii_word_share, renew, some_non_ascii, token_chunks  # noqa: E402

KEEP = (0.0, 0.05, 0.1, 0.25, 0.5, 1.0)


def main() -> int:
    args = options(__doc__).parse_args()
    doc = catalog_doc(400)
    texts = {keep: some_non_ascii(doc, keep) for keep in KEEP}
    chunked = {keep: token_chunks(text) for keep, text in texts.items()}
    runs = {"floor": (floor_run(chunked[1.0]), 1)}
    runs |= {str(keep): (unspool_run(chunks), 1) for keep, chunks in chunked.items()}

    def fresh() -> None:
        for chunks in chunked.values():
            renew(chunks)

    t = interleaved(runs, args.repeats, setup=fresh)
    print(f"catalog: 400 products, {len(chunked[1.0]):,} chunks; min of {args.repeats} repeats")
    head = ("non-ASCII words kept", "of all words", "of all chars", "÷ trivial call")
    print(f"{head[0]:>20s} {head[1]:>13s} {head[2]:>13s} {head[3]:>15s}")
    for keep, text in texts.items():
        chars = len(re.findall(r"[^\x00-\x7f]", text)) / len(text)
        ratio = t[str(keep)] / t["floor"]
        print(f"{keep:20.0%} {non_ascii_word_share(text):13.1%} {chars:13.1%} {ratio:15.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
