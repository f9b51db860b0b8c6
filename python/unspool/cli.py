"""The `unspool` command line.

`unspool demo` runs the tutorial's first example end to end: three marketing ideas as `list[Idea]`, through
the real `openai` SDK, from the embedded OpenAI-compatible server (or, with `--live`, the OpenAI API),
drawn live in the terminal as they stream. `unspool parse` shows the bare parser on any JSON file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from ._core import Parser, __version__
from .errors import JSONDecodeError

PROMPT = "Generate 3 marketing ideas for a note-taking app"

# What the embedded server answers (an LLM's answer to PROMPT, written once by hand).
IDEAS = [
    {"title": "Note Ninja", "blurb": "Capture ideas at the speed of thought, then find them in a keystroke."},
    {"title": "Think Ink", "blurb": "Where messy thoughts become organized plans, with no filing required."},
    {"title": "Brain Dump Pro", "blurb": "Your second brain, always ready: offline, synced, and searchable."},
]


class Idea(BaseModel):
    title: str
    blurb: str = Field(..., max_length=140)


def _table(ideas: Any, done: bool) -> Any:
    from rich.table import Table

    from .partial import is_complete

    table = Table(title="list[Idea]", expand=True, title_justify="left")
    table.add_column("#", width=3, justify="right")
    table.add_column("title", ratio=1, style="bold")
    table.add_column("blurb", ratio=3)
    table.add_column("", width=2)
    for i, idea in enumerate(ideas or []):
        closed = done or is_complete(idea)
        cursor = "" if closed else "[blink]▌[/blink]"
        table.add_row(str(i + 1), idea.title, f"{idea.blurb}{cursor}", "[green]✓[/green]" if closed else "…")
    return table


def demo(*, live: bool, api: str, mode: str, model: str, delay: float) -> int:
    """Streams the tutorial's ideas and draws them as they grow; returns the exit status."""
    try:
        from openai import OpenAI
        from rich.console import Console
        from rich.live import Live
    except ModuleNotFoundError as e:
        if e.name is None or e.name.partition(".")[0] not in ("openai", "rich"):
            raise
        _error(f'demo needs the {e.name.partition(".")[0]} package: pip install "unspool[demo]"')
        return 2

    import unspool

    console = Console()
    if live and not os.environ.get("OPENAI_API_KEY"):
        console.print("[red]--live needs OPENAI_API_KEY in the environment[/red]")
        return 2
    server = None
    if live:
        sdk = OpenAI()
        where = "the OpenAI API"
    else:
        from .testing import ReplayServer

        server = ReplayServer(IDEAS, delay=delay).start()
        sdk = OpenAI(base_url=server.base_url, api_key="unspool-demo", max_retries=0)
        where = f"the embedded server at {server.base_url}"
    try:
        client = unspool.from_openai(sdk, mode=mode)
        endpoint = client.responses if api == "responses" else client.chat.completions
        console.print(f"[dim]{api}.stream(response_model=list[Idea], mode={mode!r}) from {where}[/dim]")
        start = time.perf_counter()
        stream = endpoint.stream(
            model=model, messages=[{"role": "user", "content": PROMPT}], response_model=list[Idea]
        )
        updates = 0
        with Live(_table([], False), console=console, refresh_per_second=30) as view:
            for partial in stream:
                updates += 1
                view.update(_table(partial, False))
            ideas = stream.get_final_response()
            view.update(_table(ideas, True))
        console.line()
        elapsed = time.perf_counter() - start
        usage = stream.usage
        tokens = f", {usage.total_tokens} tokens" if usage is not None else ""
        console.print(f"[dim]{updates} partial updates in {elapsed:.2f} s{tokens}[/dim]")
        print("final:", ideas)
        return 0
    finally:
        sdk.close()
        if server is not None:
            server.stop()


def parse(text: str, chunk: int, delay: float) -> None:
    """Feeds `text` in `chunk`-character pieces, printing the value each time it visibly changes."""
    parser = Parser(lenient=True)
    for i in range(0, len(text), chunk):
        if parser.feed(text[i : i + chunk]):
            print(f"partial: {parser.value!r}  open at {parser.open_path}")
            time.sleep(delay)
    print(f"final:   {parser.finish()!r}")


def _error(message: str) -> None:
    """One line on stderr, as argparse words its own errors."""
    print(f"unspool: error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="unspool", description=__doc__.splitlines()[0])
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="stream the tutorial's list[Idea] example and draw it live")
    d.add_argument("--live", action="store_true", help="call the OpenAI API (needs OPENAI_API_KEY)")
    d.add_argument("--api", choices=["responses", "chat"], default="responses")
    d.add_argument("--mode", choices=["json_schema", "tools", "json", "md_json"], default="json_schema")
    d.add_argument("--model", default="gpt-4o-mini")
    d.add_argument("--delay", type=float, default=0.02, help="embedded server: seconds between deltas")
    p = sub.add_parser("parse", help="stream a JSON document through the bare parser")
    p.add_argument("file", nargs="?", help="a JSON file (default: the demo's ideas); - for stdin")
    p.add_argument("--chunk", type=int, default=4, help="characters per chunk (default 4)")
    p.add_argument("--delay", type=float, default=0.02, help="seconds between updates (default 0.02)")
    args = ap.parse_args(argv)
    if args.command == "demo":
        return demo(
            live=args.live, api=args.api, mode=args.mode, model=args.model, delay=max(0.0, args.delay)
        )
    if args.file is None:
        text = json.dumps(IDEAS, ensure_ascii=False)
    elif args.file == "-":
        text = sys.stdin.read()
    else:
        try:
            with open(args.file, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            _error(f"cannot read {args.file}: {reason}")
            return 2
    try:
        parse(text, max(1, args.chunk), max(0.0, args.delay))
    except JSONDecodeError as e:
        _error(f"{args.file or 'the input'} is not JSON: {e}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
