"""The labelled plans: named, never among the defaults, tested on queries they do not train on;
their groups' positives come from qrels; the grid's learning-rate selection and training receive
training query ids only; the labelled stage refuses a plan that would test on its training."""

from __future__ import annotations

import dataclasses
import uuid

import numpy as np
import pytest
from test_local_collection_pipeline import _classic
from test_teacher_file_pipeline import _teacher_run


def test_labelled_plans_are_named_but_not_default(irds, tmp_path):
    from locent.realdata.cli_checks import plan_list
    from locent.realdata.labelled import test_set_names
    from locent.realdata.prepare import LABELLED_PLANS, PLANS, resolve_plan
    from locent.realdata.stages import PrepareParams

    from locent.cli import build_parser

    assert set(LABELLED_PLANS) == {"msmarco-cross-year", "vaswani-split", "cranfield-split"}
    assert PrepareParams().datasets == tuple(PLANS) == ("msmarco", "vaswani", "cranfield")
    args = build_parser().parse_args(
        ["realdata", "prepare", "--datasets", "msmarco-cross-year,vaswani-split,cranfield-split"]
    )
    assert args.datasets == ("msmarco-cross-year", "vaswani-split", "cranfield-split")
    with pytest.raises(Exception, match="unknown dataset"):
        plan_list(PLANS)("vaswani-split")  # the built-in list alone does not know them
    cross = resolve_plan("msmarco-cross-year", tmp_path)
    assert (cross.train, cross.tests) == (irds.DL19, (irds.DL20,))
    assert test_set_names(cross) == ("dl20",)  # shipped BM25 top-100, teacher-scored
    for name in LABELLED_PLANS:
        plan = resolve_plan(name, tmp_path)
        train = set(irds.queries(plan.train))
        tests = {q for t in plan.tests for q in irds.queries(t)}
        assert train and tests and not train & tests, name
        assert plan.groups_dir(tmp_path).name == name


def _groups(qids, source="qrels"):
    from locent.realdata.store import Groups

    n, k = len(qids), 2
    return Groups(
        sampler="bm25",
        query_ids=np.array(qids, dtype=object),
        doc_ids=np.array([["a", "b"]] * n, dtype=object),
        teacher_scores=np.zeros((n, k)),
        inclusion_probs=np.ones((n, k)),
        positive_source=np.array([source] * n, dtype=object),
        n_padded=np.zeros(n, dtype=np.int64),
        n_excluded=np.zeros(n, dtype=np.int64),
    )


def test_check_disjoint_refuses_training_on_test_queries(irds, tmp_path):
    from locent.realdata.labelled import check_disjoint
    from locent.realdata.prepare import LABELLED_PLANS
    from locent.realdata.store import write_groups

    plan = LABELLED_PLANS["vaswani-split"]
    train = list(irds.queries(plan.train))[:3]
    write_groups(_groups(train), tmp_path / "bm25.parquet")
    assert check_disjoint(plan, tmp_path, ["bm25"])["n_shared"] == 0
    test_q = next(iter(irds.queries(plan.tests[0])))
    write_groups(_groups([*train, test_q]), tmp_path / "bm25.parquet")
    with pytest.raises(ValueError, match=rf"1 training group queries are test .*'{test_q}'"):
        check_disjoint(plan, tmp_path, ["bm25"])


def test_labelled_stage_names_an_unknown_plan(tmp_path):
    from locent.realdata.stages import LabelledParams, labelled_stage

    with pytest.raises(ValueError, match=r"unknown labelled plan 'vaswani'.*cranfield-split"):
        labelled_stage(LabelledParams(out=tmp_path, plans=("vaswani",)))


@pytest.mark.slow
def test_split_plan_groups_take_positives_from_qrels(irds, tmp_path):
    """cranfield-split with the real teacher (3 queries, one sampler, small universe): every
    group's positive is a judged-relevant passage of the *training* half, of the best grade."""
    from locent.realdata.prepare import LABELLED_PLANS, prepare
    from locent.realdata.samplers import SamplerConfig
    from locent.realdata.store import read_groups

    cfg = SamplerConfig(k=4, depth=10, universe=20, rerank_depth=5, dense_depth=5)
    cfg = dataclasses.replace(cfg, dense_source="bm25")
    summary = prepare(
        tmp_path,
        plans=("cranfield-split",),
        samplers=("bm25",),
        cfg=cfg,
        n_queries=3,
        n_test_queries=2,
        n_run_queries=0,
        knobs=(),
    )
    assert summary["cranfield-split"]["samplers"]["bm25"]["positive_from_qrels"] == 3
    plan = LABELLED_PLANS["cranfield-split"]
    g = read_groups(plan.groups_dir(tmp_path) / "bm25.parquet")
    assert g.provenance["train_dataset"] == "cranfield/locent-split/train"
    assert (g.positive_source == "qrels").all()
    qrels = irds.qrels(plan.train)
    test_ids = set(irds.queries(plan.tests[0]))
    for q, row in zip(g.query_ids, g.doc_ids, strict=True):
        assert q not in test_ids
        judged = qrels[(qrels.query_id == q) & (qrels.relevance >= 1)]
        best = set(judged[judged.relevance == judged.relevance.max()].doc_id)
        assert row[0] in best


