"""The scripts in examples/, run the way a reader runs them, against `unspool.testing` over real HTTP.

Each script runs in its own interpreter (`sys.executable`) with OPENAI_BASE_URL pointing at a
`ReplayServer` that replays a document fitting the script's model. The FastAPI app is loaded from its
file and driven with FastAPI's TestClient, whose lifespan opens and closes the app's client.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from shared_dir import import_or_skip

import_or_skip("openai", reason="the examples call the openai SDK")

from unspool.testing import ReplayServer  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = ["async_stream.py", "basic_sync.py", "debug_logging.py", "fastapi_sse.py", "items.py"]

TAGLINES = [
    {"audience": "Commuters", "text": "Flat tyre at eight, rolling again by nine"},
    {"audience": "Families", "text": "Small wheels, big fixes, no fuss"},
    {"audience": "Racers", "text": "Shave seconds off before the start line"},
]
BOOKS = [
    {"title": "Middlemarch", "pages": 880, "author": "George Eliot"},
    {"title": "Dune", "pages": 412, "author": "Frank Herbert"},
    {"title": "The Count of Monte Cristo", "pages": 1276, "author": "Alexandre Dumas"},
    {"title": "Piranesi", "pages": 272, "author": "Susanna Clarke"},
]
DISHES = [
    {
        "name": "Kimchi Fried Rice",
        "minutes": 15,
        "ingredients": ["rice", "kimchi", "egg", "sesame oil"],
        "method": "Fry the kimchi, add the rice until crisp, top with a fried egg.",
    },
    {
        "name": "Congee",
        "minutes": 35,
        "ingredients": ["rice", "stock", "ginger"],
        "method": "Simmer the rice in stock with ginger until it breaks down.",
    },
    {
        "name": "Rice Pudding",
        "minutes": 25,
        "ingredients": ["rice", "milk", "sugar", "cinnamon"],
        "method": "Stir the rice into sweetened milk and cook it slowly.",
    },
    {
        "name": "Arancini",
        "minutes": 38,
        "ingredients": ["rice", "mozzarella", "breadcrumbs"],
        "method": "Wrap rice around cheese, crumb the balls and fry them golden.",
    },
]
EPISODES = [
    {"title": "The Humble Zip", "pitch": "How a fastener took forty years to catch on."},
    {"title": "Paper Clips and Protest", "pitch": "A bent wire that became a symbol."},
    {"title": "Who Invented the Fork?", "pitch": "Scandal at the Byzantine dinner table."},
]
STOPS = [
    {"place": "Lisbon", "nights": 3, "highlight": "Tram 28 up to the Alfama at dusk"},
    {"place": "Sintra", "nights": 1, "highlight": "Palaces in the fog"},
    {"place": "Porto", "nights": 12, "highlight": "Port cellars across the river"},
]


@pytest.fixture
def serve() -> Iterator[Any]:
    started: list[ReplayServer] = []

    def start(document: Any, **options: Any) -> ReplayServer:
        server = ReplayServer(document, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def example_env(server: ReplayServer) -> dict[str, str]:
    return {**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "test"}


def run_example(name: str, server: ReplayServer, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        env=example_env(server),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done


def prompt_of(server: ReplayServer) -> str:
    assert len(server.requests) == 1
    return json.dumps(server.requests[0]["body"])


def check_growing(snapshots: list[list[tuple[str, ...]]], final: list[tuple[str, ...]]) -> None:
    """Snapshots only grow: elements are only added, strings only extended, finished elements never change."""
    assert len(snapshots) > len(final), "the answer did not arrive in pieces"
    for before, after in zip(snapshots, snapshots[1:], strict=False):
        assert len(before) <= len(after)
        for old, new in zip(before, after, strict=False):
            assert all(n.startswith(o) for o, n in zip(old, new, strict=True))
    for snapshot in snapshots:
        for i, element in enumerate(snapshot):
            assert all(f.startswith(s) for s, f in zip(element, final[i], strict=True))
            if i < len(snapshot) - 1:
                assert element == final[i], "an element was followed by another before it was whole"
    assert snapshots[-1] == final


def test_basic_sync_prints_growing_lists_then_the_final_one(serve: Any, tmp_path: Path) -> None:
    server = serve(TAGLINES)
    done = run_example("basic_sync.py", server, tmp_path)
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    want = [(t["audience"], t["text"]) for t in TAGLINES]
    assert lines[-len(TAGLINES) :] == [f"{a}: {t}" for a, t in want]
    updates = lines[: -len(TAGLINES)]
    assert updates and all(line.startswith("so far: [Tagline(") for line in updates)
    element = re.compile(r"Tagline\(audience='([^']*)', text='([^']*)'\)")
    check_growing([element.findall(line) for line in updates], want)
    assert server.requests[0]["path"] == "/v1/responses"
    assert "taglines" in prompt_of(server)


def test_async_stream_never_prints_half_a_number(serve: Any, tmp_path: Path) -> None:
    server = serve(BOOKS)
    done = run_example("async_stream.py", server, tmp_path)
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    total = sum(b["pages"] for b in BOOKS)
    assert lines[-len(BOOKS) - 1 :] == [
        f"{len(BOOKS)} books, {total} pages to read:",
        *(f"- {b['title']} by {b['author']}, {b['pages']} pages" for b in BOOKS),
    ]
    updates = [
        re.fullmatch(r"  book (\d+): (.*) \((\?|\d+) pages\) by (.*)", line)
        for line in lines[: -len(BOOKS) - 1]
    ]
    assert updates and all(updates)
    shown: dict[int, list[str]] = {}
    for m in updates:
        assert m is not None
        number, title, pages, author = int(m[1]), m[2], m[3], m[4]
        book = BOOKS[number - 1]
        assert book["title"].startswith(title) and book["author"].startswith(author)
        # Unknown, or the whole number: never 8 or 88 on the way to 880.
        assert pages in ("?", str(book["pages"]))
        shown.setdefault(number, []).append(pages)
    assert list(shown) == [1, 2, 3, 4]
    for number, pages_seen in shown.items():
        whole = str(BOOKS[number - 1]["pages"])
        assert whole in pages_seen
        assert pages_seen == sorted(pages_seen, key=lambda p: p == whole), "a number went back to unknown"
    assert "novels" in prompt_of(server)


def expected_dishes() -> list[str]:
    lines = []
    for n, dish in enumerate(DISHES, start=1):
        lines += [
            f"{n}. {dish['name']} ({dish['minutes']} min)",
            f"   you need: {', '.join(dish['ingredients'])}",
            f"   {dish['method']}",
        ]
    return [*lines, f"{len(DISHES)} dishes planned."]


def test_items_prints_each_dish_once_in_order(serve: Any, tmp_path: Path) -> None:
    server = serve(DISHES)
    done = run_example("items.py", server, tmp_path)
    assert done.stderr == ""
    assert done.stdout.splitlines() == expected_dishes()
    assert "leftover rice" in prompt_of(server)


def test_items_prints_a_dish_before_the_answer_is_over(serve: Any, tmp_path: Path) -> None:
    # Slow deltas: the first dish must be printed while the server is still sending the others.
    server = serve(DISHES, delay=0.004)
    with subprocess.Popen(
        [sys.executable, str(EXAMPLES / "items.py")],
        env={**example_env(server), "PYTHONUNBUFFERED": "1"},  # line by line, as on a terminal
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        finished_when_first_printed = server.completed
        rest = proc.stdout.read()
        errors = proc.stderr.read()
        assert proc.wait(timeout=60) == 0, errors
    assert errors == ""
    assert first == expected_dishes()[0] + "\n"
    assert finished_when_first_printed == 0
    assert (first + rest).splitlines() == expected_dishes()


def test_debug_logging_logs_one_line_per_element(serve: Any, tmp_path: Path) -> None:
    server = serve(EPISODES)
    done = run_example("debug_logging.py", server, tmp_path)
    assert done.stdout == ""
    *debug, summary = done.stderr.splitlines()
    # One line per episode, each with its whole title, and nothing from the libraries underneath.
    assert debug == [f"DEBUG episodes: episode {n}: {e['title']}" for n, e in enumerate(EPISODES, start=1)]
    m = re.fullmatch(r"INFO episodes: 3 episodes, (\d+) characters of JSON", summary)
    assert m is not None and int(m[1]) >= len(json.dumps(EPISODES, separators=(",", ":")))
    assert "podcast" in prompt_of(server)


def load_app(server: ReplayServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    import_or_skip(
        "fastapi.testclient",
        reason="fastapi (and httpx, for its TestClient) is an optional extra; the project's CI installs it",
    )
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    return runpy.run_path(str(EXAMPLES / "fastapi_sse.py"), run_name="fastapi_sse")["app"]


def post_trip(app: Any, body: dict[str, Any]) -> Any:
    from fastapi.testclient import TestClient

    with TestClient(app) as http:
        return http.post("/itinerary", json=body)


def sse_events(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in filter(None, text.split("\n\n")):
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        assert set(fields) <= {"event", "data"}
        events.append((fields.get("event", "message"), json.loads(fields["data"])))
    return events


def test_fastapi_streams_growing_events_then_done(serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve(STOPS)
    response = post_trip(load_app(server, monkeypatch), {"destination": "Portugal", "days": 16})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    *updates, (kind, final) = sse_events(response.text)
    assert (kind, final) == ("done", STOPS)
    assert updates and all(kind == "message" for kind, _ in updates)
    for _, stops in updates:
        for i, stop in enumerate(stops):
            # `nights` is null until its digits are all in: 12 never arrives as 1.
            assert stop["nights"] in (None, STOPS[i]["nights"])
    snapshots = [[(s["place"], s["highlight"]) for s in stops] for _, stops in updates]
    check_growing(snapshots, [(s["place"], s["highlight"]) for s in STOPS])
    assert server.requests[0]["path"] == "/v1/chat/completions"
    assert "Plan 16 days in Portugal" in prompt_of(server)


def test_fastapi_reports_an_invalid_answer_as_an_error_event(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve([{**STOPS[0], "nights": 0}, *STOPS[1:]])
    response = post_trip(load_app(server, monkeypatch), {"destination": "Portugal"})
    assert response.status_code == 200
    *updates, (kind, error) = sse_events(response.text)
    assert updates and all(kind == "message" for kind, _ in updates)
    assert kind == "error" and "nights" in error["message"]
    assert "Plan 7 days in Portugal" in prompt_of(server)


def test_fastapi_rejects_a_bad_body_without_calling_the_api(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(STOPS)
    response = post_trip(load_app(server, monkeypatch), {"destination": "Portugal", "days": 90})
    assert response.status_code == 422
    assert server.requests == []


def test_readme_describes_every_example() -> None:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == SCRIPTS
    for name in SCRIPTS:
        assert f"`{name}`" in readme
    assert "python -m unspool.testing" in readme and "OPENAI_BASE_URL" in readme
