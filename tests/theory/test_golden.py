"""Golden regression values: the numeric bounds match the committed mpmath table, the table is
what mpmath computes today, and a wrong formula is caught."""

from __future__ import annotations

import json

import locent.theory as T
import pytest
from locent.theory import golden


@pytest.fixture(scope="module")
def table():
    return golden.load_golden()


def test_every_bound_function_is_covered(table):
    functions = {case["function"] for case in table["cases"]}
    assert functions == {
        "misordering_bound",
        "misordering_bound_margin_mse",
        "optimal_eta",
        "entropy_floor",
        "loss_range",
        "generalisation_bound",
        "misordering_generalisation_bound",
        "rademacher_bound",
        "rademacher_rho",
        "transfer_bound",
        "smallest_non_vacuous_n",
    }
    losses = {c["kwargs"]["loss"] for c in table["cases"] if c["function"] == "loss_range"}
    assert losses == {"margin_mse", "soft_ranknet", "listwise_kl"}
    assert table["rel_tol"] == 1e-10 and table["dps"] == 50


def test_numeric_matches_golden(table):
    rows, bad = golden.compare_with_numeric(golden=table)
    assert len(rows) == sum(len(c["expected"]) for c in table["cases"])
    assert not bad, bad


def test_committed_file_equals_fresh_mpmath():
    with open(golden.GOLDEN_PATH) as handle:
        committed = handle.read()
    assert committed == golden.golden_text()


@pytest.mark.parametrize(
    "name, wrong",
    [
        # off by a factor 2 in the Pinsker term
        (
            "misordering_bound",
            lambda H, R, eta: T.bounds.misordering_bound(H, R, eta) - R / (4 * eta**2),
        ),
        # √(ln(1/δ)/n) instead of √(ln(2/δ)/(2n))
        (
            "generalisation_bound",
            lambda B, d, n, delta, C=1.0: T.bounds.generalisation_bound(B, d, n, delta / 2, C),
        ),
        # entropy floor at Δ/2
        ("entropy_floor", lambda Lg, D, tau: T.bounds.entropy_floor(Lg, D / 2, tau)),
        # κ instead of κ²
        ("transfer_bound", lambda r, k, group_size=2: T.bounds.transfer_bound(r, k, 1)),
    ],
)
def test_wrong_formula_is_caught(monkeypatch, table, name, wrong):
    monkeypatch.setattr(T, name, wrong)
    _, bad = golden.compare_with_numeric(golden=table)
    assert any(name in case_id for case_id, *_ in bad), f"{name}: off formula not caught"


def test_tiny_relative_error_is_caught(monkeypatch, table):
    """rel 1e-8 is far below anything a plot would show and still fails the golden test."""
    original = T.rademacher_bound
    monkeypatch.setattr(T, "rademacher_bound", lambda *a, **k: original(*a, **k) * (1 + 1e-8))
    _, bad = golden.compare_with_numeric(golden=table)
    assert {c for c, *_ in bad} == {
        c["id"] for c in table["cases"] if c["function"] == "rademacher_bound"
    }


def test_golden_file_is_valid_json_with_string_values(table):
    for case in table["cases"]:
        for value in case["expected"].values():
            assert isinstance(value, (str, int))
    json.dumps(table)


def test_load_golden_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="golden table not found"):
        golden.load_golden(tmp_path / "nope.json")
