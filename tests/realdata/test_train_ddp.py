"""DDP: 2 gloo processes under torchrun give the loss curve of 1 process (same global batch)."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from locent.realdata import trainer as training
from locent.realdata.grid.synthetic import synthetic_inputs
from locent.realdata.store import write_groups


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    inputs = synthetic_inputs(seed=3, n_train=48, n_docs=200, dim=8, k=6, n_test=2, depth=6)
    write_groups(inputs.groups["teacher"], root / "teacher.parquet")
    inputs.features["frozen"].to_npz(root / "emb.npz")
    return root


def _args(files, log, extra=()):
    return [
        "--groups", str(files / "teacher.parquet"),
        "--embeddings", str(files / "emb.npz"),
        "--loss", "soft_ranknet", "--steps", "8", "--batch-size", "8", "--seed", "5",
        "--device", "cpu", "--log-out", str(log), *extra,
    ]  # fmt: skip


def test_two_gloo_processes_match_one_process(files, tmp_path):
    torch.set_num_threads(1)
    assert training.main(_args(files, tmp_path / "one.parquet")) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1", "LOCENT_NO_PROGRESS": "1"}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "locent.realdata.trainer", *_args(files, tmp_path / "two.parquet"),
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '"world_size": 2' in proc.stdout
    one = pd.read_parquet(tmp_path / "one.parquet")
    two = pd.read_parquet(tmp_path / "two.parquet")
    assert len(one) == len(two) == 8
    for col in ("loss", "kl", "grad_norm", "lr"):
        np.testing.assert_allclose(two[col], one[col], rtol=1e-5, atol=1e-7, err_msg=col)
    assert one["loss"].iloc[-1] < one["loss"].iloc[0]


@pytest.fixture(scope="module")
def text_files(tmp_path_factory):
    return _gpu_check().write_text_world(
        tmp_path_factory.mktemp("ddp_text"), n_train=24, k=4, passage_words=20
    )


@pytest.mark.parametrize("arch", ["cross", "bi"])
def test_transformer_two_gloo_processes_match_one_process(text_files, tmp_path, arch):
    """The BERT-tiny student (dropout off) under DDP: 2 processes = 1 process, same global batch.

    Each rank pads its own 4 groups; one process with ``--grad-accum 2`` pads the same 4-group
    micro-batches, so it is the like-for-like reference (measured: identical to the last bit).
    One process over all 8 groups at once pads to a longer length, which moves float32 roundoff
    (measured 1.9e-5 relative after 5 steps, bi-encoder): compared at rtol 1e-4.
    """
    groups, texts = text_files
    torch.set_num_threads(1)

    def argv(log, *extra):
        return [
            "--groups", str(groups), "--student", "transformer", "--arch", arch,
            "--texts", str(texts), "--dropout", "0", "--loss", "soft_ranknet", "--steps", "5",
            "--batch-size", "8", "--lr", "1e-3", "--seed", "5", "--device", "cpu",
            "--log-out", str(log), *extra,
        ]  # fmt: skip

    assert training.main(argv(tmp_path / "accum.parquet", "--grad-accum", "2")) == 0
    assert training.main(argv(tmp_path / "one.parquet")) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1", "LOCENT_NO_PROGRESS": "1"}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "locent.realdata.trainer", *argv(tmp_path / "two.parquet"),
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '"world_size": 2' in proc.stdout
    accum, one, two = (pd.read_parquet(tmp_path / f"{n}.parquet") for n in ("accum", "one", "two"))
    assert len(accum) == len(one) == len(two) == 5
    for col in ("loss", "kl", "grad_norm", "lr"):
        np.testing.assert_allclose(two[col], accum[col], rtol=1e-5, atol=1e-7, err_msg=col)
        np.testing.assert_allclose(two[col], one[col], rtol=1e-4, atol=1e-7, err_msg=col)
    assert one["loss"].iloc[-1] != one["loss"].iloc[0]  # the student did train


def test_entry_point_refuses_a_frozen_student_without_embeddings(files):
    with pytest.raises(ValueError, match="--student frozen needs --embeddings"):
        training.main(["--groups", str(files / "teacher.parquet"), "--steps", "1"])


def test_transformer_texts_come_from_ir_datasets(irds, tmp_path):
    """Without --texts the entry point reads the group file's texts from ir_datasets."""
    from locent.realdata.features import TextFeatures
    from locent.realdata.store import Groups

    qtext = irds.queries(irds.DEV_SMALL)
    qids = np.array(sorted(qtext)[:2], dtype=object)
    docs = irds.scoreddocs(irds.DL19)["doc_id"].astype(str).unique()[:6]
    groups = Groups(
        sampler="bm25",
        query_ids=qids,
        doc_ids=np.array([docs[:3], docs[3:]], dtype=object),
        teacher_scores=np.arange(6, dtype=float).reshape(2, 3),
        inclusion_probs=np.full((2, 3), 0.5),
        positive_source=np.array(["teacher_top"] * 2, dtype=object),
        n_padded=np.zeros(2, dtype=np.int64),
        n_excluded=np.zeros(2, dtype=np.int64),
        provenance={"train_dataset": irds.DEV_SMALL},
    )
    args = training.build_parser().parse_args(
        [
            "--groups",
            "unused",
            "--student",
            "transformer",
            "--arch",
            "cross",
            "--out",
            str(tmp_path),
        ]
    )
    student, features = training.student_and_features(args, groups)
    assert isinstance(features, TextFeatures) and student.arch == "cross"
    assert features.queries == {q: qtext[q] for q in qids}
    corpus = irds.corpus_id(irds.DEV_SMALL)
    assert features.docs == dict(zip(docs, irds.doc_texts(corpus, list(docs))))
    # a query the dataset does not have is named
    bad = dataclasses.replace(groups, query_ids=np.array(["nope", qids[1]], dtype=object))
    with pytest.raises(
        ValueError, match=r"1 training queries of sampler 'bm25' have no text.*'nope'"
    ):
        training.student_and_features(args, bad)


def _gpu_check():
    """``benchmarks/gpu_check_training.py`` loaded by path (benchmarks/ is no package)."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check_training.py"
    spec = importlib.util.spec_from_file_location("locent_gpu_check_training", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
