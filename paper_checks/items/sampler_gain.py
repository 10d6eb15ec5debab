"""Item 5: no significant sampler gain under distillation; under LCE the sampler matters more.

(a) Paired over DL19+DL20 queries (nDCG@10, mean over seeds), Holm over the family: for each
distillation loss, elaborate sampler vs baseline. Support: non-superiority (every gain <
``margin``, the upper TOST test); against: a significant gain. Power: the smallest shift the
non-superiority test detects with 80% power, simulated from the per-query differences, against
``margin`` (the true gain 0 the prediction implies is ``margin`` below the bound).

(b) A paired interaction test over queries: the spread of sampler means (max − min over the
samplers both losses share) under LCE minus the same spread under a distillation loss, per
(student, arch), with a paired percentile bootstrap over queries (``resamples``, ``seed``): CI,
one-sided p = (1 + #{replicates ≤ 0})/(1 + B), power from the bootstrap SE against ``min_effect``.
On MS MARCO training, LCE's positive is the teacher's top item (no relevance label), so those
runs are labelled ``lce_positives = teacher_top``; LCE trained with real-label positives
(Vaswani, Cranfield) would be judged apart.

Cells flagged "did not learn" are dropped before both parts (:mod:`.learned`); the explanation
counts them, and with no cell that learned the check is INCONCLUSIVE ("no student learned").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from locent.figures.tables import DISTILLATION_LOSSES
from locent.paper_checks.items.common import full_subset, keys_label, pair
from locent.paper_checks.items.decision import TestOutcome, bootstrap_p, summarise
from locent.paper_checks.items.learned import NOT_LEARNED_CELLS, learned_note
from locent.paper_checks.items.power import detectable_mean_shift
from locent.paper_checks.verdicts import CheckParams, MissingEvidence, Verdict, combine, part
from scipy import stats

from locent import results as R
from locent import stats as st

ELABORATE = ("teacher", "ensemble")
BASELINES = ("bm25", "random")
SAMPLER_GAIN_PARAMS = CheckParams(alpha=0.05, margin=0.03, resamples=2000, seed=0, min_effect=0.02)
#: where LCE's positive comes from, by training collection (MS MARCO: teacher's top item)
LCE_POSITIVES = {"msmarco": "teacher_top", "vaswani": "label", "cranfield": "label"}


def _part_a(wide, fields, params):
    comparisons = []
    for keys, rows in fields.groupby([R.STUDENT, R.ARCH, R.LOSS]):
        if keys[-1] not in DISTILLATION_LOSSES:
            continue
        by_sampler = dict(zip(rows[R.SAMPLER], rows["condition"]))
        for e in ELABORATE:
            for b in BASELINES:
                if e in by_sampler and b in by_sampler:
                    x, y = pair(wide, by_sampler[e], by_sampler[b])
                    if x.size < 3:
                        continue
                    _, p_upper = st.tost_p(x, y, params.margin)
                    comparisons.append(
                        {
                            "what": f"{keys_label(keys)}: {e} vs {b}",
                            "d": x - y,
                            "p_gain": st.paired_gain_p(x, y),
                            "p_upper": p_upper,
                        }
                    )
    if not comparisons:
        raise MissingEvidence(
            "no distillation loss has both an elaborate sampler "
            f"{ELABORATE} and a baseline {BASELINES} in the grid"
        )
    gain = st.holm([c["p_gain"] for c in comparisons])
    upper = st.holm([c["p_upper"] for c in comparisons])
    outcomes = []
    for c, g, u in zip(comparisons, gain, upper):
        d = c["d"]
        se = float(np.std(d, ddof=1) / np.sqrt(d.size))
        outcomes.append(
            TestOutcome(
                c["what"] + " (gain < margin)",
                float(d.mean()),
                (float(d.mean() - 1.96 * se), float(d.mean() + 1.96 * se)),
                float(u),
                float(g),
                detectable_mean_shift(-d, params.alpha, params.power, params.resamples),
                float(params.margin),
                params.alpha,
                int(d.size),
                "queries",
            )
        )
    return outcomes


def _spread(values: np.ndarray) -> np.ndarray:
    """max − min over samplers of the per-sampler means; ``values`` (..., queries, samplers)."""
    means = values.mean(axis=-2)
    return means.max(axis=-1) - means.min(axis=-1)


def _part_b(wide, fields, params):
    outcomes = []
    rng = np.random.default_rng(params.seed)
    for keys, rows in fields.groupby([R.STUDENT, R.ARCH]):
        by_loss = {
            loss: dict(zip(p[R.SAMPLER], p["condition"])) for loss, p in rows.groupby(R.LOSS)
        }
        if "lce" not in by_loss:
            continue
        for loss, samplers in by_loss.items():
            if loss not in DISTILLATION_LOSSES:
                continue
            shared = sorted(set(samplers) & set(by_loss["lce"]))
            if len(shared) < 2:
                continue
            cols = [by_loss["lce"][s] for s in shared] + [samplers[s] for s in shared]
            both = wide[cols].dropna().to_numpy(float)
            n, k = both.shape[0], len(shared)
            if n < 3:
                continue
            lce, dist = both[:, :k], both[:, k:]
            point = float(_spread(lce) - _spread(dist))
            idx = rng.integers(0, n, size=(params.resamples, n))
            boots = _spread(lce[idx]) - _spread(dist[idx])
            lo, hi = np.quantile(boots, [0.025, 0.975])
            se = float(np.std(boots, ddof=1))
            detectable = (stats.norm.ppf(1 - params.alpha) + stats.norm.ppf(params.power)) * se
            outcomes.append(
                TestOutcome(
                    f"{keys_label(keys)}: sampler spread under LCE (teacher-top positives) − "
                    f"under {loss} over {', '.join(shared)}",
                    point,
                    (float(lo), float(hi)),
                    bootstrap_p(boots, 0.0, "above"),
                    bootstrap_p(boots, 0.0, "below"),
                    float(detectable),
                    float(params.min_effect),
                    params.alpha,
                    n,
                    "queries",
                )
            )
    return outcomes


def judge_sampler_gain(wide: pd.DataFrame, params: CheckParams = SAMPLER_GAIN_PARAMS):
    fields = full_subset(wide.attrs["fields"])
    try:
        a, missing_a = _part_a(wide, fields, params), ""
    except MissingEvidence as err:  # (b) may still be judged
        a, missing_a = [], str(err)
    b = _part_b(wide, fields, params)
    if not a and not b:
        raise MissingEvidence(
            f"{missing_a}; and no (student, arch) with LCE and a distillation loss on ≥ 2 samplers"
        )
    numbers = {"margin_nDCG@10": params.margin, "comparisons": len(a)}
    numbers["lce_positives"] = LCE_POSITIVES["msmarco"]
    power = {}
    for o in [*a, *b]:
        numbers.update(o.numbers(o.label))
        power[o.label] = o.detectable
    part_a = combine([o.verdict for o in a])  # INCONCLUSIVE when (a) has no comparison
    part_b = combine([o.verdict for o in b]) if b else Verdict.INCONCLUSIVE
    note_b = (
        summarise(b)
        if b
        else "(b): no (student, arch) with LCE and a distillation loss on ≥ 2 shared samplers"
    )
    gains = [o for o in a if o.p_against < o.alpha]
    note_a = (
        f"significant gain: {gains[0].text()}"
        if gains
        else summarise(a)
        if a
        else f"no evidence: {missing_a}"
    )
    text = f"(a) {note_a}; (b) {note_b}"
    if learned_note(wide):  # cells flagged "did not learn" were dropped before the tests
        text += f"; {learned_note(wide)}"
        numbers[NOT_LEARNED_CELLS] = int(wide.attrs.get(NOT_LEARNED_CELLS, 0))
    parts = [
        part("(a) no significant gain of an elaborate sampler", part_a, note_a),
        part("(b) the sampler matters more under LCE", part_b, note_b),
    ]
    return combine([part_a, part_b]), text, numbers, power, parts
