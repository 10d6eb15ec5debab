"""Risk against locality and entropy on real data (issue 13 item 5).

The *dependence sweep* trains one student class on every level of the locality knob (the knob
samplers ``dense@d``, ``bm25@d``, ``ball@r`` and ``random``: Δ̂_Q moves, the teacher is fixed)
and on every teacher variant of the entropy knob (one fixed sampler: H(g) moves, Δ̂_Q is fixed),
with an n axis at three locality levels, then fits

- the estimation gap R̂_held-out − R̂_train on Δ̂_Q/√n (Theorem 2.1 (iii): the gap's bound grows
  linearly in Δ_Q/√n), and
- the held-out misordering floor on H(g) (Theorem 2.1 (ii), Lemma A: the floor grows with H),

with cluster-bootstrap CIs over knob levels (seeds of one level share its groups).

Modules: :mod:`.design` (the sweep's levels and budget), :mod:`.inputs` (the real store's knob
groups, or a small synthetic knob world for tests), :mod:`.sweep` (train every cell with the
grid's cell runner), :mod:`.fit` (the fitted dependence).
"""
