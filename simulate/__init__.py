"""simulate part of locent: synthetic metric-measure spaces where locality and entropy are knobs.

Modules (one job each): ``spaces`` (registered space IDs), ``teachers`` (score with a computed
Lipschitz constant; τ is the entropy knob), ``samplers`` (inclusion probabilities ν_q with a
locality knob, target measure μ_q), ``students`` (linear class with ‖w‖ ≤ W), ``presets``
(declared sweep parameters), ``configurations`` (the τ × loss axis and the class constants).

A chunk (one sampler) runs four steps in one direction (``sweep.run_chunk``): ``draw`` (the
sampler's measures and every sample) → ``training`` (many configurations at once) → ``verify``
(exact checks of Lemmas A–C and Corollary 2.1) → ``tabulate`` (one row per run, Theorem 2.1
(ii)/(iii), with ``rademacher``: the Monte-Carlo Rademacher complexity of each training sample,
and ``transfer``: Corollary 2.1 with the exponent of the trained loss). ``runner.run_preset`` is the
stage (chunks, resume, table, summary), ``analysis`` the summary (THEORY.md §7 items 1–4, with
``units``: tests over independent (sampler, seed) units; ``theorem_iii_summary`` and
``mutation``: (iii)'s teeth and vacuity), ``cli`` declares ``locent simulate``. Every quantity
of the theory comes from ``locent.theory``; column names from ``locent.results``.
"""
