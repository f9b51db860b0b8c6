"""The `unspool` command line: the demo streams the tutorial example through the SDK and embedded server."""

from __future__ import annotations

import subprocess
import sys

import pytest
from unspool import cli


def test_demo_streams_the_three_ideas_through_the_embedded_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--delay", "0"]) == 0
    out = capsys.readouterr().out
    final = out[out.index("final: ") :]
    for idea in cli.IDEAS:
        assert f"Idea(title={idea['title']!r}, blurb={idea['blurb']!r})" in final
    assert "partial updates" in out and "tokens" in out


@pytest.mark.parametrize("api", ["responses", "chat"])
@pytest.mark.parametrize("mode", ["tools", "md_json"])
def test_demo_other_apis_and_modes(capsys: pytest.CaptureFixture[str], api: str, mode: str) -> None:
    assert cli.main(["demo", "--delay", "0", "--api", api, "--mode", mode]) == 0
    assert "Brain Dump Pro" in capsys.readouterr().out.split("final: ")[1]


def test_demo_live_without_a_key_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert cli.main(["demo", "--live"]) == 2


def test_the_installed_command_runs_the_demo() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "unspool", "demo", "--delay", "0"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "final: [Idea(title='Note Ninja'" in done.stdout


def test_parse_prints_growing_values_then_the_final_one(capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(["parse", "--delay", "0", "--chunk", "3"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == f"final:   {cli.IDEAS!r}"
    assert len(lines) > 10 and all(line.startswith("partial: ") for line in lines[:-1])


def test_demo_live_calls_the_api_the_environment_names(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from unspool.testing import ReplayServer

    with ReplayServer(cli.IDEAS[:2]) as server:  # stands in for the OpenAI API here
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        assert cli.main(["demo", "--live", "--model", "gpt-4.1-mini"]) == 0
        (request,) = server.requests
    assert request["path"].endswith("/responses") and request["body"]["model"] == "gpt-4.1-mini"
    out = capsys.readouterr().out
    assert "the OpenAI" in out and "Brain Dump Pro" not in out.split("final: ")[1]
