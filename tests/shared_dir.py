"""``shared/`` beside the checkout (JSONTestSuite, the tutorial), and what a test does when it is not there.

On a developer's machine a missing ``shared/`` skips the tests that read it. CI always lays it beside its
clone, so there (``CI`` set, as CI services set it) a missing one fails the run instead of letting those
tests skip unseen; so does a missing optional package that the project's CI installs.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(reason: str) -> NoReturn:
    """Skips the test (or, at module level, the module); in CI, fails it."""
    if in_ci():
        pytest.fail(f"{reason}; CI must have it (CI is set)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def import_or_skip(name: str, reason: str) -> ModuleType:
    """`pytest.importorskip`, except that in CI, which installs every test extra, it fails instead."""
    if in_ci():
        try:
            return __import__(name, fromlist=["_"])
        except ImportError as e:
            pytest.fail(f"{reason}; CI installs it, but: {e}", pytrace=False)
    return pytest.importorskip(name, reason=reason)
