"""Item 7: moderate-entropy training subsets match the full set; extreme ones hurt."""

from __future__ import annotations

import numpy as np
import pandas as pd
from locent.paper_checks.items.common import (
    ALPHA,
    Judgement,
    keys_label,
    pair,
)
from locent.paper_checks.verdicts import MissingEvidence, Verdict, combine

from locent import results as R
from locent import stats as st

#: Subset names (what is *kept*) by kind; others (e.g. halves at the median) are reported only.
MODERATE_SUBSETS = ("drop_lower_quartile", "drop_upper_quartile", "keep_tukey_inliers")
#: A subset that keeps one end of the entropy distribution (a half, or the Tukey outliers).
EXTREME_SUBSETS = ("keep_below_median", "keep_above_median", "keep_tukey_outliers")


def judge_entropy_cuts(wide: pd.DataFrame, margin: float = 0.02) -> Judgement:
    fields = wide.attrs["fields"]
    if not (fields[R.SUBSET] != R.FULL_SUBSET).any():
        raise MissingEvidence("the grid has no entropy-cut subsets (column 'subset')")
    keys = [R.STUDENT, R.ARCH, R.LOSS, R.SAMPLER]
    comparisons = []
    for key, part in fields.groupby(keys):
        by_subset = dict(zip(part[R.SUBSET], part["condition"]))
        full = by_subset.get(R.FULL_SUBSET)
        if full is None:
            continue
        for subset, condition in by_subset.items():
            kind = (
                "moderate"
                if subset in MODERATE_SUBSETS
                else "extreme"
                if subset in EXTREME_SUBSETS
                else None
            )
            if kind is None:
                continue
            x, y = pair(wide, condition, full)
            if x.size < 3:
                continue
            comparisons.append(
                {
                    "what": f"{keys_label(key)}: {subset}",
                    "kind": kind,
                    "diff": float(np.mean(x - y)),
                    "p_noninf": st.paired_noninferiority_p(x, y, margin),
                    "p_worse": st.paired_loss_p(x, y),
                }
            )
    if not comparisons:
        raise MissingEvidence("no moderate or extreme entropy subset paired with the full set")
    p_noninf = st.holm([c["p_noninf"] for c in comparisons])
    p_worse = st.holm([c["p_worse"] for c in comparisons])
    parts, notes, numbers = [], [], {"margin_nDCG@10": margin}
    for c, ni, w in zip(comparisons, p_noninf, p_worse):
        numbers[f"diff_vs_full[{c['what']}]"] = c["diff"]
        numbers[f"p_noninferior_holm[{c['what']}]"] = float(ni)
        numbers[f"p_worse_holm[{c['what']}]"] = float(w)
        if c["kind"] == "moderate":
            v = Verdict.PASS if ni < ALPHA else Verdict.FAIL if w < ALPHA else Verdict.INCONCLUSIVE
        else:
            v = Verdict.PASS if w < ALPHA else Verdict.FAIL if ni < ALPHA else Verdict.INCONCLUSIVE
        parts.append(v)
        notes.append(f"{c['what']} ({c['kind']}): {c['diff']:+.4f} vs full → {v}")
    kinds = {c["kind"] for c in comparisons}
    if kinds != {"moderate", "extreme"}:
        parts.append(Verdict.INCONCLUSIVE)
        notes.append(f"only {sorted(kinds)} subsets present")
    return combine(parts), "; ".join(notes), numbers
