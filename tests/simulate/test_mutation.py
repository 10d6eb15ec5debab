"""Item 1 with teeth: halving ρ, W, Λ or Δ_Q in Theorem 2.1 (iii) is caught (the complexity term
falls below the class's measured Rademacher complexity on more than δ of the runs), while the
true constants never are; factor 1 reproduces the stored bound."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from locent.simulate.mutation import SYMBOLS, mutated_bound_iii, mutation_violations
from locent.simulate.presets import PRESETS
from locent.simulate.samplers import SamplerSpec
from locent.simulate.spaces import load_space
from locent.simulate.sweep import run_chunk
from locent.simulate.teachers import make_teacher
from locent.theory import loss_range, rademacher_rho

from locent import results as R

# a low-dimensional sphere and the random sampler: pairs reach Δ_Q, so the complexity term is
# within a factor 2 of the measured complexity (the regime preset's random chunk, small)
TEETH = PRESETS["regime"]._replace(
    name="tiny-teeth",
    space_id="sphere-uniform/D=4/N=128/Q=48",
    samplers=(SamplerSpec("random"),),
    tau_units=(1 / 8,),
    ns=(8, 32),
    seeds=4,
    eval_queries=64,
    steps=10,
    corollary_queries=2,
)


@pytest.fixture(scope="module")
def table():
    torch.set_num_threads(1)
    space = load_space(TEETH.space_id, TEETH.space_seed)
    teacher = make_teacher(space.queries, seed=TEETH.space_seed, **TEETH.teacher)
    df = run_chunk(TEETH, space, teacher, TEETH.samplers[0], 0)
    return df[np.isfinite(df[R.BOUND_III])]


def test_factor_one_reproduces_the_stored_bound(table):
    for symbol in SYMBOLS:
        m = mutated_bound_iii(table, symbol, 1.0)
        assert m["bound"].to_numpy() == pytest.approx(table[R.BOUND_III].to_numpy(), rel=1e-12)
        assert m["complexity_term"].to_numpy() == pytest.approx(
            table["complexity_term_iii"].to_numpy(), rel=1e-12
        )


def test_halved_constants_are_caught_true_constants_are_not(table):
    delta = TEETH.delta
    true = mutation_violations(table, "rho", 1.0)
    assert not true["rademacher"].any() and not table["rademacher_check_violated"].any()
    assert table["bound_iii_violated"].mean() <= delta
    assert (table["rademacher_tightness"] >= 1.0).all()
    for symbol in SYMBOLS:
        caught = mutation_violations(table, symbol, 0.5)
        assert caught["rademacher"].mean() > delta, symbol
    # the estimation gap itself is far below even the confidence term: no gap violation
    assert not mutation_violations(table, "Delta", 0.5)["gap"].any()
    assert (table["critical_scale_iii"] < 0.5).all()


def test_a_mutation_scales_what_the_constant_enters():
    """One MarginMSE row by hand: halving W changes L = WΛ, hence B and ρ = 2(WΛ + L_g)Δ."""
    import pandas as pd

    row = dict(
        train_loss=0.3,
        population_risk=0.5,
        loss="margin_mse",
        tau=0.2,
        n=16,
        weight_norm=2.0,
        feature_lipschitz=1.2,
        teacher_lipschitz=1.5,
        delta_Q_population=1.6,
        bound_iii_rho=float(rademacher_rho("margin_mse", 0.2, 2.0, 1.2, 1.5, 1.6)),
        confidence_delta=0.1,
        rademacher_margin_mc=0.1,
        rademacher_margin_mc_se=0.001,
    )
    df = pd.DataFrame([row]).rename(columns={"population_risk": R.POPULATION_RISK})
    m = mutated_bound_iii(df, "W", 0.5).iloc[0]
    rho = 2 * (1.0 * 1.2 + 1.5) * 1.6
    B = float(loss_range("margin_mse", 1.0 * 1.2, 1.5, 1.6))
    assert m["rho"] == pytest.approx(rho) and m["loss_range"] == pytest.approx(B)
    want = 0.3 + 2 * rho * 1.0 * 1.2 * 1.6 / 4 + B * math.sqrt(math.log(10) / 32)
    assert m["bound"] == pytest.approx(want, rel=1e-12)
    m = mutated_bound_iii(df, "rho", 0.5).iloc[0]
    assert m["rho"] == pytest.approx(row["bound_iii_rho"] / 2)
    with pytest.raises(ValueError, match="symbol"):
        mutated_bound_iii(df, "L_g", 0.5)
    with pytest.raises(ValueError, match="lacks column"):
        mutated_bound_iii(df.drop(columns=["confidence_delta"]), "W", 0.5)
