"""simulate part of locent: synthetic metric-measure spaces where locality and entropy are knobs.

Modules (one job each): ``spaces`` (registered space IDs), ``teachers`` (score with a computed
Lipschitz constant; τ is the entropy knob), ``samplers`` (inclusion probabilities ν_q with a
locality knob, target measure μ_q), ``students`` (linear class with ‖w‖ ≤ W), ``training``
(many configurations at once), ``verify`` (exact checks of Lemmas A–C and Corollary 2.1),
``sweep`` (one chunk = one sampler), ``presets``, ``runner`` (chunks, resume, table, summary),
``analysis`` (THEORY.md §7 items 1–4), ``cli`` (``locent simulate``). Every quantity of the
theory comes from ``locent.theory``.
"""
