"""A local classic collection (.ALL/.QRY/.REL, a tiny fixture) through the real-data steps with
nothing but command-line options: ``prepare --train local/<name> --collection FOLDER``, then
``measure --datasets local/<name>``, ``grid --preset smoke --train local/<name>`` and ``report``,
each of which could be another process (the plan record re-registers the collection)."""

from __future__ import annotations

import json
import uuid

import pandas as pd
import pytest

TOPICS = ("river water flow", "metal alloy strength", "wing lift drag", "heat transfer plate")


def _classic(folder, n_docs=36, n_queries=10):
    """``<name>.ALL`` with ``n_docs`` documents over four topics, ``n_queries`` queries (topics in
    turn), each judging the documents of its topic among the first 12."""
    folder.mkdir(parents=True)
    docs, rel, queries = [], [], []
    for i in range(1, n_docs + 1):
        topic = TOPICS[i % 4]
        docs.append(f".I {i}\n.T\nstudy {i} of {topic}\n.W\n{topic} measured in case {i}\n")
    for q in range(1, n_queries + 1):
        queries.append(f".I {q}\n.W\nwhat about {TOPICS[q % 4]} in setting {q}?\n")
        rel += [f"{q} {i} 0 0.0\n" for i in range(1, 13) if i % 4 == q % 4]
    (folder / "TINY.ALL").write_text("".join(docs))
    (folder / "TINY.QRY").write_text("".join(queries))
    (folder / "TINY.REL").write_text("".join(rel))
    return folder


@pytest.mark.slow
def test_local_classic_collection_prepare_measure_grid_report(irds, tmp_path, capsys):
    from locent.cli import main

    name = f"tiny-{uuid.uuid4().hex[:6]}"
    folder = _classic(tmp_path / name)
    out = tmp_path / "out"
    common = ["--out", str(out), "--device", "cpu"]
    assert (
        main(
            [
                "realdata",
                "prepare",
                *common,
                "--train",
                f"local/{name}",
                "--collection",
                str(folder),
                "--queries",
                "8",
                "--test-queries",
                "2",
                "--run-queries",
                "0",
                "--k",
                "4",
                "--depth",
                "10",
                "--universe",
                "20",
                "--rerank-depth",
                "5",
                "--dense-depth",
                "5",
                "--dense-source",
                "bm25",
            ]
        )
        == 0
    ), capsys.readouterr().err
    plan_dir = out / "realdata" / "groups" / f"local_{name}"
    record = json.loads((plan_dir / "plan.json").read_text())
    assert record["train"] == f"local/{name}" and record["tests"] == [f"local/{name}"]
    assert record["collections"] == {f"local/{name}": str(folder.resolve())}
    assert (plan_dir / "bm25.parquet").exists()
    assert (plan_dir / "pools" / f"local_{name}" / "target.parquet").exists()
    assert main(["realdata", "measure", *common, "--datasets", f"local/{name}"]) == 0
    table = pd.read_csv(out / "realdata" / "measure" / "samplers.csv")
    assert set(table["dataset"]) == {f"local/{name}"}
    assert table["diameter_Q_99"].notna().all() and table["kappa_Q"].notna().all()
    assert main(["realdata", "grid", *common, "--preset", "smoke", "--train", f"local/{name}"]) == 0
    grid = out / "realdata" / "grid" / f"local_{name}" / "smoke"  # the plan's own folder
    assert not (out / "realdata" / "grid" / "smoke").exists()  # the MS MARCO grid's is untouched
    res = pd.read_csv(grid / "results.csv")
    assert set(res["dataset"]) == {f"local_{name}"} and res["nDCG@10"].notna().all()
    report = ["realdata", "report", *common, "--preset", "smoke", "--train", f"local/{name}"]
    assert main(report) == 0
    assert f"local_{name}" in (grid / "table1.md").read_text()


def test_unknown_plan_names_the_fix(tmp_path):
    from locent.realdata.prepare import resolve_plan

    with pytest.raises(ValueError, match=r"unknown plan 'local/none'.*--train ID"):
        resolve_plan("local/none", tmp_path)


def test_teacher_file_refuses_corpus_samplers_before_work(tmp_path):
    from locent.realdata.prepare import teacher_file
    from locent.realdata.samplers import SamplerConfig

    run = tmp_path / "reranked.txt"  # a run by its content, whatever the name
    run.write_text("1 Q0 5 1 2.0 x\n1 Q0 7 2 1.0 x\n")
    with pytest.raises(ValueError, match="sampler 'random' draws negatives from the whole"):
        teacher_file(run, ("bm25", "random"), SamplerConfig())
    with pytest.raises(ValueError, match="'dense' takes neighbours from the whole corpus"):
        teacher_file(run, ("bm25", "dense"), SamplerConfig(dense_source="corpus"))
    table = teacher_file(run, ("bm25", "teacher"), SamplerConfig(), mode="rank")
    assert table.scores["1"] == {"5": -1.0, "7": -2.0}
    assert teacher_file("rasyosef/splade-tiny", ("random",), SamplerConfig()) is None
