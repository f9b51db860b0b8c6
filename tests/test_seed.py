"""The tutorial's own Python code blocks, run as the tutorial writes them, against `unspool.testing`.

The tutorial is read at test time from ``shared/`` beside the checkout. Each block changes in one way
only: ``import instructor`` becomes ``import unspool`` and ``instructor.from_openai(`` becomes
``unspool.from_openai(``. The blocks build their own clients from the environment, so the tests point
OPENAI_BASE_URL at a `ReplayServer` replaying a document that fits the block's model.
"""

from __future__ import annotations

import ast
import gc
import json
import logging
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from shared_dir import SHARED, import_or_skip, missing

openai = import_or_skip("openai", reason="the tutorial's blocks call the openai SDK")

import unspool  # noqa: E402
from ideas import IDEAS, Idea  # noqa: E402
from unspool.testing import ReplayServer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TUTORIAL = SHARED / "seed" / "000_77fd1e84d43021ed.txt"
EXAMPLES = REPO / "examples"


MOVIES = [
    {"title": "Arrival", "year": 2016, "reason": "A linguist learns to think in an alien language."},
    {"title": "Blade Runner", "year": 1982, "reason": "Rain-soaked noir about what makes someone human."},
    {"title": "Contact", "year": 1997, "reason": "Science and faith meet in the search for a signal."},
    {"title": "Moon", "year": 2009, "reason": "One actor carries a quiet, lonely mystery."},
    {"title": "Gattaca", "year": 1997, "reason": "Willpower against a world that reads your genes."},
]
RECIPES = [
    {
        "name": "Garlic Butter Shrimp",
        "prep_time_minutes": 15,
        "ingredients": ["shrimp", "butter", "garlic"],
        "instructions": "Saute the shrimp in garlic butter until pink.",
    },
    {
        "name": "Veggie Stir Fry",
        "prep_time_minutes": 20,
        "ingredients": ["broccoli", "bell pepper", "soy sauce"],
        "instructions": "Stir fry the vegetables on high heat, then add the sauce.",
    },
    {
        "name": "Pesto Pasta",
        "prep_time_minutes": 12,
        "ingredients": ["pasta", "pesto"],
        "instructions": "Boil the pasta and toss it with the pesto.",
    },
    {
        "name": "Black Bean Tacos",
        "prep_time_minutes": 10,
        "ingredients": ["tortillas", "black beans", "salsa"],
        "instructions": "Warm the beans and fill the tortillas.",
    },
]

# One string that only the block of each section contains.
MARKERS = {
    "basic": 'print("partial:", partial)',
    "async": "class MovieRecommendation",
    "fastapi": '@app.post("/ideas")',
    "recipes": "class Recipe",
    "logging": "prev_count = 0",
}


def python_blocks() -> list[str]:
    if not TUTORIAL.is_file():
        missing(
            "the tutorial is read from ../shared beside the checkout "
            f"(shared/seed/{TUTORIAL.name}), which is not there"
        )
    text = TUTORIAL.read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def swap(code: str) -> str:
    """The tutorial's code with unspool in place of instructor on the import and client lines only."""
    code = re.sub(r"^import instructor$", "import unspool", code, flags=re.MULTILINE)
    code = code.replace("instructor.from_openai(", "unspool.from_openai(")
    assert not re.search(r"\binstructor\b", code), "instructor is used beyond the import and client lines"
    return code


def block(name: str) -> str:
    found = [b for b in python_blocks() if MARKERS[name] in b]
    assert len(found) == 1, f"expected one python block of the tutorial with {MARKERS[name]!r}"
    return swap(found[0])


def run_block(name: str, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    ns: dict[str, Any] = {"__name__": f"tutorial_{name}", **(namespace or {})}
    exec(compile(block(name), f"<tutorial: {name}>", "exec"), ns)
    return ns


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch):
    """Points the clients the blocks make (`OpenAI()`, `AsyncOpenAI()`) at a replay server."""

    def serve(document: Any) -> ReplayServer:
        server = ReplayServer(document)
        server.start()
        started.append(server)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        return server

    started: list[ReplayServer] = []
    yield serve
    for server in started:
        server.stop()


IDEA_RE = re.compile(r"Idea\(title='([^']*)', blurb='([^']*)'\)")


