"""A teacher given as a file (a TREC run) through prepare → measure → grid: prepare records the
file's path, mode and sha256 in the groups' provenance and the grid re-reads that very file
(never the path as a model name); a changed file, or test candidates the file does not score,
stop the grid before training with a message naming the file and the first uncovered pairs."""

from __future__ import annotations

import dataclasses
import json
import uuid

import numpy as np
import pandas as pd
import pytest
from test_local_collection_pipeline import _classic


def _teacher_run(path, n_docs=36, n_queries=10, skip=()):
    """A run scoring every (query, doc) pair but those in ``skip``: g = topic match + id jitter."""
    lines = []
    for q in range(1, n_queries + 1):
        scored = [
            (float(d % 4 == q % 4) + 0.01 * ((d * 7 + q) % 13), d)
            for d in range(1, n_docs + 1)
            if (str(q), str(d)) not in skip
        ]
        for rank, (g, d) in enumerate(sorted(scored, reverse=True), 1):
            lines.append(f"{q} Q0 {d} {rank} {g:.4f} teach\n")
    path.write_text("".join(lines))
    return path


def _candidates(query_ids, doc_ids):
    from locent.realdata.evaluation import Candidates

    doc_ids = np.array(doc_ids, dtype=object)
    valid = doc_ids != ""
    return Candidates(
        "t", np.array(query_ids, dtype=object), doc_ids, np.zeros(doc_ids.shape), valid
    )


def test_grid_refuses_test_candidates_the_teacher_file_misses(tmp_path):
    from locent.realdata.formats import read_teacher_file
    from locent.realdata.grid.inputs import _check_teacher_file_covers

    from locent.errors import UserError

    skip = {("1", "5"), ("2", "9")}
    table = read_teacher_file(_teacher_run(tmp_path / "t.txt", skip=skip), mode="score")
    # padding ("" / invalid) is not a pair the teacher has to score
    covered = _candidates(["1", "2"], [["4", "3", ""], ["6", "7", "8"]])
    _check_teacher_file_covers(table, "tiny", covered)
    missing = _candidates(["1", "2"], [["4", "5", "3"], ["9", "6", ""]])
    with pytest.raises(UserError, match=r"test set tiny .*leaves 2 of 5 candidate pairs") as err:
        _check_teacher_file_covers(table, "tiny", missing)
    assert "('1', '5')" in str(err.value) and "('2', '9')" in str(err.value)
    assert "--teacher-sets" in str(err.value)


def test_recorded_teacher_file_is_reread_in_its_mode_and_checked(tmp_path):
    from locent.realdata.formats import read_teacher_file
    from locent.realdata.teachers import load_recorded_teacher_file, teacher_file_record

    from locent.errors import UserError

    run = _teacher_run(tmp_path / "t.txt")
    record = teacher_file_record(read_teacher_file(run, mode="rank"))
    assert record["mode"] == "rank" and record["format"] == "trec_run"
    again = load_recorded_teacher_file(record)
    top = run.read_text().split("\n")[0].split()[2]  # query 1's rank-1 doc
    assert again.scores["1"][top] == -1.0 and min(again.scores["1"].values()) == -36.0  # g = -rank
    assert teacher_file_record(object()) is None
    run.write_text(run.read_text().replace(" teach\n", " other\n"))
    with pytest.raises(UserError, match=r"teacher file .*t\.txt changed since prepare"):
        load_recorded_teacher_file(record)
    run.unlink()
    with pytest.raises(UserError, match=r"t\.txt .* is missing"):
        load_recorded_teacher_file(record)


@pytest.mark.slow
def test_teacher_file_prepare_measure_grid(irds, tmp_path, capsys):
    from locent.realdata import stages
    from locent.realdata.cli import grid_params
    from locent.realdata.store import read_groups

    from locent.cli import build_parser, main
    from locent.errors import UserError

    name = f"tiny-{uuid.uuid4().hex[:6]}"
    folder = _classic(tmp_path / name)
    run = _teacher_run(tmp_path / "teacher.run")  # the CLI checks the suffix
    out = tmp_path / "out"
    common = ["--out", str(out), "--device", "cpu"]
    prepare = ["realdata", "prepare", *common, "--train", f"local/{name}"]
    prepare += ["--collection", str(folder), "--teacher", str(run), "--teacher-mode", "score"]
    prepare += ["--samplers", "bm25,teacher", "--queries", "8", "--test-queries", "2"]
    prepare += ["--run-queries", "0", "--k", "4", "--depth", "10", "--universe", "20"]
    prepare += ["--rerank-depth", "5", "--dense-depth", "5", "--dense-source", "bm25"]
    assert main(prepare) == 0, capsys.readouterr().err
    plan_dir = out / "realdata" / "groups" / f"local_{name}"
    prov = read_groups(plan_dir / "teacher.parquet").provenance
    assert prov["teacher_file"]["path"] == str(run) and prov["teacher_file"]["mode"] == "score"
    assert len(prov["teacher_file"]["sha256"]) == 64
    assert main(["realdata", "measure", *common, "--datasets", f"local/{name}"]) == 0
    grid = ["realdata", "grid", *common, "--preset", "smoke", "--train", f"local/{name}"]
    grid += ["--samplers", "bm25", "teacher"]
    assert main(grid) == 0, capsys.readouterr().err
    args = build_parser().parse_args(grid)
    # the teacher file also scores the test candidates (teacher agreement on the local test set)
    params = dataclasses.replace(grid_params(args), teacher_sets=(f"local_{name}",), fresh=True)
    stages.grid_stage(params)
    res = pd.read_csv(out / "realdata" / "grid" / f"local_{name}" / "smoke" / "results.csv")
    assert set(res["dataset"]) == {f"local_{name}"} and res["nDCG@10"].notna().all()
    assert set(res["sampler"]) == {"bm25", "teacher"}
    assert res["misordering"].notna().all()  # against the file's scores of the test candidates
    json.dumps(prov)  # the record stays plain JSON
    run.write_text(run.read_text().replace("teach", "other"))  # the file changed after prepare
    with pytest.raises(UserError, match=r"teacher file .*teacher\.run changed since prepare"):
        stages.grid_stage(params)
    capsys.readouterr()
    assert main(grid) == 2  # the command says so, before any training
    assert "changed since prepare" in capsys.readouterr().err
