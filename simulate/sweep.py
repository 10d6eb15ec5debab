"""A sweep: sampler × τ × n × loss × seed, one chunk per sampler, one tidy row per run.

A chunk (one sampler, all other axes batched) runs four steps in one direction; each step returns
a typed record the next one reads, and none goes back to an earlier one:

1. **draw** (``draw.py``): the sampler's ν ``(Q, N)`` and the target μ (top-m neighbours),
   κ_q = ``theory.density_ratio(μ, ν)``, the population Δ_q and Δ_Q = max_q Δ_q
   (:class:`~.draw.SamplerPopulation`); then every sample at once (:class:`~.draw.ChunkDraws`):
   per n the S training samples (n queries from P_Q, k i.i.d. items from ν_q each), the fresh
   samples from ν and μ of ``eval_queries`` queries, and the teacher over the whole corpus for
   the first ``corollary_queries`` queries.
2. **train** (``training.py``): per n, all τ × loss configurations of all seeds at once
   (:class:`~.training.TrainResult`, ``w`` ``(S, A, 2D)``).
3. **verify** (``verify.py``): measure the students on the training sample and both fresh
   samples, check Lemmas A–C exactly on each and Corollary 2.1 exactly over the corpus
   (:class:`~.verify.RunVerification`, counts ``(S, A)``).
4. **tabulate** (``tabulate.py``): one row per configuration × seed × n with Theorem 2.1 (iii)
   per row (with the Monte-Carlo Rademacher complexity of its training sample, ``rademacher``)
   and (ii) per chunk.

Every random draw is seeded from ``(seed, sampler label, role, n, replicate)`` so a chunk does
not depend on which other chunks ran (resume gives the same table). Draws happen on the CPU;
training and verification run on ``device`` (float64 throughout).
"""

from __future__ import annotations

import pandas as pd
import torch

from .configurations import configurations
from .draw import draw_chunk, sampler_population, stable_seed
from .presets import Preset
from .rademacher import PAIR_LAYOUT, rademacher_margin_class
from .samplers import SamplerSpec
from .spaces import Space
from .tabulate import config_bounds, tabulate_n, with_theorem_ii
from .teachers import Teacher
from .training import train_chunk
from .verify import verify_run


def run_chunk(
    preset: Preset,
    space: Space,
    teacher: Teacher,
    spec: SamplerSpec,
    seed: int,
    device: str | torch.device = "cpu",
) -> pd.DataFrame:
    """All runs of sampler ``spec``: draw → train → verify → tabulate.

    Returns the chunk's rows: ``len(preset.ns) · A · S`` rows (A = |τ| · |losses|,
    S = ``preset.seeds``), ordered n, configuration, seed.
    """
    configs = configurations(preset, space, teacher)
    population = sampler_population(preset, space, teacher, spec)
    draws = draw_chunk(preset, space, teacher, population, spec.label, seed)
    draws = draws.to(torch.device(device))
    trained = train_chunk(draws.train, configs, preset)
    verified = [verify_run(t.w, sample, draws, configs) for t, sample in zip(trained, draws.train)]
    bounds = config_bounds(configs, population.delta_Q)
    # the Monte-Carlo Rademacher complexity of each training sample, per pair layout in use
    layouts = sorted({PAIR_LAYOUT[name] for name in configs.losses})
    rademacher = [
        {
            lay: rademacher_margin_class(
                sample.q, sample.x, lay, stable_seed(seed, spec.label, "rademacher", n)
            )
            for lay in layouts
        }
        for n, sample in zip(preset.ns, draws.train)
    ]
    frames = [
        tabulate_n(
            n,
            t,
            v,
            space_id=space.space_id,
            spec=spec,
            configs=configs,
            population=population,
            bounds=bounds,
            preset=preset,
            rademacher=r,
        )
        for n, t, v, r in zip(preset.ns, trained, verified, rademacher)
    ]
    return with_theorem_ii(pd.concat(frames, ignore_index=True), configs, population, preset)
