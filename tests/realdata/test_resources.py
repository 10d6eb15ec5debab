"""One device resolver and one shared-data root (locent.resources), used by every realdata part."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from locent.realdata import datasets, students, teachers

from locent import resources


def test_resolve_device_returns_a_torch_device():
    assert resources.resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resources.resolve_device("auto").type == expected
    assert resources.resolve_device(None).type == expected
    assert resources.resolve_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match="'tpu'"):
        resources.resolve_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without CUDA")
def test_cuda_without_cuda_is_an_error_naming_it():
    with pytest.raises(ValueError, match="'cuda:1' asked for"):
        resources.resolve_device("cuda:1")


def test_shared_roots_honour_the_three_variables(monkeypatch, tmp_path):
    for name in ("LOCENT_SHARED", "LOCENT_SHARED_DATA", "LOCENT_SHARED_MODELS"):
        monkeypatch.delenv(name, raising=False)
    assert resources.shared_root() == resources.REPO.parent / "shared"
    monkeypatch.setenv("LOCENT_SHARED", str(tmp_path / "root"))
    assert resources.shared_data_dir() == tmp_path / "root" / "data"
    assert resources.shared_models_dir() == tmp_path / "root" / "models"
    assert students.default_backbone() == tmp_path / "root" / "models" / "splade-tiny"
    assert datasets.runs_dir() == tmp_path / "root" / "data" / "runs"
    monkeypatch.setenv("LOCENT_SHARED_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("LOCENT_SHARED_MODELS", str(tmp_path / "models"))
    assert datasets.runs_dir() == tmp_path / "data" / "runs"
    # the student backbone follows LOCENT_SHARED_MODELS like the teacher does
    assert students.default_backbone() == tmp_path / "models" / "splade-tiny"
    (tmp_path / "models" / "splade-tiny").mkdir(parents=True)
    (tmp_path / "models" / "splade-tiny" / "config.json").write_text("{}")
    assert Path(teachers.resolve_teacher_path("rasyosef/splade-tiny")) == (
        tmp_path / "models" / "splade-tiny"
    )
