"""What the package needs and declares: pydantic is its one dependency; the openai SDK, rich and FastAPI are
extras, imported only by the features that use them, which name the extra to install when it is missing.

.ci/run also installs the built wheel alone (it brings pydantic, nothing else) into a clean virtualenv and
runs the same checks there, with the packages really absent.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import unspool

EXTRAS = ("openai", "rich", "fastapi", "httpx", "uvicorn")


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )


def test_importing_unspool_imports_no_optional_package() -> None:
    done = run_python(
        f"""
        import sys
        import unspool, unspool.cli, unspool.testing
        print(sorted(m for m in sys.modules if m.partition(".")[0] in {EXTRAS!r}))
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[]\n"


def test_the_core_works_with_the_optional_packages_absent() -> None:
    # A None in sys.modules makes `import` fail exactly as for a package that is not installed.
    done = run_python(
        f"""
        import sys
        for name in {EXTRAS!r}:
            sys.modules[name] = None
        from pydantic import BaseModel
        import unspool

        class Idea(BaseModel):
            title: str

        chunks = ['[{{"tit', 'le": "Note', ' Ninja"}}]']
        s = unspool.stream(chunks, list[Idea])
        print([[i.title for i in p] for p in s])
        print(s.get_final_response())
        p = unspool.Parser()
        p.feed('{{"a": [1, "x')
        print(p.value, p.open_path)
        try:
            unspool.from_openai(object())
        except ModuleNotFoundError as e:
            print(e.name, e)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "[[''], ['Note'], ['Note Ninja']]",
        "[Idea(title='Note Ninja')]",
        "{'a': [1, 'x']} ('a', 1)",
        'openai unspool.from_openai needs the openai SDK, an optional extra: pip install "unspool[openai]"',
    ]


def test_from_openai_without_the_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m.partition(".")[0] == "openai"] + ["openai"]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ModuleNotFoundError, match=r'pip install "unspool\[openai\]"') as caught:
        unspool.from_openai(object())
    assert caught.value.name == "openai"
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)


def test_a_missing_dependency_of_the_sdk_is_not_reported_as_a_missing_sdk(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # An `openai` that is installed but cannot import something of its own: that error is the one to see.
    (tmp_path / "openai").mkdir()
    (tmp_path / "openai" / "__init__.py").write_text("import unspool_test_absent_dependency\n")
    for name in [m for m in sys.modules if m.partition(".")[0] == "openai"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as caught:
        unspool.from_openai(object())
    assert caught.value.name == "unspool_test_absent_dependency"
    assert "unspool[openai]" not in str(caught.value)


def test_the_metadata_requires_pydantic_only_and_declares_the_extras() -> None:
    meta = importlib.metadata.metadata("unspool")
    requires = importlib.metadata.requires("unspool") or []
    always = [r for r in requires if "extra ==" not in r]
    assert [r.replace(" ", "") for r in always] == ["pydantic>=2.7"]
    extras = set(meta.get_all("Provides-Extra") or [])
    assert {"openai", "demo", "web", "test", "bench", "dev"} <= extras
    assert any(r.startswith("openai") and "extra == 'openai'" in r for r in requires)
    assert any(r.startswith("rich") and "extra == 'demo'" in r for r in requires)
    classifiers = set(meta.get_all("Classifier") or [])
    for minor in (10, 11, 12, 13):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    assert "License :: OSI Approved :: MIT License" in classifiers
    assert "Typing :: Typed" in classifiers
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert set(urls) >= {"Homepage", "Repository", "Changelog", "Issues"}
    assert all(u.startswith("https://") for u in urls.values())


@pytest.mark.parametrize("ci", ["true", "1"])
def test_in_ci_a_missing_shared_dir_fails_instead_of_skipping(
    monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    from shared_dir import import_or_skip, missing

    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="JSONTestSuite not found; CI must have it"):
        missing("JSONTestSuite not found")
    with pytest.raises(pytest.fail.Exception, match="CI installs it"):
        import_or_skip("unspool_test_absent_package", reason="an extra")
    for outside in ["", "false", "0"]:
        monkeypatch.setenv("CI", outside)
        with pytest.raises(pytest.skip.Exception, match="JSONTestSuite not found"):
            missing("JSONTestSuite not found")
        with pytest.raises(pytest.skip.Exception, match="an extra"):
            import_or_skip("unspool_test_absent_package", reason="an extra")
