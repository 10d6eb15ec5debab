"""Fixtures for the check, report and pipeline tests: a synthetic result tree.

The tree is written by tests/figures/synthetic_results.py (shared with the figure tests).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "locent_test_synthetic_results",
    Path(__file__).parent.parent / "figures" / "synthetic_results.py",
)
synthetic = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(synthetic)


@pytest.fixture(scope="session")
def synthetic_out(tmp_path_factory) -> Path:
    """Results supporting every prediction (read-only by convention: copy before changing)."""
    return synthetic.write_all(tmp_path_factory.mktemp("results") / "out")


@pytest.fixture
def make_results(tmp_path):
    """``make_results(contradict=(items...))`` → a fresh result tree under tmp_path."""

    def make(contradict=(), name="out"):
        return synthetic.write_all(tmp_path / name, contradict=contradict)

    return make
