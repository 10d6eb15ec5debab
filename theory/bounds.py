"""The bounds of THEORY.md §3–§5 as functions: Lemmas A–C, Theorem 2.1 (i)–(iii), Corollary 2.1.

Every argument may be a number, a numpy array or a torch tensor; arguments broadcast against each
other (a mismatch is a ValueError naming every shape). Numbers in → ``float`` out, numpy → numpy,
torch → torch (0-d stays 0-d, the floating dtype is kept). Out-of-range input raises ValueError
naming the argument, the value and (arrays) the index; the ranges are one table,
``_validate.BOUND_RANGES``: 0 ≤ H ≤ ln 2 nats, risks ≥ 0, η ∈ (0, ½), δ ∈ (0, 1), n ≥ 1,
vc_dim ≥ 1, τ > 0, C > 0, Lipschitz constants, norms, ρ, loss ranges and diameters ≥ 0 (any metric
space: no upper end), κ ≥ 1 or ∞. A bound may come back +inf (overflow or κ = ∞: trivially true,
vacuous), never NaN.
"""

from __future__ import annotations

import math

import torch

from . import _backend as B
from . import _validate as V
from ._special import binary_entropy_logit, binary_entropy_prob, kl_bernoulli_logits
from .losses import get_loss

# --------------------------------------------------------------------------- helpers

_inputs = V.bound_inputs  # wrap, range-check by name, broadcast (ValueError naming the shapes)


def _out(t: torch.Tensor, kind, what: str):
    """A bound's value back to the caller: +inf allowed (a vacuous bound), NaN never."""
    return V.finish(t, kind, what, grouped=False, bound=True)


def _h_half_plus(eta: torch.Tensor) -> torch.Tensor:
    """h(½ + η) = h(½ − η), from q = ½ − η (exact subtraction for η ∈ [¼, ½))."""
    q = 0.5 - eta
    return binary_entropy_prob(q)


def _logit_half_plus(eta: torch.Tensor) -> torch.Tensor:
    """logit(½ + η) = ln((½+η)/(½−η)) = log1p(2η/(½−η)), accurate for small η."""
    return torch.log1p(2 * eta / (0.5 - eta))


def _estimation_term(loss_range, vc_dim, n, delta, C):
    """2B(C√(d/n) + √(ln(2/δ)/(2n))): the uniform-convergence term of Theorem 2.1 (i)."""
    return (
        2 * loss_range * (C * torch.sqrt(vc_dim / n) + torch.sqrt(torch.log(2 / delta) / (2 * n)))
    )


# --------------------------------------------------------------------------- Lemma A


def misordering_bound(entropy, kl_risk, eta):
    """Lemma A: P[m_f m_g < 0] ≤ H/h(½ + η) + R_RN/(2η²).

    ``entropy`` 0 ≤ H ≤ ln 2 (pairwise teacher entropy, nats), ``kl_risk`` R ≥ 0 (soft-RankNet
    risk), ``eta`` in (0, ½). Holds for every distribution, hence exactly on empirical measures.
    """
    (H, R, eta), kind = _inputs(entropy=entropy, kl_risk=kl_risk, eta=eta)
    return _out(H / _h_half_plus(eta) + R / (2 * eta**2), kind, "misordering_bound")


def misordering_bound_margin_mse(entropy, mm_risk, eta, tau):
    """Lemma A, MarginMSE form: P[m_f m_g < 0] ≤ H/h(½ + η) + R_MM/(τ·logit(½ + η))²."""
    (H, R, eta, tau), kind = _inputs(entropy=entropy, mm_risk=mm_risk, eta=eta, tau=tau)
    return _out(
        H / _h_half_plus(eta) + R / (tau * _logit_half_plus(eta)) ** 2,
        kind,
        "misordering_bound_margin_mse",
    )


_GRID_U = 481  # grid points in u = logit(2η) ∈ [−60, 60] (step 0.25)
_GOLDEN_STEPS = 80
_ETA_CHUNK = 4096  # inputs per chunk: bounds the (chunk, grid) temporaries to ~16 MB