def parse_ideas(text: str) -> list[tuple[str, str]]:
    return IDEA_RE.findall(text)


def check_growing(partials: list[list[tuple[str, str]]], final: list[tuple[str, str]]) -> None:
    """Each partial list extends the previous one: items only appear, strings only grow, up to the final."""
    assert len(partials) > len(final), "the answer did not arrive in pieces"
    for before, after in zip(partials, partials[1:], strict=False):
        assert len(before) <= len(after)
        for (t0, b0), (t1, b1) in zip(before, after, strict=False):
            assert t1.startswith(t0) and b1.startswith(b0)
    for items in partials:
        for i, (title, blurb) in enumerate(items):
            assert final[i][0].startswith(title) and final[i][1].startswith(blurb)
            if i < len(items) - 1:
                assert (title, blurb) == final[i], "an item was followed by another before it was whole"
    assert [len(p) for p in partials if p][0] == 1
    assert partials[-1] == final


def test_the_tutorial_has_the_blocks_the_tests_run() -> None:
    blocks = python_blocks()
    assert len(blocks) == len(MARKERS)
    for name in MARKERS:
        code = block(name)
        compile(code, name, "exec")
        if name != "logging":  # the logging block is a fragment that uses a stream made elsewhere
            assert "unspool.from_openai(" in code


def test_basic_streaming_example(env, capsys: pytest.CaptureFixture[str]) -> None:
    server = env(IDEAS)
    ns = run_block("basic")
    ns["client"].close()

    lines = capsys.readouterr().out.splitlines()
    partial_lines = [line for line in lines if line.startswith("partial: ")]
    assert lines[-1].startswith("final: ")
    assert len(partial_lines) == len(lines) - 1
    want = [(d["title"], d["blurb"]) for d in IDEAS]
    assert parse_ideas(lines[-1]) == want
    assert lines[-1] == "final: " + repr([ns["Idea"](**d) for d in IDEAS])
    check_growing([parse_ideas(line) for line in partial_lines], want)
    # The returned object is the validated list of the block's own model.
    assert ns["ideas"] == [ns["Idea"](**d) for d in IDEAS]
    assert [r["path"] for r in server.requests] == ["/v1/responses"]
    assert "Generate 3 marketing ideas" in json.dumps(server.requests[0]["body"])


def test_async_streaming_example(env, capsys: pytest.CaptureFixture[str]) -> None:
    env(MOVIES)
    # The block runs `asyncio.run(...)` itself, here in the test's thread; the server has its own.
    ns = run_block("async")
    recommendations, model = ns["recommendations"], ns["MovieRecommendation"]
    # The block never closes its AsyncOpenAI client, whose pooled connection belonged to the loop that
    # `asyncio.run` has closed: collect it here, where its "unclosed transport" warning is expected.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        ns.clear()
        gc.collect()

    assert recommendations == [model(**m) for m in MOVIES]
    lines = capsys.readouterr().out.splitlines()
    summary = [f"{m['title']} ({m['year']}): {m['reason']}" for m in MOVIES]
    assert lines[-len(MOVIES) :] == summary
    streaming = lines[: -len(MOVIES)]
    assert streaming and all(line.startswith("  Streaming: ") and line.endswith(" ...") for line in streaming)
    titles = [line.removeprefix("  Streaming: ").removesuffix(" ...") for line in streaming]
    # The latest item's title as it grows: each one printed is a prefix of a movie's, and all five are
    # printed whole, in the document's order.
    assert all(any(m["title"].startswith(t) for m in MOVIES) for t in titles)
    whole = [t for i, t in enumerate(titles) if t in {m["title"] for m in MOVIES} and t not in titles[:i]]
    assert whole == [m["title"] for m in MOVIES]


