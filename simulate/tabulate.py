"""Step 4 of a chunk, *tabulate*: one tidy row per run (configuration × seed × n) with the bounds.

Rows are ordered n, then configuration a (τ major, loss minor), then seed s; every column is
built at once from the ``(S, A)`` arrays of the verify step (no loop over runs or queries).
Column names of quantities THEORY.md defines come from ``locent.results``.

Theorem 2.1 (iii) (soft RankNet and MarginMSE: the losses theory gives a ρ for):
bound = R̂(f̂) + 2ρWΛΔ_Q/√n + B√(ln(1/δ)/(2n)), violated when the fresh-sample risk exceeds it;
on μ against κ_Q^e·bound (Corollary 2.1, e = 2 for the all-pairs soft RankNet, e = k for the
MarginMSE anchored on the group's best item; ``transfer``). Tightness = (bound − R̂)/(R^ν − R̂)
where the gap is positive. The same rows carry the complexity term against the Monte-Carlo
Rademacher complexity of the training sample and the smallest non-vacuous n
(:func:`_rademacher_columns`).

Theorem 2.1 (ii) (per chunk): the terms with R_RN(f*) replaced by its upper estimate, the
smallest fresh-sample soft-RankNet risk of any student of the chunk at that τ; η at the optimum
of ``theory.optimal_eta`` for each row's (H, soft-RankNet risk).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from locent.theory import (
    LOSSES,
    aggregate_diameter,
    loss_range,
    misordering_generalisation_bound,
    optimal_eta,
    rademacher_bound,
    rademacher_rho,
    smallest_non_vacuous_n,
    transfer_bound,
)

from locent import results as R

from .configurations import Configurations
from .draw import SamplerPopulation
from .presets import Preset
from .rademacher import PAIR_LAYOUT, RademacherEstimate
from .samplers import SamplerSpec
from .training import TrainResult, masked_mean
from .transfer import transfer_exponent
from .verify import RunVerification, SampleMeasures, leq


class ConfigBounds(NamedTuple):
    """Per-configuration constants of the bounds at Δ_Q, ``(A,)`` numpy each:
    ``loss_range_Q`` B_φ (Lemma C; NaN for contrastive losses), ``rho`` ρ of Theorem 2.1
    (iii) (NaN for losses theory gives no ρ) and ``transfer_exponent`` e (int) of Corollary 2.1
    for the loss as trained (2 all-pairs, k group-anchored; ``transfer.transfer_exponent``)."""

    loss_range_Q: np.ndarray
    rho: np.ndarray
    transfer_exponent: np.ndarray


def config_bounds(configs: Configurations, delta_Q: float) -> ConfigBounds:
    """B_φ(Δ_Q) and ρ for each configuration (one scalar theory call per configuration)."""
    L, Lg = configs.student_lipschitz, configs.teacher_lipschitz
    W, Lam = configs.weight_norm, configs.feature_lipschitz
    ranges, rhos = [], []
    for tau, loss in zip(configs.taus, configs.losses):
        has_range = LOSSES[loss].distillation  # Lemma C gives contrastive losses no range
        ranges.append(float(loss_range(loss, L, Lg, delta_Q, tau=tau)) if has_range else math.nan)
        try:
            rhos.append(float(rademacher_rho(loss, tau, W, Lam, Lg, delta_Q)))
        except ValueError:  # theory states ρ for soft RankNet and MarginMSE only
            rhos.append(math.nan)
    exponents = [transfer_exponent(loss, configs.group_size) for loss in configs.losses]
    return ConfigBounds(np.asarray(ranges), np.asarray(rhos), np.asarray(exponents))


def _runs(t: torch.Tensor) -> np.ndarray:
    """``(S, A)`` → ``(A·S,)`` in row order (a major, s minor)."""
    return t.detach().cpu().numpy().T.reshape(-1)


def _ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """Σ num / Σ den over the last axis, NaN where Σ den = 0. ``(S, A, n)`` → ``(S, A)``."""
    num, den = num.sum(-1).to(torch.float64), den.sum(-1).to(torch.float64)
    return torch.where(den > 0, num / den, math.nan)


def _theorem_iii(
    train_risk: torch.Tensor,
    risk_nu: torch.Tensor,
    risk_mu: torch.Tensor,
    bounds: ConfigBounds,
    configs: Configurations,
    population: SamplerPopulation,
    n: int,
    delta: float,
) -> dict[str, torch.Tensor]:
    """Theorem 2.1 (iii) on ν and (via Corollary 2.1) on μ; risks ``(S, A)`` float64 CPU.

    Configurations without ρ get NaN bounds and are never counted as violated.
    """
    S, A = train_risk.shape
    has = torch.from_numpy(np.isfinite(bounds.rho))
    nan = torch.full((S, A), math.nan, dtype=torch.float64)
    b3, b3_mu = nan.clone(), nan.clone()
    viol = torch.zeros((S, A), dtype=torch.bool)
    viol_mu = torch.zeros((S, A), dtype=torch.bool)
    if bool(has.any()):
        b = rademacher_bound(
            train_risk[:, has].clamp_min(0.0),
            torch.from_numpy(bounds.rho[has.numpy()]),
            configs.weight_norm,
            configs.feature_lipschitz,
            population.delta_Q,
            n,
            delta,
            torch.from_numpy(bounds.loss_range_Q[has.numpy()]),
        )
        # Corollary 2.1 with the exponent of the trained loss (κ² all pairs, κ^k anchored)
        exps = bounds.transfer_exponent[has.numpy()]
        b_mu = torch.stack(
            [
                transfer_bound(b[:, j], population.kappa_Q, group_size=int(e))
                for j, e in enumerate(exps)
            ],
            dim=1,
        )
        b3[:, has], b3_mu[:, has] = b, b_mu
        viol[:, has] = ~leq(risk_nu[:, has], b)
        viol_mu[:, has] = ~leq(risk_mu[:, has], b_mu)
    gap = risk_nu - train_risk
    tight = torch.where(gap > 0, (b3 - train_risk) / gap, math.nan)
    return {
        R.BOUND_III: b3,
        "bound_iii_mu": b3_mu,
        "bound_iii_violated": viol,
        "bound_iii_mu_violated": viol_mu,
        "tightness_iii": tight,
    }


#: standard errors below the Monte-Carlo estimate that the true-constant complexity term must
#: still clear (an exact inequality; the margin only absorbs the estimate's own noise)
MC_Z = 3.0


def _rademacher_columns(
    estimates: dict[str, RademacherEstimate],
    train_risk: torch.Tensor,
    risk_nu: torch.Tensor,
    bound_iii: torch.Tensor,
    bounds: ConfigBounds,
    configs: Configurations,
    population: SamplerPopulation,
    n: int,
    delta: float,
) -> dict[str, np.ndarray]:
    """Theorem 2.1 (iii) against the Monte-Carlo Rademacher complexity, and its vacuity.

    Per run (``(S, A)`` → rows; NaN for losses without ρ): the complexity term 2ρWΛΔ_Q/√n and
    the confidence term B√(ln(1/δ)/(2n)); the class's measured complexity 2ρ·W·Ê‖Σσ_iΔϕ_i‖/n
    (``rademacher``); their ratio; whether the term falls below the measured complexity minus
    ``MC_Z`` standard errors (never, for the true constants); the share of the bound's excess
    the estimation gap uses; the critical scale c* = (R^ν − R̂ − confidence term) / complexity
    term (the bound with the complexity term scaled by c < c* is violated by this run); and the
    smallest non-vacuous n (``theory.smallest_non_vacuous_n``, form iii) at the run's R̂ and at
    R̂ = 0 (a priori: W, Λ, L_g, Δ_Q, ρ, B are all fixed before training).
    """
    S, A = train_risk.shape
    rho = torch.from_numpy(bounds.rho)
    B = torch.from_numpy(bounds.loss_range_Q)
    W, Lam, Dq = configs.weight_norm, configs.feature_lipschitz, population.delta_Q
    complexity = (2 * rho * W * Lam * Dq / math.sqrt(n)).expand(S, A)
    confidence = (B * math.sqrt(math.log(1 / delta) / (2 * n))).expand(S, A)
    layouts = [PAIR_LAYOUT[name] for name in configs.losses]
    mc = torch.stack([W * estimates[lay].mc for lay in layouts], dim=1)  # (S, A)
    se = torch.stack([W * estimates[lay].mc_se for lay in layouts], dim=1)
    jensen = torch.stack([W * estimates[lay].jensen for lay in layouts], dim=1)
    max_norm = torch.stack([estimates[lay].max_pair_norm for lay in layouts], dim=1)
    has = torch.isfinite(rho).expand(S, A)
    nan = torch.tensor(math.nan, dtype=torch.float64)
    term_mc = torch.where(has, 2 * rho * mc, nan)
    excess = bound_iii - train_risk
    gap = risk_nu - train_risk
    check = has & (complexity < 2 * rho * (mc - MC_Z * se))
    n_emp = torch.full((S, A), math.nan, dtype=torch.float64)
    n_prior = torch.full((A,), math.nan, dtype=torch.float64)
    idx = torch.nonzero(torch.isfinite(rho) & torch.isfinite(B) & (B > 0)).flatten()
    if idx.numel():
        common = dict(
            loss_range=B[idx],
            delta=delta,
            rho=rho[idx],
            weight_norm=W,
            feature_lipschitz=Lam,
            diameter=Dq,
        )
        n_emp[:, idx] = smallest_non_vacuous_n(
            "iii", empirical_risk=train_risk[:, idx].clamp_min(0.0), **common
        ).to(torch.float64)
        n_prior[idx] = smallest_non_vacuous_n("iii", empirical_risk=0.0, **common).to(torch.float64)
    return {
        "complexity_term_iii": torch.where(has, complexity, nan),
        "confidence_term_iii": torch.where(has, confidence, nan),
        "rademacher_margin_mc": mc,
        "rademacher_margin_mc_se": se,
        "rademacher_margin_jensen": jensen,
        "rademacher_margin_bound": torch.full(
            (S, A), W * Lam * Dq / math.sqrt(n), dtype=torch.float64
        ),
        "pair_feature_norm_max": max_norm,
        "complexity_term_mc": term_mc,
        "rademacher_tightness": torch.where(has, complexity / term_mc, nan),
        "rademacher_check_violated": check,
        "gap_fraction_iii": torch.where(has & (excess > 0), gap / excess, nan),
        "critical_scale_iii": torch.where(has, (gap - confidence) / complexity, nan),
        "non_vacuous_n_iii": n_emp,
        "non_vacuous_n_iii_a_priori": n_prior.expand(S, A),
        R.BOUND_III_VACUOUS: torch.where(has, (bound_iii >= B.expand(S, A)).to(torch.float64), nan),
    }


def tabulate_n(
    n: int,
    trained: TrainResult,
    run: RunVerification,
    *,
    space_id: str,
    spec: SamplerSpec,
    configs: Configurations,
    population: SamplerPopulation,
    bounds: ConfigBounds,
    preset: Preset,
    rademacher: dict[str, RademacherEstimate],
) -> pd.DataFrame:
    """The A·S rows of the students trained on the samples of size ``n``; ``rademacher``: the
    Monte-Carlo estimates of the training sample per pair layout (``rademacher``)."""
    tr, nu, mu = (SampleMeasures(*(t.cpu() for t in m)) for m in (run.train, run.nu, run.mu))
    S, A = tr.loss.shape[:2]
    c = preset.corollary_queries

    def per_config(values) -> np.ndarray:  # (A,) → rows
        return np.repeat(np.asarray(values), S)

    def per_seed(values) -> np.ndarray:  # (S,) → rows
        return np.tile(np.asarray(values), A)

    def const(value) -> list:
        return [value] * (A * S)

    train_risk = masked_mean(tr.loss, tr.defined)
    risk_nu = masked_mean(nu.loss, nu.defined)
    dev = (nu.loss - risk_nu[..., None]) * nu.defined
    cnt = nu.defined.sum(-1)
    risk_nu_se = (dev.pow(2).sum(-1) / (cnt - 1).clamp_min(1)).sqrt() / cnt.sqrt()
    risk_mu = masked_mean(mu.loss, mu.defined)
    theorem_iii = _theorem_iii(
        train_risk, risk_nu, risk_mu, bounds, configs, population, n, preset.delta
    )
    teeth = _rademacher_columns(
        {lay: RademacherEstimate(*(t.cpu() for t in est)) for lay, est in rademacher.items()},
        train_risk,
        risk_nu,
        theorem_iii[R.BOUND_III],
        bounds,
        configs,
        population,
        n,
        preset.delta,
    )
    checks = {k: _runs(v) for k, v in run.checks._asdict().items()}
    Lg = configs.teacher_lipschitz
    columns = {
        "space": const(space_id),
        R.SAMPLER: const(spec.label),
        "sampler_family": const(spec.name),
        "knob_name": const(spec.knob_name or ""),
        "knob_value": const(math.nan if spec.knob is None else float(spec.knob)),
        R.TAU: per_config(configs.taus),
        "tau_unit": per_config([t / Lg for t in configs.taus]),
        "n": const(int(n)),
        R.LOSS: per_config(configs.losses).tolist(),
        "distillation": per_config([bool(LOSSES[name].distillation) for name in configs.losses]),
        R.SEED: per_seed(np.arange(S, dtype=np.int64)),
        R.DIAMETER_Q_99: per_seed(aggregate_diameter(nu.diameter_99, alpha=0.99)),
        R.DIAMETER_Q_100: per_seed(aggregate_diameter(nu.diameter_100, alpha=1.0)),
        R.DIAMETER_MEAN_99: per_seed(nu.diameter_99.mean(-1)),
        "delta_Q_population": const(population.delta_Q),
        R.PAIRWISE_ENTROPY: _runs(nu.entropy.mean(-1)),
        R.LISTWISE_ENTROPY: _runs(nu.entropy_listwise.mean(-1)),
        R.PAIRWISE_ENTROPY_TRAIN: _runs(tr.entropy.mean(-1)),
        R.KAPPA_Q: const(population.kappa_Q),
        R.KAPPA_MEAN: const(float(np.mean(population.kappa_q))),
        "train_loss": _runs(train_risk),
        R.POPULATION_RISK: _runs(risk_nu),
        "population_risk_se": _runs(risk_nu_se),
        "population_risk_mu": _runs(risk_mu),
        R.ESTIMATION_GAP: _runs(risk_nu - train_risk),
        "soft_ranknet_population": _runs(nu.soft_ranknet.mean(-1)),
        "misordering_train": _runs(tr.mis_all.mean(-1)),
        R.MISORDERING_NU: _runs(nu.mis_all.mean(-1)),
        R.MISORDERING_MU: _runs(mu.mis_all.mean(-1)),
        "misordering_rate_nu": _runs(_ratio(nu.misordered, nu.comparable)),
        "misordering_rate_mu": _runs(_ratio(mu.misordered, mu.comparable)),
        "student_ties_nu": _runs(nu.student_ties.sum(-1)),
        "weight_norm": const(configs.weight_norm),
        "feature_lipschitz": const(configs.feature_lipschitz),
        R.TEACHER_LIPSCHITZ: const(Lg),
        "max_norm_ratio": const(trained.max_norm_ratio),
        R.LOSS_RANGE_Q: per_config(bounds.loss_range_Q),
        "bound_iii_rho": per_config(bounds.rho),
        **{name: _runs(values) for name, values in theorem_iii.items()},
        **{name: _runs(values) for name, values in teeth.items()},
        "confidence_delta": const(float(preset.delta)),
        **checks,
        "corollary_checks": _runs(run.corollary_checks),
        "corollary_violations": _runs(run.corollary_violations),
        "corollary_trained_checks": _runs(run.corollary_trained_checks),
        "corollary_trained_violations": _runs(run.corollary_trained_violations),
        "transfer_exponent": per_config(bounds.transfer_exponent),
        "corollary_finite_kappa": const(int(np.isfinite(population.kappa_q[:c]).sum())),
        "denoised_items": const(population.denoised_items),
        "undefined_groups_train": _runs((~tr.defined).sum(-1)),
        "undefined_groups_nu": _runs((~nu.defined).sum(-1)),
        "undefined_groups_mu": _runs((~mu.defined).sum(-1)),
    }
    return pd.DataFrame(columns)


def with_theorem_ii(
    df: pd.DataFrame, configs: Configurations, population: SamplerPopulation, preset: Preset
) -> pd.DataFrame:
    """Add the run flags and the Theorem 2.1 (ii) columns to a chunk's rows (in place)."""
    # Students of losses that ignore τ (MarginMSE, LCE, hard RankNet) are the same run at every
    # τ; their rows differ only in the τ-dependent checks. Flag all but the first τ so rates and
    # correlations count each run once.
    df["tau_free"] = ~df[R.LOSS].map(lambda name: LOSSES[name].uses_tau)
    df["duplicate_run"] = df["tau_free"] & (df[R.TAU] != min(configs.tau_grid))
    # Theorem (ii) terms: R_RN(f*) ≤ min over this chunk's students (same τ) of the fresh risk
    L, Lg, delta_Q = configs.student_lipschitz, configs.teacher_lipschitz, population.delta_Q
    rn_range = {
        t: float(loss_range("soft_ranknet", L, Lg, delta_Q, tau=t)) for t in configs.tau_grid
    }
    best = df.groupby(R.TAU)["soft_ranknet_population"].transform("min").to_numpy()
    H = df[R.PAIRWISE_ENTROPY].to_numpy()
    eta, _ = optimal_eta(H, df["soft_ranknet_population"].to_numpy())
    eta = np.clip(np.asarray(eta, dtype=np.float64), 1e-6, 0.5 - 1e-6)
    rng_rn = df[R.TAU].map(rn_range).to_numpy()
    vc_dim = 2 * configs.dim + 1  # pseudo-dimension of a linear class in 2D features (+ offset)
    n = df["n"].to_numpy()
    b2 = misordering_generalisation_bound(H, best, rng_rn, vc_dim, n, preset.delta, eta)
    b2_entropy = misordering_generalisation_bound(H, 0.0, 0.0, vc_dim, n, preset.delta, eta)
    df["eta_star"] = eta
    df["best_risk_upper"] = best
    df[R.BOUND_II] = np.asarray(b2, dtype=np.float64)
    df["bound_ii_entropy_term"] = np.asarray(b2_entropy, dtype=np.float64)
    df["bound_ii_vc_dim"] = vc_dim
    return df