@pytest.mark.slow
def test_grid_on_a_split_trains_and_selects_lr_on_training_ids_only(irds, tmp_path, monkeypatch):
    """A split of a tiny local collection (a teacher file, so no model), the ``labelled`` preset
    with lr "auto": every GroupData the trainer, the learning-rate selection's criterion and the
    cells' held-out check receive holds training-half query ids only, and LCE's positives come
    from qrels."""
    import pandas as pd
    from locent.realdata import stages
    from locent.realdata.grid import cells, lr_selection
    from locent.realdata.store import read_groups

    from locent.cli import main

    name = f"tiny-{uuid.uuid4().hex[:6]}"
    folder = _classic(tmp_path / name, n_queries=12)
    run = _teacher_run(tmp_path / "teacher.run", n_queries=12)
    out = tmp_path / "out"
    train_id, test_id = f"local/{name}/locent-split/train", f"local/{name}/locent-split/test"
    prepare = ["realdata", "prepare", "--out", str(out), "--device", "cpu", "--train", train_id]
    prepare += ["--test", test_id, "--collection", str(folder), "--teacher", str(run)]
    prepare += ["--samplers", "bm25,teacher", "--queries", "0", "--test-queries", "2"]
    prepare += ["--run-queries", "0", "--k", "4", "--depth", "10", "--universe", "20"]
    prepare += ["--rerank-depth", "5", "--dense-depth", "5", "--dense-source", "bm25"]
    prepare += ["--knobs", "none"]
    assert main(prepare) == 0
    train_q, test_q = set(irds.queries(train_id)), set(irds.queries(test_id))
    assert len(train_q) == len(test_q) == 6 and not train_q & test_q

    seen: dict[str, set] = {"train": set(), "criterion": set()}

    def recording(fn, key):
        def wrapped(student, data, *args, **kwargs):
            seen[key] |= set(map(str, data.query_ids))
            return fn(student, data, *args, **kwargs)

        return wrapped

    monkeypatch.setattr(lr_selection, "train", recording(lr_selection.train, "train"))
    monkeypatch.setattr(cells, "train", recording(cells.train, "train"))
    for module in (lr_selection, cells):
        monkeypatch.setattr(
            module, "mean_misordering", recording(module.mean_misordering, "criterion")
        )
    params = stages.GridParams(
        out=out, device="cpu", preset="labelled", samplers=("bm25", "teacher"), steps=3,
        batch_size=2, train=train_id, teacher_sets=(),
    )  # fmt: skip
    stages.grid_stage(params)
    grid = out / "realdata" / "grid" / f"local_{name}_locent-split_train" / "labelled"
    selection = pd.read_csv(grid / "lr_selection.csv")
    assert len(selection) == 2 * 3 * 3  # samplers x losses x candidates: lr chosen per sampler
    assert seen["train"] and seen["criterion"]
    assert seen["train"] | seen["criterion"] <= train_q
    assert not (seen["train"] | seen["criterion"]) & test_q
    res = pd.read_csv(grid / "results.csv")
    assert set(res["dataset"]) == {f"local_{name}_locent-split_test"}
    groups_dir = out / "realdata" / "groups" / f"local_{name}_locent-split_train"
    assert (read_groups(groups_dir / "bm25.parquet").positive_source == "qrels").all()


def test_labelled_command_line(capsys):
    from locent.realdata.labelled_cli import labelled_params

    from locent.cli import build_parser, main

    args = build_parser().parse_args(
        ["realdata", "labelled", "--plans", "vaswani-split", "--queries", "5", "--steps", "7"]
    )
    p = labelled_params(args)
    assert (p.plans, p.queries, p.steps, p.samplers) == (("vaswani-split",), 5, 7, None)
    with pytest.raises(SystemExit) as exit_:
        main(["realdata", "labelled", "--plans", "vaswani"])
    assert exit_.value.code == 2  # refused while parsing, before any work
    assert "unknown labelled plan 'vaswani'" in capsys.readouterr().err