def test_recipes_loop(env, capsys: pytest.CaptureFixture[str]) -> None:
    env(RECIPES)
    ns = run_block("recipes")
    ns["client"].close()

    out = capsys.readouterr().out
    assert out.rstrip("\n").splitlines()[-1] == "Done! Got 4 recipes total."
    # The loop prints a recipe's header each time it changes until its instructions start; the last
    # one printed for each number shows the recipe whole, with all its ingredients.
    blocks = re.findall(
        r"^--- Recipe #(\d+): (.*) ---\n  Prep time: (.*) min\n  Ingredients: (.*)$", out, re.M
    )
    numbers = [int(b[0]) for b in blocks]
    assert numbers == sorted(numbers) and set(numbers) == {1, 2, 3, 4}
    last = {int(n): (name, prep, ingredients) for n, name, prep, ingredients in blocks}
    for i, recipe in enumerate(RECIPES, 1):
        assert last[i] == (
            recipe["name"],
            str(recipe["prep_time_minutes"]),
            ", ".join(recipe["ingredients"]),
        )
    for n, name, _, _ in blocks:
        assert RECIPES[int(n) - 1]["name"].startswith(name)
    assert ns["final_recipes"] == [ns["Recipe"](**r) for r in RECIPES]


def test_debug_logging_loop(env, caplog: pytest.LogCaptureFixture) -> None:
    env(IDEAS)
    # The block is a fragment: it logs with a `logger` and reads a `stream` set up beforehand, here
    # as the basic example sets up its stream of ideas.
    logger = logging.getLogger("tutorial.debugging")
    caplog.set_level(logging.DEBUG, logger=logger.name)
    with openai.OpenAI() as sdk:
        client = unspool.from_openai(sdk)
        stream = client.responses.stream(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Generate 3 marketing ideas for a note-taking app"}],
            response_model=list[Idea],
        )
        run_block("logging", {"stream": stream, "logger": logger})
        final = stream.get_final_response()

    messages = [r.getMessage() for r in caplog.records if r.name == logger.name]
    assert [m.split(":", 1)[0] for m in messages] == ["New item #1", "New item #2", "New item #3"]
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == logger.name)
    # Each line names the item that just appeared (still empty, or already partly written).
    for i, message in enumerate(messages):
        (title, blurb) = re.fullmatch(r"New item #\d: title='([^']*)' blurb='([^']*)'", message).groups()
        assert IDEAS[i]["title"].startswith(title) and IDEAS[i]["blurb"].startswith(blurb)
    assert final == [Idea(**d) for d in IDEAS]


def fastapi_test_client() -> Any:
    """FastAPI's TestClient, or a skip: fastapi (and httpx, which TestClient needs) is an optional extra."""
    module = import_or_skip(
        "fastapi.testclient",
        reason="fastapi (and httpx, for its TestClient) is an optional extra; the project's CI installs it",
    )
    return module.TestClient


def test_fastapi_endpoint(env) -> None:
    TestClient = fastapi_test_client()

    server = env(IDEAS)
    ns = run_block("fastapi")
    with TestClient(ns["app"]) as http:
        response = http.post("/ideas", json={"topic": "marketing ideas for a note-taking app", "count": 3})
        # The lifespan leaves its client open ("nothing to clean up"); close it on the app's own loop.
        http.portal.call(ns["app"].state.client.close)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert "Give 3 marketing ideas for a note-taking app" in json.dumps(server.requests[0]["body"])

    events = [e for e in response.text.split("\n\n") if e]
    *partials, done = events
    assert done.startswith("event: done\ndata: ")
    assert json.loads(done.removeprefix("event: done\ndata: ")) == IDEAS
    assert all(e.startswith("data: ") for e in partials)
    lists = [json.loads(e.removeprefix("data: ")) for e in partials]
    check_growing(
        [[(d["title"], d["blurb"]) for d in items] for items in lists],
        [(d["title"], d["blurb"]) for d in IDEAS],
    )


def test_fastapi_endpoint_rejects_a_bad_body(env) -> None:
    TestClient = fastapi_test_client()

    server = env(IDEAS)
    ns = run_block("fastapi")
    with TestClient(ns["app"]) as http:
        response = http.post("/ideas", json={"count": 50})
        http.portal.call(ns["app"].state.client.close)
    assert response.status_code == 422
    assert server.requests == []


def _statements(code: str) -> tuple[set[str], list[str]]:
    """A module's imports (as a set: their order is the linter's) and its other statements, in order."""
    body = ast.parse(code).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    imports = {ast.dump(s) for s in body if isinstance(s, (ast.Import, ast.ImportFrom))}
    others = [ast.dump(s) for s in body if not isinstance(s, (ast.Import, ast.ImportFrom))]
    return imports, others
