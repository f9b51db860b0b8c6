"""The `unspool` command line: the demo streams the tutorial example through the SDK and embedded server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "unspool", *args], capture_output=True, text=True, timeout=60
    )


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.metadata

    import unspool

    with pytest.raises(SystemExit) as stop:
        cli.main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"unspool {unspool.__version__}\n"
    assert unspool.__version__ == importlib.metadata.version("unspool")
    done = run_cli("--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"unspool {unspool.__version__}\n", "")


def test_parse_a_missing_file_is_a_one_line_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    done = run_cli("parse", str(missing))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"unspool: error: cannot read {missing}: No such file or directory\n"
    done = run_cli("parse", str(tmp_path))
    assert (done.returncode, done.stderr) == (2, f"unspool: error: cannot read {tmp_path}: Is a directory\n")


def test_parse_of_a_file_that_is_not_json_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"title": "Note Ninja", "score": x}', encoding="utf-8")
    done = run_cli("parse", "--delay", "0", str(path))
    assert done.returncode == 1
    assert "partial: {'title': 'Note Ninja'}" in done.stdout  # what was read before the error is shown
    assert done.stderr.startswith(f"unspool: error: {path} is not JSON: Expecting value, found 'x'")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize("missing", ["rich", "openai"])
def test_demo_without_its_extra_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], missing: str
) -> None:
    # A None in sys.modules makes `import` fail as if the package were not installed.
    for name in [m for m in sys.modules if m == missing or m.startswith(missing + ".")] + [missing]:
        monkeypatch.setitem(sys.modules, name, None)
    assert cli.main(["demo", "--delay", "0"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f'unspool: error: demo needs the {missing} package: pip install "unspool[demo]"\n'