def _lemma_a_in_u(H: torch.Tensor, R: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Lemma A's bound at η = ½σ(u), with ½ − η = ½σ(−u) computed without cancellation."""
    h = binary_entropy_prob(0.5 * torch.sigmoid(-u))
    eta = 0.5 * torch.sigmoid(u)
    return H[:, None] / h + R[:, None] / (2 * eta**2)


def _optimal_u(H: torch.Tensor, R: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(u*, bound) for flat H, R of shape (N,): grid, then golden section on the bracket."""
    grid = torch.linspace(-60.0, 60.0, _GRID_U, dtype=H.dtype, device=H.device)
    values = _lemma_a_in_u(H, R, grid.expand(H.shape[0], _GRID_U))
    grid_arg = values.argmin(-1, keepdim=True)
    grid_best = values.gather(-1, grid_arg)
    centre = grid_arg.clamp(1, _GRID_U - 2)
    lo, hi = grid[centre - 1], grid[centre + 1]
    g = (math.sqrt(5) - 1) / 2
    x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
    f1, f2 = _lemma_a_in_u(H, R, x1), _lemma_a_in_u(H, R, x2)
    for _ in range(_GOLDEN_STEPS):
        left = f1 <= f2  # the minimum lies in [lo, x2]: drop (x2, hi]; else drop [lo, x1)
        hi = torch.where(left, x2, hi)
        lo = torch.where(left, lo, x1)
        new = torch.where(left, hi - g * (hi - lo), lo + g * (hi - lo))
        f_new = _lemma_a_in_u(H, R, new)
        x1, x2 = torch.where(left, new, x2), torch.where(left, x1, new)
        f1, f2 = torch.where(left, f_new, f2), torch.where(left, f1, f_new)
    u = (lo + hi) / 2
    bound = _lemma_a_in_u(H, R, u)
    # keep the grid point if refinement did not improve on it (rounding on flat ends)
    use_grid = grid_best < bound
    u = torch.where(use_grid, grid[grid_arg], u)
    return u.squeeze(-1), torch.minimum(bound, grid_best).squeeze(-1)


def optimal_eta(entropy, kl_risk):
    """Minimise Lemma A's bound over η ∈ (0, ½): returns ``(eta, bound)``.

    f(η) = H/h(½+η) + R/(2η²) is convex in η (1/h(½+η) is the reciprocal of a positive concave
    decreasing function; R/(2η²) is convex), so it is unimodal. Method (vectorised over the
    inputs, in chunks of 4096): parametrise η = ½σ(u) so both ends are resolved
    (½ − η = ½σ(−u) exactly), take the best of a grid of 481 points in u ∈ [−60, 60], then
    golden-section search on the bracket of its neighbours (80 steps, to float resolution).

    Limits (the infimum is then approached at an end of the open interval; it is still a valid
    bound, being the limit of valid bounds): R = 0 < H gives (0.0, H/ln 2); H = 0 < R gives
    (0.5, 2R); H = R = 0 gives (0.25, 0.0).
    """
    (H, R), kind = _inputs(entropy=entropy, kl_risk=kl_risk)
    shape = H.shape
    H, R = H.detach().reshape(-1), R.detach().reshape(-1)
    us, bounds = [], []
    for start in range(0, H.shape[0], _ETA_CHUNK):
        sl = slice(start, start + _ETA_CHUNK)
        u_c, b_c = _optimal_u(H[sl], R[sl])
        us.append(u_c)
        bounds.append(b_c)
    u = torch.cat(us) if us else H.clone()
    bound = torch.cat(bounds) if bounds else H.clone()
    eta = 0.5 * torch.sigmoid(u)
    zero_r, zero_h = R == 0, H == 0
    eta = torch.where(zero_r, torch.zeros_like(eta), eta)
    bound = torch.where(zero_r, H / math.log(2), bound)
    eta = torch.where(zero_h, torch.full_like(eta, 0.5), eta)
    bound = torch.where(zero_h, 2 * R, bound)
    both = zero_r & zero_h
    eta = torch.where(both, torch.full_like(eta, 0.25), eta)
    bound = torch.where(both, torch.zeros_like(bound), bound)
    return _out(eta.reshape(shape), kind, "optimal_eta"), _out(
        bound.reshape(shape), kind, "optimal_eta"
    )


# --------------------------------------------------------------------------- Lemma B, C


def entropy_floor(teacher_lipschitz, diameter, tau):
    """Lemma B: H_q(g) ≥ h(σ(L_g Δ/τ)) when |m_g| ≤ L_g d on the support (stable logit form)."""
    (Lg, D, tau), kind = _inputs(teacher_lipschitz=teacher_lipschitz, diameter=diameter, tau=tau)
    return _out(binary_entropy_logit(Lg * D / tau), kind, "entropy_floor")


def loss_range(loss, student_lipschitz, teacher_lipschitz, diameter, tau=1.0):
    """Lemma C: the almost-sure range B_φ of a distillation loss when |m_f| ≤ LΔ, |m_g| ≤ L_gΔ.

    - ``margin_mse``:  (L + L_g)² Δ²
    - ``soft_ranknet``: sp(a) − sp(−b) − σ(−b)(a + b), a = LΔ/τ, b = L_gΔ/τ (the opposite-sign
      corner of the box, = D_sp(a, −b), evaluated in the stable KL form)
    - ``listwise_kl``: (L + L_g) Δ / τ
    Contrastive losses (``lce``, ``hard_ranknet``) are not Bregman distillation losses and Lemma C
    gives them no range: ValueError.
    """
    spec = get_loss(loss)
    (L, Lg, D, tau), kind = _inputs(
        student_lipschitz=student_lipschitz,
        teacher_lipschitz=teacher_lipschitz,
        diameter=diameter,
        tau=tau,
    )
    if spec.name == "margin_mse":
        out = ((L + Lg) * D) ** 2
    elif spec.name == "soft_ranknet":
        a, b = L * D / tau, Lg * D / tau
        out = kl_bernoulli_logits(-b, a)  # D_sp(a, −b): teacher logit −b, student logit a
    elif spec.name == "listwise_kl":
        out = (L + Lg) * D / tau
    else:
        raise ValueError(
            f"loss: Lemma C gives no finite range for the contrastive loss {spec.name!r} "
            "(not a Bregman distillation loss); use margin_mse, soft_ranknet or listwise_kl"
        )
    return _out(out, kind, "loss_range")


# --------------------------------------------------------------------------- Theorem 2.1


def generalisation_bound(loss_range, vc_dim, n, delta, C=1.0):
    """Theorem 2.1 (i), the estimation gap: R(f̂) − R(f*) ≤ 2B(C√(d/n) + √(ln(2/δ)/(2n))).

    ``C`` is the (declared) absolute constant of the VC bound.
    """
    (Bφ, d, n, delta, C), kind = _inputs(
        loss_range=loss_range, vc_dim=vc_dim, n=n, delta=delta, C=C
    )
    return _out(_estimation_term(Bφ, d, n, delta, C), kind, "generalisation_bound")


def misordering_generalisation_bound(entropy, best_risk, loss_range, vc_dim, n, delta, eta, C=1.0):
    """Theorem 2.1 (ii), the misordering form:

    P[f̂ misorders] ≤ H/h(½+η) + [R_RN(f*) + 2B(C√(d/n) + √(ln(2/δ)/(2n)))]/(2η²).

    ``loss_range`` is B_RN (soft RankNet, Lemma C at Δ_Q), ``best_risk`` R_RN(f*).
    """
    (H, R, Bφ, d, n, delta, eta, C), kind = _inputs(
        entropy=entropy,
        best_risk=best_risk,
        loss_range=loss_range,
        vc_dim=vc_dim,
        n=n,
        delta=delta,
        eta=eta,
        C=C,
    )
    risk = R + _estimation_term(Bφ, d, n, delta, C)
    return _out(
        H / _h_half_plus(eta) + risk / (2 * eta**2), kind, "misordering_generalisation_bound"
    )


def rademacher_bound(
    empirical_risk, rho, weight_norm, feature_lipschitz, diameter, n, delta, loss_range
):
    """Theorem 2.1 (iii), linear students: R(f) ≤ R̂(f) + 2ρWΛΔ/√n + B√(ln(1/δ)/(2n)).

    Explicit constants: ρ the Lipschitz constant of the loss in m_f (:func:`rademacher_rho`),
    W = ``weight_norm``, Λ = ``feature_lipschitz``, Δ = ``diameter`` (Δ_Q), B = ``loss_range``.
    Holds simultaneously for all f in the class with probability ≥ 1 − δ.
    """
    (R, rho, W, Lam, D, n, delta, Bφ), kind = _inputs(
        empirical_risk=empirical_risk,
        rho=rho,
        weight_norm=weight_norm,
        feature_lipschitz=feature_lipschitz,
        diameter=diameter,
        n=n,
        delta=delta,
        loss_range=loss_range,
    )
    out = (
        R + 2 * rho * W * Lam * D / torch.sqrt(n) + Bφ * torch.sqrt(torch.log(1 / delta) / (2 * n))
    )
    return _out(out, kind, "rademacher_bound")


def rademacher_rho(loss, tau, weight_norm, feature_lipschitz, teacher_lipschitz, diameter):
    """ρ, the Lipschitz constant in m_f of the per-pair loss (Theorem 2.1 (iii)).

    soft RankNet: ρ = 1/τ (∂/∂m_f KL = (r − p)/τ, |r − p| ≤ 1);
    MarginMSE: ρ = 2(WΛ + L_g)Δ (2|m_f − m_g| with |m_f| ≤ WΛΔ, |m_g| ≤ L_gΔ).
    Other losses: ValueError.
    """
    spec = get_loss(loss)
    (tau, W, Lam, Lg, D), kind = _inputs(
        tau=tau,
        weight_norm=weight_norm,
        feature_lipschitz=feature_lipschitz,
        teacher_lipschitz=teacher_lipschitz,
        diameter=diameter,
    )
    if spec.name == "soft_ranknet":
        out = 1.0 / tau
    elif spec.name == "margin_mse":
        out = 2 * (W * Lam + Lg) * D
    else:
        raise ValueError(
            "loss: Theorem 2.1 (iii) states ρ for soft_ranknet and margin_mse only, "
            f"got {spec.name!r}"
        )
    return _out(out, kind, "rademacher_rho")


# --------------------------------------------------------------------------- Corollary 2.1


def transfer_bound(risk, kappa, group_size=2):
    """Corollary 2.1: R^μ(f) ≤ κ^group_size · R^ν(f).

    ``group_size`` = 2 for pair losses (κ²), k for a loss on a whole group of k i.i.d. items.
    κ = ∞ (μ not ≪ ν) gives ∞ whatever the risk: nothing transfers.
    """
    group_size = V.integer(group_size, "group_size", 1)
    (R, kappa), kind = _inputs(risk=risk, kappa=kappa)
    # R = 0 gives 0 for every finite κ (κ^k · 0 would be NaN where κ^k overflows)
    scaled = torch.where(R == 0, torch.zeros_like(R), kappa**group_size * R)
    out = torch.where(torch.isinf(kappa), torch.full_like(R, math.inf), scaled)
    return _out(out, kind, "transfer_bound")


# --------------------------------------------------------------------------- vacuity


def vc_dim_network(n_weights, n_layers):
    """VC/pseudo-dimension of a piecewise-linear network, d ≈ W·L·ln W (Bartlett et al., 2019).

    Natural logarithm; constants omitted (order of magnitude only). BERT-base (1.1e8 weights,
    12 layers) gives ≈ 2.4e10.
    """
    W = B.as_float(n_weights, "n_weights")
    L = B.as_float(n_layers, "n_layers")
    if W < 2:
        raise ValueError(f"n_weights must be >= 2, got {W}")
    if L < 1:
        raise ValueError(f"n_layers must be >= 1, got {L}")
    return W * L * math.log(W)


def is_vacuous(bound, loss_range):
    """True where a risk bound is at least the loss range B (a [0, B] risk is trivially ≤ B)."""
    (b, Bφ), kind = _inputs(bound=bound, loss_range=loss_range)
    return _out(b >= Bφ, kind, "is_vacuous")


def smallest_non_vacuous_n(
    form,
    *,
    loss_range,
    delta,
    vc_dim=None,
    C=1.0,
    empirical_risk=0.0,
    rho=None,
    weight_norm=None,
    feature_lipschitz=None,
    diameter=None,
):
    """Smallest integer n with bound(n) < B, in closed form.

    form ``"i"`` (Theorem 2.1 (i)): 2B(C√(d/n) + √(ln(2/δ)/(2n))) < B
        ⟺ n > n₀ = 4 (C√d + √(ln(2/δ)/2))²  (independent of B > 0).
    form ``"iii"``: R̂ + 2ρWΛΔ/√n + B√(ln(1/δ)/(2n)) < B
        ⟺ n > n₀ = ((2ρWΛΔ + B√(ln(1/δ)/2)) / (B − R̂))²;  ∞ when R̂ ≥ B (never non-vacuous).
    Returns ⌊n₀⌋ + 1 (checked against the bound itself for float rounding, and corrected by one
    if needed): an ``int`` for numbers (``math.inf`` when impossible), else float arrays.
    """
    form = str(form).lower().strip("() ")
    if form not in ("i", "iii"):
        raise ValueError(f"form must be 'i' or 'iii', got {form!r}")
    if form == "i":
        if vc_dim is None:
            raise ValueError("vc_dim is required for form 'i'")
        (Bφ, delta, d, C), kind = _inputs(loss_range=loss_range, delta=delta, vc_dim=vc_dim, C=C)
        n0 = 4 * (C * torch.sqrt(d) + torch.sqrt(torch.log(2 / delta) / 2)) ** 2

        def bound(n):
            return _estimation_term(Bφ, d, n, delta, C)

    else:
        missing = [
            k
            for k, v in dict(
                rho=rho,
                weight_norm=weight_norm,
                feature_lipschitz=feature_lipschitz,
                diameter=diameter,
            ).items()
            if v is None
        ]
        if missing:
            raise ValueError(f"form 'iii' needs {', '.join(missing)}")
        (Bφ, delta, R, rho, W, Lam, D), kind = _inputs(
            loss_range=loss_range,
            delta=delta,
            empirical_risk=empirical_risk,
            rho=rho,
            weight_norm=weight_norm,
            feature_lipschitz=feature_lipschitz,
            diameter=diameter,
        )
        c = 2 * rho * W * Lam * D + Bφ * torch.sqrt(torch.log(1 / delta) / 2)
        n0 = torch.where(R < Bφ, (c / (Bφ - R)) ** 2, torch.full_like(c, math.inf))

        def bound(n):
            return R + c / torch.sqrt(n)

    zero_range = Bφ <= 0
    if bool(zero_range.any()):
        raise ValueError("loss_range must be > 0 for a vacuity question (a zero range is trivial)")
    n = torch.floor(n0) + 1
    finite = torch.isfinite(n)
    safe = torch.where(finite, n, torch.ones_like(n))
    # float rounding: step up if bound(n) is still vacuous, down if bound(n-1) is not
    n = torch.where(finite & (bound(safe) >= Bφ), n + 1, n)
    prev = torch.clamp(torch.where(finite, n - 1, torch.ones_like(n)), min=1)
    n = torch.where(finite & (n > 1) & (bound(prev) < Bφ), n - 1, n)
    if kind.lib == B.SCALAR:
        v = float(n)
        return int(v) if math.isfinite(v) else math.inf
    # n is a count of queries, not data of the inputs' dtype: float64 (float16 would overflow)
    return B.restore(n.to(torch.float64), kind._replace(dtype=torch.float64))
