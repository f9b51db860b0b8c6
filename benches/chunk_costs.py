"""Where the per-chunk time of `feed` + `value` goes, by what each chunk does to the document.

    python benches/chunk_costs.py [--repeats N]

Times every `feed(c); p.value` of the catalog's token chunks on its own (the fastest of N passes, so
a chunk's figure is the least disturbed one), subtracts the cheapest chunk's time (the timer and the
call itself), and sums the rest by the chunk's role: plain text inside a string, and chunks that open
or close a key or a string value, with or without punctuation (`,` `:` `{` `}` `[` `]`).

A second table splits the text-only chunks of string values by their characters: ASCII; non-ASCII
no wider than the string so far, in at most 8 UTF-8 bytes (the parser's one-word path) or more; a
chunk that makes the string wider (ASCII → Latin-1 → two → four bytes a character: its `str` is
copied at the new width); and text with an escape.

This is a diagnostic, not a bar: timing each call adds ~50 ns of its own and disturbs the branch
predictor, so the total is not the bar loop's. It shows which kind of chunk the time goes to.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import unspool  # noqa: E402
from timing import options  # noqa: E402
from workload import catalog_doc, renew, token_chunks  # noqa: E402


def quote_roles(doc: str) -> dict[int, str]:
    """The role of every unescaped `"` in compact JSON `doc`, by its offset."""
    roles: dict[int, str] = {}
    stack: list[str] = []
    in_string = in_key = expect_key = False
    i = 0
    while i < len(doc):
        ch = doc[i]
        if in_string:
            if ch == "\\":
                i += 2
                continue
            if ch == '"':
                roles[i] = "key close" if in_key else "value close"
                in_string = False
        elif ch == '"':
            in_key = expect_key and stack[-1] == "{"
            roles[i] = "key open" if in_key else "value open"
            in_string = True
        elif ch in "{[":
            stack.append(ch)
            expect_key = ch == "{"
        elif ch in "}]":
            stack.pop()
        elif ch == ",":
            expect_key = stack[-1] == "{"
        elif ch == ":":
            expect_key = False
        i += 1
    return roles


WIDTHS = ("ASCII", "Latin-1", "2 bytes", "4 bytes")


def width(ch: str) -> int:
    """Which of `WIDTHS` a `str` holding `ch` needs."""
    o = ord(ch)
    return 0 if o < 0x80 else 1 if o < 0x100 else 2 if o < 0x10000 else 3


def text_classes(chunks: list[str], roles: dict[int, str]) -> list[str | None]:
    """For each chunk that is nothing but text of a string value, what its characters do (see the
    module's doc); None for every other chunk."""
    out: list[str | None] = []
    at, in_value, widest = 0, False, 0
    for c in chunks:
        quotes = [k for k, ch in enumerate(c) if ch == '"' and at + k in roles]
        cls = None
        if in_value and not quotes:
            w = max(map(width, c))
            if "\\" in c:
                cls = "text with an escape"
            elif w > widest:
                cls = f"widens: {WIDTHS[widest]} → {WIDTHS[w]}"
            elif w == 0:
                cls = "ASCII"
            else:
                cls = f"non-ASCII, {'≤' if len(c.encode()) <= 8 else '>'} 8 bytes"
        out.append(cls)
        for k, ch in enumerate(c):
            role = roles.get(at + k)
            if role is not None:
                in_value, widest = role == "value open", 0
            elif in_value:
                widest = max(widest, width(ch))
        at += len(c)
    return out


def table(costs: dict[str, list[float]], total: float, rows: int) -> None:
    """Prints the `rows` roles or classes that took the most time."""
    for role, v in sorted(costs.items(), key=lambda kv: -sum(kv[1]))[:rows]:
        v.sort()
        print(f"{role:38s} {len(v):7,d} {sum(v) / len(v):8.1f} {v[len(v) // 2]:7.0f} {sum(v) / total:6.1%}")


def main() -> int:
    ap = options(__doc__)
    args = ap.parse_args()
    chunks = token_chunks(catalog_doc(400))
    clock = time.perf_counter_ns
    fastest = [float("inf")] * len(chunks)
    for _ in range(args.repeats):
        renew(chunks)
        p = unspool.Parser()
        feed = p.feed
        for i, c in enumerate(chunks):
            t0 = clock()
            feed(c)
            p.value  # noqa: B018
            t = clock() - t0
            if t < fastest[i]:
                fastest[i] = t
    floor = min(fastest)

    roles = quote_roles("".join(chunks))
    costs: dict[str, list[float]] = defaultdict(list)
    at = 0
    for c, t in zip(chunks, fastest, strict=True):
        kinds = [roles[at + k] for k, ch in enumerate(c) if ch == '"' and at + k in roles]
        if any(ch in ",:{}[]" for ch in c):
            kinds.append("punctuation")
        costs[" + ".join(kinds) or "text only"].append(t - floor)
        at += len(c)

    total = sum(sum(v) for v in costs.values())
    print(f"{len(chunks):,} chunks; the cheapest took {floor} ns with the timer; min of {args.repeats}")
    print(f"{'role':38s} {'chunks':>7s} {'mean ns':>8s} {'median':>7s} {'share':>6s}")
    table(costs, total, 14)
    text = costs["text only"]
    slow = [t for t in text if t > 200]
    print(
        f"text-only chunks over 200 ns: {len(slow):,} of {len(text):,}, "
        f"{sum(slow) / total:.1%} of all the time"
    )

    by_class: dict[str, list[float]] = defaultdict(list)
    for cls, t in zip(text_classes(chunks, roles), fastest, strict=True):
        if cls is not None:
            by_class[cls].append(t - floor)
    print(f"\n{'text of string values':38s} {'chunks':>7s} {'mean ns':>8s} {'median':>7s} {'share':>6s}")
    table(by_class, total, 12)
    return 0


if __name__ == "__main__":
    sys.exit(main())
