"""Property tests (hypothesis) backing the inequalities that the symbolic proofs close with a
derivative / convexity argument: Pinsker, the teacher misordering bound, the shape of h, the
smoothness constants and the corner of Lemma C, on the numeric code of locent.theory."""

from __future__ import annotations

import math

import locent.theory as T
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

prob = st.floats(1e-9, 1 - 1e-9)
logit = st.floats(-60.0, 60.0)
nonneg = st.floats(0.0, 40.0)
SLACK = 1e-12
FAST = settings(max_examples=200, deadline=None)


@FAST
@given(prob, prob)
def test_pinsker_bernoulli(p, r):
    kl = float(T.bregman_divergence(T.NEG_ENTROPY, np.array(p), np.array(r)))
    assert kl >= 2 * (p - r) ** 2 - SLACK * max(1.0, kl)


@FAST
@given(prob)
def test_teacher_misordering_below_entropy(p):
    assert min(p, 1 - p) <= float(T.binary_entropy(np.array(p))) / (2 * math.log(2)) + SLACK


@FAST
@given(st.floats(0.0, 0.5), st.floats(0.0, 0.5))
def test_entropy_symmetric_and_decreasing_in_distance_from_half(x1, x2):
    h = lambda q: float(T.binary_entropy(np.array(q)))  # noqa: E731
    p = 0.5 + x1
    assert math.isclose(h(p), h(1 - p), rel_tol=1e-12, abs_tol=1e-300)  # 1 − p exact for p ≥ ½
    if x1 < x2 - 1e-9:
        assert h(0.5 + x1) > h(0.5 + x2)


@FAST
@given(logit, logit)
def test_softplus_divergence_smoothness(a, b):
    d = float(T.bregman_divergence(T.SOFTPLUS, np.array(a), np.array(b)))
    assert 0 <= d <= (T.SOFTPLUS.zeta(1.0) / 2) * (a - b) ** 2 + SLACK * max(1.0, d)


@FAST
@given(st.lists(st.floats(-30, 30), min_size=2, max_size=12), st.data())
def test_logsumexp_divergence_smoothness(s, data):
    t = data.draw(st.lists(st.floats(-30, 30), min_size=len(s), max_size=len(s)))
    s, t = np.array(s), np.array(t)
    d = float(T.bregman_divergence(T.LOGSUMEXP, s, t))
    gap = (s - t) - (s - t).mean()
    assert -1e-12 <= d <= (T.LOGSUMEXP.zeta(1.0) / 2) * float(gap @ gap) + 1e-9 * max(1.0, d)


@FAST
@given(nonneg, nonneg, st.floats(-1, 1), st.floats(-1, 1))
def test_lemma_c_corner_dominates_the_box(a, b, u, v):
    """D_sp(x, y) ≤ B_RN(a, b) for every |x| ≤ a, |y| ≤ b (student logit x, teacher logit y)."""
    x, y = u * a, v * b
    d = float(T.bregman_divergence(T.SOFTPLUS, np.array(x), np.array(y)))
    corner = float(T.loss_range("soft_ranknet", a, b, 1.0, 1.0))
    assert d <= corner + SLACK * max(1.0, corner)
    assert corner <= (a + b) ** 2 / 8 + SLACK * max(1.0, corner)


@FAST
@given(st.floats(0.0, 700.0))
def test_lemma_c_equal_sides_is_x_tanh(x):
    corner = float(T.loss_range("soft_ranknet", x, x, 1.0, 1.0))
    assert math.isclose(corner, x * math.tanh(x / 2), rel_tol=1e-12, abs_tol=1e-300)
