"""A sweep: sampler × τ × n × loss × seed, one chunk per sampler, one tidy row per run.

Per chunk (one sampler, all other axes batched):

1. ν = ``inclusion_probabilities`` ``(Q, N)``; μ = ``target_measure`` (top-m neighbours);
   κ_q = ``theory.density_ratio(μ, ν)``; population Δ_q (α = 1 over supp ν_q, via
   ``theory.essential_diameter``), Δ_Q = max_q Δ_q (P_Q is uniform over the query pool).
2. For each n and seed: n queries i.i.d. from P_Q, each with k i.i.d. items from ν_q (the
   teacher's best item of the group moved to index 0, the labelled positive of LCE; every other
   loss is permutation invariant). All τ × loss configurations of all seeds train at once.
3. A fresh sample from ν (and one from μ) of ``eval_queries`` queries per seed measures the
   population risks; Lemmas A–C are checked exactly on the training sample and on both fresh
   samples; Corollary 2.1 exactly over the whole corpus for the first ``corollary_queries`` queries.
4. Theorem 2.1 (iii) (soft RankNet and MarginMSE: the losses theory gives a ρ for):
   bound = R̂(f̂) + 2ρWΛΔ_Q/√n + B√(ln(1/δ)/(2n)), violated when the fresh-sample risk exceeds it;
   on μ against κ_Q²·bound. (ii): the terms with R_RN(f*) replaced by its upper estimate, the
   smallest fresh-sample soft-RankNet risk of any student of the chunk at that τ.

Every random draw is seeded from ``(seed, sampler label, role, n, replicate)`` so a chunk does
not depend on which other chunks ran (resume gives the same table).
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd
import torch

from .presets import Preset
from .samplers import (
    SamplerSpec,
    draw_groups,
    inclusion_probabilities,
    support_diameter,
    target_measure,
)
from .spaces import Space
from .students import feature_lipschitz, student_scores
from .teachers import Teacher, teacher_scores
from .training import masked_mean, train_batched
from .verify import check_sample, corollary_margin_mse, leq, measure_sample

DTYPE = torch.float64


def stable_seed(*keys) -> int:
    """A 63-bit seed from the keys (stable across processes, unlike ``hash``)."""
    digest = hashlib.sha256("|".join(map(str, keys)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def _positive_first(groups: torch.Tensor, tscores: torch.Tensor):
    """Move each group's teacher-best item to index 0 (LCE's positive). ``(n, k)`` both."""
    n, k = groups.shape
    best = tscores.argmax(-1)
    perm = torch.arange(k).expand(n, k).clone()
    perm.scatter_(1, best[:, None], 0)
    perm[:, 0] = best
    return groups.gather(1, perm), tscores.gather(1, perm)


def draw_sample(space: Space, teacher: Teacher, probs, n: int, k: int, seed: int):
    """n queries from P_Q (uniform over the pool), k i.i.d. items from ``probs`` each.

    Returns ``(q (n, D), x (n, k, D), g (n, k), query_index (n,))`` as float64 tensors.
    """
    gen = torch.Generator().manual_seed(seed)
    Q = space.queries.shape[0]
    qi = torch.randint(0, Q, (n,), generator=gen)
    groups = draw_groups(torch.as_tensor(probs), qi, k, gen)
    items = torch.as_tensor(space.items, dtype=DTYPE)
    q = torch.as_tensor(space.queries, dtype=DTYPE)[qi]
    g = teacher_scores(teacher, q, items[groups])
    groups, g = _positive_first(groups, g)
    return q, items[groups], g, qi


def _stack(samples):
    return [torch.stack(parts) for parts in zip(*samples)]


def run_chunk(preset: Preset, space: Space, teacher: Teacher, spec: SamplerSpec, seed: int):
    """All runs of one sampler → (DataFrame rows, chunk-level info dict)."""
    from locent.theory import (
        LOSSES,
        density_ratio,
        loss_range,
        misordering_generalisation_bound,
        optimal_eta,
        rademacher_bound,
        rademacher_rho,
        transfer_bound,
    )

    D = space.items.shape[1]
    k = preset.group_size
    S = preset.seeds
    Lg = teacher.lipschitz
    Lam = feature_lipschitz(space.queries)
    W = preset.weight_norm_factor * abs(teacher.a) * math.sqrt(D)
    L_student = W * Lam
    taus = [Lg * u for u in preset.tau_units]
    combos = [(t, loss) for t in taus for loss in preset.losses]  # the A axis
    A = len(combos)
    a_taus = [c[0] for c in combos]
    a_losses = [c[1] for c in combos]

    nu, info = inclusion_probabilities(spec, space.queries, space.items, teacher)
    mu = target_measure(space.queries, space.items, preset.target_m)
    kappa_q = np.asarray(density_ratio(mu, nu), dtype=np.float64)
    kappa_Q = float(kappa_q.max())
    delta_q = support_diameter(space.items, nu)
    delta_Q = float(delta_q.max())

    # fresh samples (independent of n): ν and μ, one per seed replicate
    label = spec.label
    ev_nu = _stack(
        [
            draw_sample(
                space, teacher, nu, preset.eval_queries, k, stable_seed(seed, label, "nu", s)
            )
            for s in range(S)
        ]
    )
    ev_mu = _stack(
        [
            draw_sample(
                space, teacher, mu, preset.eval_queries, k, stable_seed(seed, label, "mu", s)
            )
            for s in range(S)
        ]
    )

    frames = []
    for n in preset.ns:
        tr = _stack(
            [
                draw_sample(space, teacher, nu, n, k, stable_seed(seed, label, "train", n, s))
                for s in range(S)
            ]
        )
        q, x, g, _ = tr
        result = train_batched(
            q, x, g, a_losses, a_taus, radius=W, steps=preset.steps, lr=preset.lr
        )
        w = result.w
        ms, chk = {}, {}
        for role, (qq, xx, gg, _) in (("train", tr), ("nu", ev_nu), ("mu", ev_mu)):
            m = measure_sample(student_scores(w, qq, xx), gg, xx, a_losses, a_taus)
            c = check_sample(m, a_losses, a_taus, teacher_lipschitz=Lg, student_lipschitz=L_student)
            ms[role] = m
            for name, value in c._asdict().items():  # summed over the three samples
                chk[name] = chk.get(name, 0) + value

        # Corollary 2.1, exactly, over the whole corpus for the first c pool queries
        cq = torch.arange(preset.corollary_queries)
        items = torch.as_tensor(space.items, dtype=DTYPE)
        qc = torch.as_tensor(space.queries, dtype=DTYPE)[cq]
        full = items.expand(len(cq), *items.shape)
        g_full = teacher_scores(teacher, qc, full)  # (c, N)
        f_full = student_scores(w, qc.expand(S, *qc.shape), full.expand(S, *full.shape))
        _, _, cor_ok = corollary_margin_mse(
            f_full, g_full, torch.as_tensor(mu[cq]), torch.as_tensor(nu[cq]), kappa_q[cq]
        )
        cor_checks = torch.full((S, A), len(cq), dtype=torch.int64)
        cor_bad = (~cor_ok).to(torch.int64).sum(-1)

        tr_m, nu_m, mu_m = ms["train"], ms["nu"], ms["mu"]
        train_loss = masked_mean(tr_m.loss, tr_m.defined)
        pop_nu = masked_mean(nu_m.loss, nu_m.defined)
        dev = (nu_m.loss - pop_nu[..., None]) * nu_m.defined
        cnt = nu_m.defined.sum(-1)
        pop_nu_se = (dev.pow(2).sum(-1) / (cnt - 1).clamp_min(1)).sqrt() / cnt.sqrt()
        pop_mu = masked_mean(mu_m.loss, mu_m.defined)
        undefined = {r: (~ms[r].defined).sum(-1) for r in ("train", "nu", "mu")}

        rows = []
        for a, (tau, loss) in enumerate(combos):
            spec_loss = LOSSES[loss]
            rng_Q = (
                float(loss_range(loss, L_student, Lg, delta_Q, tau=tau))
                if spec_loss.distillation
                else math.nan
            )
            try:
                rho = float(rademacher_rho(loss, tau, W, Lam, Lg, delta_Q))
            except ValueError:
                rho = math.nan
            for s in range(S):
                R_hat = float(train_loss[s, a])
                R_nu = float(pop_nu[s, a])
                R_mu = float(pop_mu[s, a])
                if math.isfinite(rho):
                    b3 = float(
                        rademacher_bound(
                            max(R_hat, 0.0), rho, W, Lam, delta_Q, n, preset.delta, rng_Q
                        )
                    )
                    b3_mu = float(transfer_bound(b3, kappa_Q))
                    viol = not bool(leq(torch.tensor(R_nu), torch.tensor(b3)))
                    viol_mu = not bool(leq(torch.tensor(R_mu), torch.tensor(b3_mu)))
                    gap = R_nu - R_hat
                    tight = (b3 - R_hat) / gap if gap > 0 else math.nan
                else:
                    b3 = b3_mu = tight = math.nan
                    viol = viol_mu = False
                rows.append(
                    {
                        "space": space.space_id,
                        "sampler": label,
                        "sampler_family": spec.name,
                        "knob_name": spec.knob_name or "",
                        "knob_value": math.nan if spec.knob is None else float(spec.knob),
                        "tau": tau,
                        "tau_unit": tau / Lg,
                        "n": int(n),
                        "loss": loss,
                        "distillation": bool(spec_loss.distillation),
                        "seed": int(s),
                        "delta_hat_Q_99": float(_agg(nu_m.diameter_99[s], 0.99)),
                        "delta_hat_Q_100": float(_agg(nu_m.diameter_100[s], 1.0)),
                        "delta_hat_mean_99": float(nu_m.diameter_99[s].mean()),
                        "delta_Q_population": delta_Q,
                        "entropy_pairwise": float(nu_m.entropy[s, a].mean()),
                        "entropy_listwise": float(nu_m.entropy_listwise[s, a].mean()),
                        "entropy_pairwise_train": float(tr_m.entropy[s, a].mean()),
                        "kappa_Q": kappa_Q,
                        "kappa_mean": float(np.mean(kappa_q)),
                        "train_loss": R_hat,
                        "population_risk": R_nu,
                        "population_risk_se": float(pop_nu_se[s, a]),
                        "population_risk_mu": R_mu,
                        "estimation_gap": R_nu - R_hat,
                        "soft_ranknet_population": float(nu_m.soft_ranknet[s, a].mean()),
                        "misordering_train": float(tr_m.mis_all[s, a].mean()),
                        "misordering_nu": float(nu_m.mis_all[s, a].mean()),
                        "misordering_mu": float(mu_m.mis_all[s, a].mean()),
                        "misordering_rate_nu": _ratio(nu_m.misordered[s, a], nu_m.comparable[s, a]),
                        "misordering_rate_mu": _ratio(mu_m.misordered[s, a], mu_m.comparable[s, a]),
                        "student_ties_nu": int(nu_m.student_ties[s, a].sum()),
                        "weight_norm": W,
                        "feature_lipschitz": Lam,
                        "teacher_lipschitz": Lg,
                        "max_norm_ratio": result.max_norm_ratio,
                        "loss_range_Q": rng_Q,
                        "bound_iii_rho": rho,
                        "bound_iii": b3,
                        "bound_iii_mu": b3_mu,
                        "bound_iii_violated": bool(viol),
                        "bound_iii_mu_violated": bool(viol_mu),
                        "tightness_iii": tight,
                        "lemma_a_checks": int(chk["lemma_a_checks"][s, a]),
                        "lemma_a_violations": int(chk["lemma_a_violations"][s, a]),
                        "lemma_a_mm_checks": int(chk["lemma_a_mm_checks"][s, a]),
                        "lemma_a_mm_violations": int(chk["lemma_a_mm_violations"][s, a]),
                        "lemma_b_checks": int(chk["lemma_b_checks"][s, a]),
                        "lemma_b_violations": int(chk["lemma_b_violations"][s, a]),
                        "lemma_c_checks": int(chk["lemma_c_checks"][s, a]),
                        "lemma_c_violations": int(chk["lemma_c_violations"][s, a]),
                        "corollary_checks": int(cor_checks[s, a]),
                        "corollary_violations": int(cor_bad[s, a]),
                        "corollary_finite_kappa": int(np.isfinite(kappa_q[: len(cq)]).sum()),
                        "denoised_items": int(info["denoised_items"]),
                        "undefined_groups_train": int(undefined["train"][s, a]),
                        "undefined_groups_nu": int(undefined["nu"][s, a]),
                        "undefined_groups_mu": int(undefined["mu"][s, a]),
                    }
                )
        frames.append(pd.DataFrame(rows))

    df = pd.concat(frames, ignore_index=True)
    # Students of losses that ignore τ (MarginMSE, LCE, hard RankNet) are the same run at every
    # τ; their rows differ only in the τ-dependent checks. Flag all but the first τ so rates and
    # correlations count each run once.
    df["tau_free"] = ~df["loss"].map(lambda name: LOSSES[name].uses_tau)
    df["duplicate_run"] = df["tau_free"] & (df["tau"] != min(taus))
    # Theorem (ii) terms: R_RN(f*) ≤ min over this chunk's students (same τ) of the fresh risk
    rn_range = {t: float(loss_range("soft_ranknet", L_student, Lg, delta_Q, tau=t)) for t in taus}
    best = df.groupby("tau")["soft_ranknet_population"].transform("min").to_numpy()
    H = df["entropy_pairwise"].to_numpy()
    eta, _ = optimal_eta(H, df["soft_ranknet_population"].to_numpy())
    eta = np.clip(np.asarray(eta, dtype=np.float64), 1e-6, 0.5 - 1e-6)
    rng_rn = df["tau"].map(rn_range).to_numpy()
    vc_dim = 2 * D + 1  # pseudo-dimension of a linear class in 2D features (with offset)
    b2 = misordering_generalisation_bound(
        H, best, rng_rn, vc_dim, df["n"].to_numpy(), preset.delta, eta
    )
    b2_entropy = misordering_generalisation_bound(
        H, 0.0, 0.0, vc_dim, df["n"].to_numpy(), preset.delta, eta
    )
    df["eta_star"] = eta
    df["best_risk_upper"] = best
    df["bound_ii"] = np.asarray(b2, dtype=np.float64)
    df["bound_ii_entropy_term"] = np.asarray(b2_entropy, dtype=np.float64)
    df["bound_ii_vc_dim"] = vc_dim
    return df


def _agg(per_query: torch.Tensor, alpha: float) -> float:
    from locent.theory import aggregate_diameter

    return float(aggregate_diameter(per_query, alpha=alpha))


def _ratio(num: torch.Tensor, den: torch.Tensor) -> float:
    den = float(den.sum())
    return float(num.sum()) / den if den > 0 else math.nan
