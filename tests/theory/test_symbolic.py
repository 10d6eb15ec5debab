"""The symbolic proofs: every statement PASSes, each says how it was closed, and a false
statement is caught (the machinery can fail)."""

from __future__ import annotations

import pytest
import sympy as sp
from locent.theory import symbolic
from locent.theory.symbolic_base import (
    FAIL,
    PASS,
    ProofResult,
    bregman,
    is_identically_zero,
    sigmoid,
    softplus,
)


@pytest.fixture(scope="module")
def proofs() -> list[ProofResult]:
    return symbolic.run_proofs()


def test_every_proof_passes(proofs):
    failed = [(r.statement, r.detail) for r in proofs if r.result != PASS]
    assert not failed, failed


def test_records_are_complete(proofs):
    assert len(proofs) >= 30
    for r in proofs:
        assert isinstance(r, ProofResult)
        assert r.result in (PASS, FAIL)
        assert r.statement and r.method and r.detail
        # every statement says how it was closed: sympy, a grid, mpmath or Monte-Carlo
        assert any(word in r.method for word in ("sympy", "grid", "mpmath")), r.method


@pytest.mark.parametrize(
    "needle",
    [
        "MarginMSE = D_phi",
        "soft RankNet: D_sp",
        "convex-conjugate duality",
        "listwise KL",
        "softplus smoothness",
        "MarginMSE smoothness",
        "logsumexp smoothness",
        "Pinsker",
        "min(p, 1-p) <= h(p)/(2 ln 2)",
        "h symmetric",
        "opposite-sign corners",
        "x tanh(x/2)",
        "(L+L_g)^2 Delta^2 / (8 tau^2)",
        "entropy_floor is decreasing in Delta",
        "generalisation_bound is decreasing in n",
        "generalisation_bound is decreasing in delta",
        "misordering_generalisation_bound is increasing in H",
        "rademacher_bound (soft RankNet, rho = 1/tau) is increasing in Delta",
        "loss_range soft_ranknet is increasing in Delta",
    ],
)
def test_statement_is_covered(proofs, needle):
    assert any(needle in r.statement for r in proofs), needle


def test_false_identity_is_not_proved():
    a, b = sp.symbols("a b", real=True)
    # D_sp(a, b) = sp(a) − sp(b) − σ(b)(a − b); with σ(a) in place of σ(b) it is not a Bregman
    # divergence and must not simplify to the KL
    right = bregman(softplus, a, b)
    wrong = softplus(a) - softplus(b) - sigmoid(a) * (a - b)
    assert not is_identically_zero(right - wrong)
    assert is_identically_zero(right - right)


def test_crashing_proof_is_a_fail(monkeypatch):
    from locent.theory import symbolic_losses

    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(symbolic_losses, "PROOFS", (broken,))
    monkeypatch.setattr(symbolic, "_MODULES", (symbolic_losses,))
    (result,) = symbolic.run_proofs()
    assert result.result == FAIL and "boom" in result.detail


def test_monotonicity_detects_a_wrong_sign(monkeypatch):
    """A bound that grew with n would be reported FAIL, not PASS."""
    from locent.theory import symbolic_bounds as sb

    cases = sb._monotone_cases()
    gen = next(c for c in cases if c[0] == "Thm 2.1 (i) generalisation_bound" and c[2] == sb.n)
    wrong = (gen[0], gen[1] * sb.n, sb.n, -1, False)  # 2B(C√(dn) + ...) increases in n
    monkeypatch.setattr(sb, "_monotone_cases", lambda: [wrong])
    (result,) = sb.prove_monotonicity()
    assert result.result == FAIL
