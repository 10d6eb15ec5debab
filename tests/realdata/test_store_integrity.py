"""A corrupt cached group file is named, never read silently (issue 16, "stale verdicts"): the
probe was ``truncate -s 4000 realdata/groups/bm25.parquet``. :func:`read_groups` refuses it with
the file, the reason and the command that rebuilds it; prepare's reuse test
(:func:`locent.realdata.prepare.is_reusable`) says it is not current, so prepare rebuilds it."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from locent.realdata.prepare import is_reusable
from locent.realdata.store import Groups, read_groups, write_groups
from locent.realdata.universe import inputs_key

from locent.errors import UserError

KEY = inputs_key(sampler="bm25", plan="synthetic", n_queries=200)


def _groups(n: int = 200, k: int = 8) -> Groups:
    """A synthetic record large enough that its Parquet file exceeds 4000 bytes."""
    rng = np.random.default_rng(0)
    probs = np.full((n, k), 1 / 50)
    probs[:, 0] = np.nan
    return Groups(
        sampler="bm25",
        query_ids=np.array([f"q{i}" for i in range(n)], object),
        doc_ids=np.array([[f"d{i}_{j}" for j in range(k)] for i in range(n)], object),
        teacher_scores=rng.normal(size=(n, k)),
        inclusion_probs=probs,
        positive_source=np.array(["qrels"] * n, object),
        n_padded=np.zeros(n, np.int64),
        n_excluded=np.ones(n, np.int64),
        provenance={"inputs_key": KEY, "rows": n},
    )


@pytest.fixture
def written(tmp_path):
    path = write_groups(_groups(), tmp_path / "realdata" / "groups" / "bm25.parquet")
    assert path.stat().st_size > 4000  # so the truncation below really cuts the file
    return path


def test_an_intact_file_reads_and_is_reusable(written, capsys):
    assert read_groups(written).n == 200
    assert is_reusable(written, KEY)
    assert not is_reusable(written, inputs_key(sampler="bm25", plan="other"))  # other inputs
    assert capsys.readouterr().err == ""


def test_a_truncated_group_file_is_refused_with_its_name(written):
    os.truncate(written, 4000)
    with pytest.raises(UserError) as err:
        read_groups(written)
    message = str(err.value)
    assert str(written) in message and "corrupt" in message
    assert "not a readable Parquet file" in message
    assert "`locent realdata prepare`" in message


def test_prepare_rebuilds_a_truncated_group_file(written, capsys):
    os.truncate(written, 4000)
    assert not is_reusable(written, KEY)  # same inputs_key, but the file does not verify
    err = capsys.readouterr().err
    assert str(written) in err and "does not verify" in err and "rebuilding it" in err


def test_a_row_count_other_than_the_provenance_is_refused(tmp_path):
    """An intact Parquet file with fewer rows than its provenance record (a partial copy)."""
    path = tmp_path / "bm25.parquet"
    write_groups(_groups().subset(np.arange(150)), path)
    path.with_name("bm25.provenance.json").write_text(json.dumps({"inputs_key": KEY, "rows": 200}))
    with pytest.raises(UserError, match="150 rows, its provenance record says 200"):
        read_groups(path)
    assert not is_reusable(path, KEY)
