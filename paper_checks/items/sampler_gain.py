"""Item 5: no significant sampler gain under distillation; under LCE the sampler matters more."""

from __future__ import annotations

import numpy as np
import pandas as pd
from locent.figures.tables import DISTILLATION_LOSSES
from locent.paper_checks.items.common import (
    ALPHA,
    Judgement,
    full_subset,
    keys_label,
    pair,
)
from locent.paper_checks.verdicts import MissingEvidence, Verdict, combine

from locent import results as R
from locent import stats as st

ELABORATE = ("teacher", "ensemble")
BASELINES = ("bm25", "random")


def judge_sampler_gain(wide: pd.DataFrame, margin: float = 0.03) -> Judgement:
    fields = full_subset(wide.attrs["fields"])
    group_cols = [R.STUDENT, R.ARCH, R.LOSS]
    comparisons = []
    for keys, part in fields.groupby(group_cols):
        loss = keys[-1]
        if loss not in DISTILLATION_LOSSES:
            continue
        by_sampler = dict(zip(part[R.SAMPLER], part["condition"]))
        for e in ELABORATE:
            for b in BASELINES:
                if e in by_sampler and b in by_sampler:
                    x, y = pair(wide, by_sampler[e], by_sampler[b])
                    if x.size < 3:
                        continue
                    p_eq, p_upper = st.tost_p(x, y, margin)
                    comparisons.append(
                        {
                            "what": f"{keys_label(keys)}: {e} vs {b}",
                            "gain": float(np.mean(x - y)),
                            "n": int(x.size),
                            "p_gain": st.paired_gain_p(x, y),
                            "p_upper": p_upper,
                            "p_tost": p_eq,
                        }
                    )
    if not comparisons:
        raise MissingEvidence(
            "no distillation loss has both an elaborate sampler "
            f"{ELABORATE} and a baseline {BASELINES} in the grid"
        )
    gain_adj = st.holm([c["p_gain"] for c in comparisons])
    upper_adj = st.holm([c["p_upper"] for c in comparisons])
    tost_adj = st.holm([c["p_tost"] for c in comparisons])
    numbers = {"margin_nDCG@10": margin, "comparisons": len(comparisons)}
    for c, g, u, t in zip(comparisons, gain_adj, upper_adj, tost_adj):
        numbers[f"p_upper_holm[{c['what']}]"] = float(u)
        numbers[f"gain[{c['what']}]"] = c["gain"]
        numbers[f"p_gain_holm[{c['what']}]"] = float(g)
        numbers[f"p_tost_holm[{c['what']}]"] = float(t)
    significant = [c["what"] for c, g in zip(comparisons, gain_adj) if g < ALPHA]
    bounded = int(np.sum(upper_adj < ALPHA))
    numbers["equivalent_tost"] = int(np.sum(tost_adj < ALPHA))
    if significant:
        part_a = Verdict.FAIL
        note_a = f"significant gain (Holm p < {ALPHA}) in {len(significant)}: {significant[0]}"
    elif bounded == len(comparisons):
        part_a = Verdict.PASS
        note_a = (
            f"no gain in {len(comparisons)} comparisons; every gain < {margin} nDCG@10 "
            f"(non-superiority, Holm)"
        )
    else:
        part_a = Verdict.INCONCLUSIVE
        note_a = (
            f"no significant gain, but only {bounded}/{len(comparisons)} gains are shown "
            f"< {margin} (underpowered)"
        )
    # (b) the spread of sampler means (max − min over samplers, full set) per (architecture, loss).
    means = wide.mean(axis=0)
    lce_spread, distil_spread = [], []
    for keys, part in fields.groupby(group_cols):
        values = [means[c] for c in part["condition"] if c in means.index]
        if len(values) < 2:
            continue
        spread = float(np.max(values) - np.min(values))
        numbers[f"sampler_spread[{keys_label(keys)}]"] = spread
        loss = keys[-1]
        if loss == "lce":
            lce_spread.append(spread)
        elif loss in DISTILLATION_LOSSES:
            distil_spread.append(spread)
    if lce_spread and distil_spread:
        lce, distil = float(np.mean(lce_spread)), float(np.mean(distil_spread))
        part_b = Verdict.PASS if lce > distil else Verdict.FAIL
        note_b = f"sampler spread under LCE {lce:.4f} vs mean under distillation {distil:.4f}"
    else:
        part_b = Verdict.INCONCLUSIVE
        note_b = "LCE or distillation conditions with ≥ 2 samplers missing"
    return combine([part_a, part_b]), f"{note_a}; {note_b}", numbers
