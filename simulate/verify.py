"""Per-sample measurements and the exact checks of Lemmas A, B, C and Corollary 2.1.

Everything is measured with ``locent.theory``; this module only arranges the arrays and counts.
Statements that hold for every distribution hold *exactly* on the empirical measure of any finite
sample (THEORY.md, preamble), so a check passes iff ``lhs ≤ rhs`` up to float64 rounding
(relative ``RTOL`` = 1e-12, nothing looser). Counts are per configuration: arrays ``(S, A)``.

Measurement conventions (THEORY.md Definition 2.1, Lemma A): the misordering rate used in Lemma A
is misordered pairs / **all** k(k−1)/2 pairs of the group (teacher ties count as pairs that are not
misordered), so that it is the probability under the same empirical pair measure as the entropy
H_q and the soft-RankNet risk (both means over all pairs i<j). The test metric reported in the
table is the theory's ``misordering_counts`` misordered/comparable as well (both columns).

Step 3 of a chunk, *verify* (:func:`verify_run`): the trained students of one n measured on their
training sample and on the fresh ν and μ samples, every statement checked on each.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from locent.theory import (
    LOSSES,
    entropy_floor,
    essential_diameter,
    listwise_entropy,
    loss_range,
    misordering_bound,
    misordering_bound_margin_mse,
    misordering_counts,
    optimal_eta,
    pairwise_entropy,
    population_pairwise_risk,
    transfer_bound,
)

from .configurations import Configurations
from .draw import ChunkDraws, Sample
from .students import student_scores
from .tolerance import leq
from .training import per_query_losses
from .transfer import corollary_trained_loss

#: the fixed η grid of Lemma A checks (plus the optimal η of each query)
ETA_GRID = (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.45, 0.49)


class SampleMeasures(NamedTuple):
    """Per-query measurements of one sample, ``(S, A, n)`` unless stated.

    ``loss`` own loss of each configuration; ``soft_ranknet``, ``margin_mse`` risks;
    ``misordered``, ``comparable``, ``student_ties`` counts; ``mis_all`` = misordered / pairs;
    ``entropy`` pairwise H_q at each configuration's τ; ``entropy_listwise`` (normalised by ln k);
    ``diameter_100``, ``diameter_99`` ``(S, n)`` per-group Δ̂_q; ``defined`` where ``loss``
    exists (hard RankNet: not in groups whose teacher ties every pair).
    """

    loss: torch.Tensor
    defined: torch.Tensor
    soft_ranknet: torch.Tensor
    margin_mse: torch.Tensor
    misordered: torch.Tensor
    comparable: torch.Tensor
    student_ties: torch.Tensor
    mis_all: torch.Tensor
    entropy: torch.Tensor
    entropy_listwise: torch.Tensor
    diameter_100: torch.Tensor
    diameter_99: torch.Tensor


@torch.no_grad()
def measure_sample(scores, teacher, x, losses, taus) -> SampleMeasures:
    """Measure a sample. ``scores`` ``(S, A, n, k)``, ``teacher`` ``(S, n, k)``,
    ``x`` ``(S, n, k, D)``, ``losses``/``taus`` length A."""
    S, A, n, k = scores.shape
    tt = teacher[:, None].expand(S, A, n, k)
    tau = torch.as_tensor(taus, dtype=scores.dtype, device=scores.device)
    tau = tau.view(1, A, 1).expand(S, A, n)
    mis, comp, ties = misordering_counts(scores, tt)
    pairs = k * (k - 1) // 2
    loss, defined = per_query_losses(scores, teacher, losses, taus)
    return SampleMeasures(
        loss=loss,
        defined=defined,
        soft_ranknet=LOSSES["soft_ranknet"](scores, tt, tau=tau),
        margin_mse=LOSSES["margin_mse"](scores, tt),
        misordered=mis,
        comparable=comp,
        student_ties=ties,
        mis_all=mis.to(scores.dtype) / pairs,
        entropy=pairwise_entropy(tt, tau=tau),
        entropy_listwise=listwise_entropy(tt, tau=tau, normalise=True),
        diameter_100=essential_diameter(x, alpha=1.0),
        diameter_99=essential_diameter(x, alpha=0.99),
    )


class Checks(NamedTuple):
    """Exact-check counts per configuration ``(S, A)`` (int64): ``checks`` made and
    ``violations``; one pair per statement."""

    lemma_a_checks: torch.Tensor
    lemma_a_violations: torch.Tensor
    lemma_a_mm_checks: torch.Tensor
    lemma_a_mm_violations: torch.Tensor
    lemma_b_checks: torch.Tensor
    lemma_b_violations: torch.Tensor
    lemma_c_checks: torch.Tensor
    lemma_c_violations: torch.Tensor


def _count(ok: torch.Tensor, dims: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    total = torch.ones_like(ok, dtype=torch.int64).sum(dims)
    bad = (~ok).to(torch.int64).sum(dims)
    return total, bad


@torch.no_grad()
def check_sample(
    m: SampleMeasures,
    losses,
    taus,
    *,
    teacher_lipschitz: float,
    student_lipschitz: float,
) -> Checks:
    """Lemma A (η grid per query; optimal η and the grid on the mean over queries),
    Lemma A for MarginMSE (η grid), Lemma B (per query, at Δ̂_q(1)), Lemma C (own loss, per
    query, at Δ̂_q(1); distillation losses only: theory gives contrastive losses no range)."""
    S, A, n = m.loss.shape
    dtype, device = m.loss.dtype, m.loss.device
    eta = torch.tensor(ETA_GRID, dtype=dtype, device=device)
    tau = torch.as_tensor(taus, dtype=dtype, device=device).view(1, A, 1)

    # Lemma A on the η grid per query, and at the optimal η (theory.optimal_eta) plus the grid
    # on the mean over queries (the averaged statement used by Theorem (ii)). The optimal η is
    # not searched per query: the lemma holds for every η, and the grid search costs 2401
    # evaluations per element.
    def on_grid(H, R, mis):
        return leq(mis[..., None], misordering_bound(H[..., None], R[..., None], eta))

    grid_q = on_grid(m.entropy, m.soft_ranknet, m.mis_all)
    H_m, R_m, mis_m = m.entropy.mean(-1), m.soft_ranknet.mean(-1), m.mis_all.mean(-1)
    _, best = optimal_eta(H_m, R_m)
    parts = [_count(grid_q, (2, 3)), _count(leq(mis_m, best)[..., None], (2,))]
    parts.append(_count(on_grid(H_m, R_m, mis_m), (2,)))
    a_checks = sum(p[0] for p in parts)
    a_bad = sum(p[1] for p in parts)

    mm_bound = misordering_bound_margin_mse(
        m.entropy[..., None], m.margin_mse[..., None], eta, tau[..., None]
    )
    mm_checks, mm_bad = _count(leq(m.mis_all[..., None], mm_bound), (2, 3))

    floor = entropy_floor(teacher_lipschitz, m.diameter_100[:, None, :], tau)
    b_checks, b_bad = _count(leq(floor, m.entropy), (2,))

    c_checks = torch.zeros((S, A), dtype=torch.int64, device=device)
    c_bad = torch.zeros((S, A), dtype=torch.int64, device=device)
    for a, name in enumerate(losses):
        if not LOSSES[name].distillation:
            continue
        rng = loss_range(
            name, student_lipschitz, teacher_lipschitz, m.diameter_100, tau=float(taus[a])
        )
        c_checks[:, a], c_bad[:, a] = _count(leq(m.loss[:, a], rng), (1,))
    return Checks(a_checks, a_bad, mm_checks, mm_bad, b_checks, b_bad, c_checks, c_bad)


@torch.no_grad()
def corollary_margin_mse(
    student: torch.Tensor, teacher: torch.Tensor, mu: torch.Tensor, nu: torch.Tensor, kappa
):
    """Corollary 2.1, exactly, for the all-pairs MarginMSE pair loss under the product measures.

    This is the *pair* form (κ²), a true statement about every student; the MarginMSE the
    students are trained with is anchored on the group's best item and needs κ^k
    (``transfer.corollary_trained_loss`` checks that one).

    For discrete measures the population MarginMSE risk is a finite sum (theory's
    ``population_pairwise_risk``; with e = f − g it is 2 Var_ν(e)):

        R^ν_q = Σ_{x,x'} ν(x)ν(x') ((f(x) − f(x')) − (g(x) − g(x')))²,

    likewise for μ; the check is R^μ_q ≤ ``transfer_bound(R^ν_q, κ_q)`` = κ_q² R^ν_q.

    Inputs: ``student`` ``(..., c, N)`` and ``teacher`` ``(c, N)`` scores over the whole corpus,
    ``mu``/``nu`` ``(c, N)``, ``kappa`` ``(c,)``. Returns ``(risk_mu, risk_nu, ok)`` each
    ``(..., c)``.
    """
    teacher = teacher.expand_as(student)
    r_mu = population_pairwise_risk(student, teacher, mu, loss="margin_mse")
    r_nu = population_pairwise_risk(student, teacher, nu, loss="margin_mse")
    kappa = torch.as_tensor(kappa, dtype=r_nu.dtype, device=r_nu.device)
    bound = transfer_bound(r_nu, kappa.expand_as(r_nu))
    return r_mu, r_nu, leq(r_mu, bound)


class RunVerification(NamedTuple):
    """Step 3's record for the students of one training sample size n.

    ``train``, ``nu``, ``mu``: :class:`SampleMeasures` on the training sample and on the fresh
    samples from ν and μ (``(S, A, n_sample)`` each); ``checks``: :class:`Checks` summed over
    the three samples ``(S, A)``; ``corollary_checks`` / ``corollary_violations`` ``(S, A)``
    int64: Corollary 2.1 exactly over the corpus for each of the c corollary queries, for the
    all-pairs MarginMSE with κ² on every student; ``corollary_trained_checks`` /
    ``corollary_trained_violations`` ``(S, A)``: the same on each configuration's own trained
    loss with its exponent (``transfer.corollary_trained_loss``; 0 checks for losses without an
    exact form).
    """

    train: SampleMeasures
    nu: SampleMeasures
    mu: SampleMeasures
    checks: Checks
    corollary_checks: torch.Tensor
    corollary_violations: torch.Tensor
    corollary_trained_checks: torch.Tensor
    corollary_trained_violations: torch.Tensor


@torch.no_grad()
def verify_run(
    w: torch.Tensor, train: Sample, draws: ChunkDraws, configs: Configurations
) -> RunVerification:
    """Step 3: measure and check the students ``w`` ``(S, A, 2D)`` trained on ``train``.

    Lemmas A–C on the training sample and on both fresh samples (counts summed), Corollary 2.1
    over the whole corpus for ``draws.corpus``'s c queries: the all-pairs MarginMSE (κ², every
    student) and each configuration's own trained loss (κ^e, ``transfer``).
    """
    measures = {}
    total: dict[str, torch.Tensor] = {}
    for role, sample in (("train", train), ("nu", draws.eval_nu), ("mu", draws.eval_mu)):
        scores = student_scores(w, sample.q, sample.x)
        m = measure_sample(scores, sample.g, sample.x, configs.losses, configs.taus)
        checks = check_sample(
            m,
            configs.losses,
            configs.taus,
            teacher_lipschitz=configs.teacher_lipschitz,
            student_lipschitz=configs.student_lipschitz,
        )
        measures[role] = m
        for name, value in checks._asdict().items():
            total[name] = total[name] + value if name in total else value
    corpus = draws.corpus
    S, A = w.shape[:2]
    c = corpus.q.shape[0]
    f = student_scores(w, corpus.q.expand(S, *corpus.q.shape), corpus.x.expand(S, *corpus.x.shape))
    _, _, ok = corollary_margin_mse(f, corpus.g, corpus.mu, corpus.nu, corpus.kappa)
    k = train.g.shape[-1]
    trained_checks, trained_bad = corollary_trained_loss(
        f, corpus.g, corpus.mu, corpus.nu, corpus.kappa, configs.losses, configs.taus, k
    )
    return RunVerification(
        train=measures["train"],
        nu=measures["nu"],
        mu=measures["mu"],
        checks=Checks(**total),
        corollary_checks=torch.full((S, A), c, dtype=torch.int64, device=w.device),
        corollary_violations=(~ok).to(torch.int64).sum(-1),
        corollary_trained_checks=trained_checks,
        corollary_trained_violations=trained_bad,
    )
