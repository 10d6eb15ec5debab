"""The numeric checks of the lemmas, theorem and corollary: all PASS on the real code, and each
FAILs when the bound it checks is made wrong (the checks can fail)."""

from __future__ import annotations

import locent.theory as T
import pytest
from locent.theory import checks


@pytest.mark.parametrize(
    "check",
    [c for c in checks.CHECKS if c is not checks.check_theorem_iii_soundness],
    ids=lambda c: c.__name__,
)
def test_check_passes(check):
    result = check()
    assert result.result == "PASS", result.detail
    assert "violations: 0/" in result.detail or "vacuous" in result.detail


def test_theorem_iii_soundness_small():
    result = checks.check_theorem_iii_soundness(seeds=60, steps=20, pool=200, fixed=4)
    assert result.result == "PASS", result.detail
    assert result.detail.startswith("violations ")


def test_lemma_a_catches_a_bound_that_is_too_small(monkeypatch):
    original = T.misordering_bound
    monkeypatch.setattr(T, "misordering_bound", lambda H, R, eta: original(H, R, eta) / 10)
    result = checks.check_lemma_a(n=200)
    assert result.result == "FAIL"


def test_lemma_b_catches_a_floor_that_is_too_high(monkeypatch):
    original = T.entropy_floor
    monkeypatch.setattr(T, "entropy_floor", lambda lg, d, tau: original(lg, d / 3, tau))
    assert checks.check_lemma_b(n=300).result == "FAIL"


def test_lemma_c_catches_a_range_that_is_too_small(monkeypatch):
    original = T.loss_range
    monkeypatch.setattr(T, "loss_range", lambda *a: original(*a) * 0.2)
    assert checks.check_lemma_c(n=300).result == "FAIL"


def test_corollary_catches_kappa_instead_of_kappa_squared(monkeypatch):
    original = T.transfer_bound
    monkeypatch.setattr(T, "transfer_bound", lambda r, k, group_size=2: original(r, k, 1))
    assert checks.check_corollary_transfer().result == "FAIL"


def test_theorem_iii_catches_a_bound_without_estimation_terms(monkeypatch):
    monkeypatch.setattr(T, "rademacher_bound", lambda risk, *a: risk)
    result = checks.check_theorem_iii_soundness(seeds=60, steps=20, pool=200, fixed=4)
    assert result.result == "FAIL", result.detail


def test_crashing_check_is_reported(monkeypatch):
    def broken():
        raise RuntimeError("kaput")

    monkeypatch.setattr(checks, "CHECKS", (broken,))
    (result,) = checks.run_checks()
    assert result.result == "FAIL" and "kaput" in result.detail
