"""A ``--train`` plan's grid lives in its own folder and names its test sets as the grid knows
them: ``grid --train msmarco-cross-year`` tests on ``dl20`` (the shipped BM25 top-100 and the
teacher's cached scores), not on a slug of the DL20 ID; two plans never share a grid folder."""

from __future__ import annotations

import pytest
from locent.realdata import datasets, stages
from locent.realdata.grid.inputs import eval_set_name
from locent.realdata.prepare import LABELLED_PLANS, custom_plan


def test_dl_years_keep_their_grid_names_other_ids_their_slug():
    assert eval_set_name(datasets.DL19) == "dl19"
    assert eval_set_name(datasets.DL20) == "dl20"
    assert eval_set_name("vaswani/locent-split/test") == "vaswani_locent-split_test"
    assert eval_set_name("local/cisi") == "local_cisi"


def test_cross_year_plan_tests_on_dl20_by_default(monkeypatch, tmp_path):
    """Without ``--test-sets`` the cross-year plan's grid reads the ``dl20`` test set (the name
    under which the grid finds DL20's candidates and teacher scores)."""
    seen = {}

    def fake_load(out, samplers, students, test_sets, **kw):
        seen.update(test_sets=test_sets, group_dir=kw["group_dir"])
        return "inputs"

    monkeypatch.setattr(stages, "load_real_inputs", fake_load)
    p = stages.GridParams(out=tmp_path, preset="smoke", train="msmarco-cross-year")
    assert stages.grid_inputs(p, ("bm25",), ["frozen"]) == "inputs"
    assert seen["test_sets"] == ("dl20",)
    assert seen["group_dir"] == LABELLED_PLANS["msmarco-cross-year"].groups_dir(tmp_path)


def test_each_plan_has_its_own_grid_folder(tmp_path):
    base = tmp_path / "realdata" / "grid"
    assert stages.grid_dir(tmp_path, "default") == base / "default"
    assert stages.grid_dir(tmp_path, "default", "msmarco") == base / "default"
    cross = stages.grid_dir(tmp_path, "default", "msmarco-cross-year")
    split = stages.grid_dir(tmp_path, "default", "vaswani-split")
    assert cross == base / "msmarco-cross-year" / "default"
    assert split == base / "vaswani-split" / "default"
    assert len({cross, split, base / "default"}) == 3


def test_a_custom_plan_may_not_take_a_preset_name(monkeypatch):
    monkeypatch.setattr(datasets, "load", lambda dataset_id: None)
    with pytest.raises(ValueError, match="'smoke' is a grid preset's name"):
        custom_plan("smoke")
    assert custom_plan("local/cisi").name == "local_cisi"
