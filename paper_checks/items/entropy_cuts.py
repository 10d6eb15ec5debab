"""Item 7: moderate-entropy training subsets match the full set; extreme ones hurt.

Paired over DL19+DL20 queries against the full set (per-query nDCG@10, mean over seeds), Holm
over the family. A moderate subset: non-inferiority within ``margin`` (support) vs significantly
worse (against); an extreme subset: significantly worse (support) vs non-inferior (against). The
power of each comparison is simulated from its per-query differences (:mod:`.power`), against
``margin`` (moderate) or ``min_effect`` (extreme).

A subset **identical to the full set** (same training-query count ``n_train`` as the full set, or
per-query values exactly equal: the same model was trained) or **empty** (``n_train`` = 0, or
``keep_tukey_outliers`` missing where ``keep_tukey_inliers`` has the full set's ``n_train``) carries
no evidence: that sub-check is INCONCLUSIVE, never PASS. Subset sizes are reported.
Cells flagged "did not learn" are dropped before the tests (:mod:`.learned`) and counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from locent.paper_checks.items.common import keys_label, pair
from locent.paper_checks.items.decision import TestOutcome, summarise
from locent.paper_checks.items.learned import NOT_LEARNED_CELLS, learned_note
from locent.paper_checks.items.power import detectable_mean_shift
from locent.paper_checks.verdicts import CheckParams, MissingEvidence, Verdict, combine, part

from locent import results as R
from locent import stats as st

#: Subset names (what is *kept*) by kind; others (e.g. halves at the median) are reported only.
MODERATE_SUBSETS = ("drop_lower_quartile", "drop_upper_quartile", "keep_tukey_inliers")
#: A subset that keeps one end of the entropy distribution (a half, or the Tukey outliers).
EXTREME_SUBSETS = ("keep_below_median", "keep_above_median", "keep_tukey_outliers")
ENTROPY_CUT_PARAMS = CheckParams(alpha=0.05, margin=0.02, resamples=2000, seed=0, min_effect=0.02)
KEYS = [R.STUDENT, R.ARCH, R.LOSS, R.SAMPLER]
N_TRAIN = "n_train"


def subset_sizes(results: pd.DataFrame | None) -> dict[tuple, int]:
    """(student, arch, loss, sampler, subset) → training queries (``n_train`` of results.csv)."""
    if results is None or N_TRAIN not in results.columns:
        return {}
    rows = results.dropna(subset=[N_TRAIN])
    rows = rows[rows[R.SUBSET].notna()] if R.SUBSET in rows.columns else rows.iloc[:0]
    grouped = rows.groupby([*KEYS, R.SUBSET])[N_TRAIN].max()
    return {tuple(map(str, k)): int(v) for k, v in grouped.items()}


def _kind(subset: str) -> str | None:
    if subset in MODERATE_SUBSETS:
        return "moderate"
    return "extreme" if subset in EXTREME_SUBSETS else None


def judge_entropy_cuts(
    wide: pd.DataFrame, sizes: dict | None = None, params: CheckParams = ENTROPY_CUT_PARAMS
):
    fields = wide.attrs["fields"]
    sizes = sizes or {}
    if not (fields[R.SUBSET] != R.FULL_SUBSET).any():
        raise MissingEvidence("the grid has no entropy-cut subsets (column 'subset')")
    comparisons, void, numbers = [], [], {"margin_nDCG@10": params.margin}
    for key, rows in fields.groupby(KEYS):
        by_subset = dict(zip(rows[R.SUBSET], rows["condition"]))
        full = by_subset.get(R.FULL_SUBSET)
        if full is None:
            continue
        label = keys_label(key)
        n_full = sizes.get((*map(str, key), R.FULL_SUBSET))
        n_inliers = sizes.get((*map(str, key), "keep_tukey_inliers"))
        if "keep_tukey_outliers" not in by_subset and n_inliers is not None and n_inliers == n_full:
            # no Tukey outliers: the extreme subset is empty (and the inliers are the full set)
            void.append(
                (
                    f"{label}: keep_tukey_outliers (extreme)",
                    f"empty (no Tukey outliers in {n_full})",
                )
            )
        for subset, condition in by_subset.items():
            kind = _kind(subset)
            if kind is None:
                continue
            what = f"{label}: {subset}"
            n_sub = sizes.get((*map(str, key), subset))
            numbers[f"n_train[{what}]"] = n_sub
            numbers[f"n_train_full[{what}]"] = n_full
            x, y = pair(wide, condition, full)
            if n_sub == 0 or x.size == 0:
                void.append((f"{what} ({kind})", "empty subset"))
                continue
            if (n_sub is not None and n_sub == n_full) or (x.size and np.all(x == y)):
                void.append(
                    (f"{what} ({kind})", f"identical to the full set (n_train {n_sub} = {n_full})")
                )
                continue
            if x.size < 3:
                void.append((f"{what} ({kind})", f"only {x.size} paired queries"))
                continue
            comparisons.append(
                {
                    "what": what,
                    "kind": kind,
                    "x": x,
                    "y": y,
                    "p_noninf": st.paired_noninferiority_p(x, y, params.margin),
                    "p_worse": st.paired_loss_p(x, y),
                }
            )
    if not comparisons and not void:
        raise MissingEvidence("no moderate or extreme entropy subset paired with the full set")
    p_noninf = st.holm([c["p_noninf"] for c in comparisons]) if comparisons else []
    p_worse = st.holm([c["p_worse"] for c in comparisons]) if comparisons else []
    parts, notes, power, outcomes = [], [], {}, []
    for c, ni, w in zip(comparisons, p_noninf, p_worse):
        d = c["x"] - c["y"]
        se = float(np.std(d, ddof=1) / np.sqrt(d.size))
        ci = (float(d.mean() - 1.96 * se), float(d.mean() + 1.96 * se))
        if c["kind"] == "moderate":
            # non-inferiority: powered when a shift of `margin` (true diff 0) is detected
            det = detectable_mean_shift(d, params.alpha, params.power, params.resamples)
            o = TestOutcome(
                f"{c['what']} ({c['kind']})",
                float(d.mean()),
                ci,
                float(ni),
                float(w),
                det,
                float(params.margin),
                params.alpha,
                int(d.size),
                "queries",
            )
        else:
            det = detectable_mean_shift(-d, params.alpha, params.power, params.resamples)
            o = TestOutcome(
                f"{c['what']} ({c['kind']})",
                float(d.mean()),
                ci,
                float(w),
                float(ni),
                det,
                float(params.min_effect),
                params.alpha,
                int(d.size),
                "queries",
            )
        parts.append(o.verdict)
        outcomes.append(o)
        numbers.update(o.numbers(c["what"]))
        numbers[f"diff_vs_full[{c['what']}]"] = float(d.mean())
        power[c["what"]] = det
    if outcomes:
        notes.append(summarise(outcomes))
    judged = [o.part() for o in outcomes]
    for label, why in void:
        parts.append(Verdict.INCONCLUSIVE)
        notes.append(f"{label}: {why} → INCONCLUSIVE (no evidence)")
        judged.append(part(label, Verdict.INCONCLUSIVE, f"{why} (no evidence)"))
    kinds = {c["kind"] for c in comparisons}
    if kinds != {"moderate", "extreme"}:
        parts.append(Verdict.INCONCLUSIVE)
        notes.append(f"only {sorted(kinds)} subsets compared")
        judged.append(part("both kinds compared", Verdict.INCONCLUSIVE, notes[-1]))
    numbers["void_subsets"] = len(void)
    if learned_note(wide):  # cells flagged "did not learn" were dropped before the tests
        notes.append(learned_note(wide))
        numbers[NOT_LEARNED_CELLS] = int(wide.attrs.get(NOT_LEARNED_CELLS, 0))
    return combine(parts), "; ".join(notes), numbers, power, judged
