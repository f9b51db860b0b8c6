"""The `unspool` command line: `unspool demo` shows a partial value growing as JSON streams in."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from ._core import Parser

SAMPLE = json.dumps(
    [
        {"title": "Note Ninja", "blurb": "Capture ideas at the speed of thought ✍️", "votes": 42},
        {"title": "Think Ink", "blurb": "Where messy thoughts become organized plans", "votes": 17},
        {"title": "Brain Dump Pro", "blurb": "Your second brain, always ready", "votes": 9},
    ],
    ensure_ascii=False,
)


def demo(text: str, chunk: int, delay: float) -> None:
    """Feeds `text` in `chunk`-character pieces, printing the value each time it visibly changes."""
    parser = Parser(lenient=True)
    for i in range(0, len(text), chunk):
        if parser.feed(text[i : i + chunk]):
            print(f"partial: {parser.value!r}  open at {parser.open_path}")
            time.sleep(delay)
    print(f"final:   {parser.finish()!r}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="unspool", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="stream a JSON document in chunks and show the partial value grow")
    d.add_argument("file", nargs="?", help="a JSON file (default: a built-in list of ideas); - for stdin")
    d.add_argument("--chunk", type=int, default=4, help="characters per chunk (default 4)")
    d.add_argument("--delay", type=float, default=0.02, help="seconds between updates (default 0.02)")
    args = ap.parse_args(argv)
    if args.file is None:
        text = SAMPLE
    elif args.file == "-":
        text = sys.stdin.read()
    else:
        with open(args.file, encoding="utf-8") as f:
            text = f.read()
    demo(text, max(1, args.chunk), max(0.0, args.delay))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
