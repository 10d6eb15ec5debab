"""Which sub-criterion decided each verdict: the parts of a check, read back from its numbers.

A check's verdict combines parts (:func:`locent.paper_checks.verdicts.combine`: any FAIL fails it,
all PASS pass it, otherwise INCONCLUSIVE). The check records the numbers each part was decided on
(``CheckResult.numbers``); this module reads them back into one :class:`Part` per sub-criterion, so
the report can say *which* part decided the verdict (a FAIL must never read as a list of passes).

The thresholds are the checks' own (``ALPHA``, the margins recorded in ``numbers``, the subset
kinds of item 7), imported, never restated. :func:`parts_of` returns ``None`` when the parts read
back do not combine to the check's verdict (a check changed and this reading did not): the report
then shows the check's own explanation and says that it could not attribute the verdict.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from locent.figures.tables import DISTILLATION_LOSSES
from locent.paper_checks.items.common import ALPHA
from locent.paper_checks.items.entropy_cuts import EXTREME_SUBSETS, MODERATE_SUBSETS
from locent.paper_checks.verdicts import CheckResult, Verdict, combine

#: Explanations of a check that found no (readable) evidence (``Check.evaluate``).
NO_EVIDENCE = ("no evidence:", "evidence unreadable:")


@dataclass(frozen=True)
class Part:
    """One sub-criterion of a check: what it requires, its verdict, and the numbers behind it."""

    label: str
    verdict: Verdict
    note: str


def _v(ok: bool) -> Verdict:
    return Verdict.PASS if ok else Verdict.FAIL


def _note(result: CheckResult, *needles: str, default: str = "") -> str:
    """The first ``; ``-separated note of the explanation that contains one of ``needles``."""
    for note in result.explanation.split("; "):
        if any(n in note for n in needles):
            return note
    return default


def _keyed(numbers: dict, prefix: str) -> dict[str, float]:
    """``{key: value}`` of the numbers named ``prefix[key]``."""
    out = {}
    for name, value in numbers.items():
        match = re.fullmatch(re.escape(prefix) + r"\[(.*)\]", name)
        if match:
            out[match.group(1)] = value
    return out


def _spearman(n: dict, key: str, sign: str, label: str, missing: str) -> Part:
    if key not in n:
        return Part(label, Verdict.INCONCLUSIVE, missing)
    rho, p = float(n[key]), float(n[f"{key}_p_one_sided"])
    ok = (rho > 0 if sign == ">" else rho < 0) and p < ALPHA
    return Part(label, _v(ok), f"ρ = {rho:.3f}, one-sided p = {p:.3g}")


def _item1(r: CheckResult) -> list[Part]:
    n = r.numbers
    parts = []
    label = "(a) every theory check (Lemmas A–C, Corollary 2.1, …) PASSes"
    if "theory_checks" not in n:
        parts.append(Part(label, Verdict.INCONCLUSIVE, "theory/results.json missing"))
    elif int(n["theory_checks"]) == 0:
        parts.append(Part(label, Verdict.INCONCLUSIVE, "theory/results.json is empty"))
    else:
        failed, total = int(n["theory_failed"]), int(n["theory_checks"])
        parts.append(Part(label, _v(failed == 0), f"{total - failed}/{total} PASS"))
    label_b = "(b) 0 exact violations in the simulation"
    label_c = "(c) Theorem 2.1 (iii) violated in at most a δ fraction of runs"
    if "exact_violations" not in n:
        missing = "simulation summary missing"
        return [*parts, Part(label_b, Verdict.INCONCLUSIVE, missing)] + [
            Part(label_c, Verdict.INCONCLUSIVE, missing)
        ]
    k = int(n["exact_violations"])
    parts.append(Part(label_b, _v(k == 0), f"{k} exact violations in {int(n['n_runs'])} runs"))
    rate, delta = float(n["theorem_iii_violation_rate"]), float(n["delta"])
    p = float(n["theorem_iii_exceeds_delta_p"])
    verdict = Verdict.PASS if rate <= delta else Verdict.FAIL if p < ALPHA else Verdict.INCONCLUSIVE
    parts.append(
        Part(label_c, verdict, f"rate {rate:.3f} vs δ = {delta:g} (binomial p(rate > δ) = {p:.3g})")
    )
    return parts


def _item2(r: CheckResult) -> list[Part]:
    n = r.numbers
    return [
        _spearman(
            n, "spearman_gap_vs_diameter", ">", "(a) estimation gap grows with Δ̂_Q", "missing"
        ),
        _spearman(
            n, "spearman_floor_vs_entropy", ">", "(b) misordering floor grows with H(g)", "missing"
        ),
    ]


def _item3(r: CheckResult) -> list[Part]:
    n = r.numbers
    sim = _spearman(
        n,
        "spearman_entropy_vs_diameter",
        "<",
        "(a) simulation: ρ(Δ̂_Q, H) < 0",
        _note(r, "simulation summary", default="simulation summary missing"),
    )
    label = "(b) MS MARCO samplers: ρ(Δ̂_Q, H) < 0"
    if "msmarco_spearman" not in n:
        why = _note(r, "samplers.csv", "MS MARCO", default="MS MARCO samplers not measured")
        return [sim, Part(label, Verdict.INCONCLUSIVE, why)]
    rho, p = float(n["msmarco_spearman"]), float(n["msmarco_p_one_sided"])
    note = f"ρ = {rho:.3f} over {int(n['msmarco_samplers'])} samplers, exact one-sided p = {p:.3g}"
    return [sim, Part(label, _v(rho < 0 and p < ALPHA), note)]


def _item4(r: CheckResult) -> list[Part]:
    n = r.numbers
    label = "in > half of the (τ, loss, n) cells an interior locality is significantly best"
    ok = bool(n["intermediate_locality_optimum"])
    if "cells_significant" in n and "cells" in n:
        cells, sig = int(n["cells"]), int(n["cells_significant"])
        note = f"{sig} of {cells} cells significant (needs > {cells / 2:g})"
        if "cells_interior" in n:
            note += f"; {int(n['cells_interior'])} have an interior minimum"
    else:
        note = "cell counts not recorded"
    return [Part(label, _v(ok), note)]


def _item5(r: CheckResult) -> list[Part]:
    n = r.numbers
    margin = float(n["margin_nDCG@10"])
    gains, p_gain, p_upper = (_keyed(n, k) for k in ("gain", "p_gain_holm", "p_upper_holm"))
    label_a = f"(a) no significant gain of an elaborate sampler, every gain shown < {margin:g}"
    significant = [w for w in gains if p_gain[w] < ALPHA]
    bounded = [w for w in gains if p_upper[w] < ALPHA]
    if significant:
        w = significant[0]
        more = f" (+{len(significant) - 1} more)" if len(significant) > 1 else ""
        part_a = Part(
            label_a,
            Verdict.FAIL,
            f"significant gain: {w} {gains[w]:+.4f}, Holm p = {p_gain[w]:.3g}{more}",
        )
    elif len(bounded) == len(gains):
        part_a = Part(label_a, Verdict.PASS, f"no gain in {len(gains)} comparisons, all < margin")
    else:
        part_a = Part(
            label_a,
            Verdict.INCONCLUSIVE,
            f"no significant gain, but only {len(bounded)}/{len(gains)} shown < {margin:g} "
            "(underpowered)",
        )
    spreads = _keyed(n, "sampler_spread")
    lce = [v for k, v in spreads.items() if k.split("/")[-1] == "lce"]
    distil = [v for k, v in spreads.items() if k.split("/")[-1] in DISTILLATION_LOSSES]
    label_b = "(b) the sampler matters more under LCE (spread of sampler means)"
    if lce and distil:
        a, b = float(np.mean(lce)), float(np.mean(distil))
        part_b = Part(label_b, _v(a > b), f"spread under LCE {a:.4f} vs under distillation {b:.4f}")
    else:
        part_b = Part(label_b, Verdict.INCONCLUSIVE, "LCE or distillation spread missing")
    return [part_a, part_b]


def _item6(r: CheckResult) -> list[Part]:
    n = r.numbers
    margin = float(n["margin"])
    low, high, diff = (_keyed(n, k) for k in ("ci_low", "ci_high", "diff_vs_bm25"))
    parts = []
    for m in low:
        lo, hi = float(low[m]), float(high[m])
        verdict = (
            Verdict.PASS
            if lo >= -margin
            else Verdict.FAIL
            if hi < -margin
            else Verdict.INCONCLUSIVE
        )
        note = f"Δ̂_Q({m}) − Δ̂_Q(bm25) = {float(diff[m]):+.4f} (95% CI {lo:+.4f}…{hi:+.4f})"
        parts.append(Part(f"{m} not more compact than bm25 by > {margin:g}", verdict, note))
    return parts


def _item7(r: CheckResult) -> list[Part]:
    n = r.numbers
    margin = float(n["margin_nDCG@10"])
    diffs, p_ni, p_worse = (
        _keyed(n, k) for k in ("diff_vs_full", "p_noninferior_holm", "p_worse_holm")
    )
    parts, kinds = [], set()
    for what, d in diffs.items():
        subset = what.rsplit(": ", 1)[-1]
        ni, worse = float(p_ni[what]), float(p_worse[what])
        note = f"{float(d):+.4f} vs full (Holm p non-inferior {ni:.3g}, p worse {worse:.3g})"
        if subset in MODERATE_SUBSETS:
            kinds.add("moderate")
            verdict = _decide(ni < ALPHA, worse < ALPHA)
            parts.append(
                Part(f"{what} (moderate): not worse than full by > {margin:g}", verdict, note)
            )
        elif subset in EXTREME_SUBSETS:
            kinds.add("extreme")
            verdict = _decide(worse < ALPHA, ni < ALPHA)
            parts.append(Part(f"{what} (extreme): significantly worse than full", verdict, note))
    if kinds != {"moderate", "extreme"}:
        parts.append(
            Part(
                "both moderate and extreme subsets trained",
                Verdict.INCONCLUSIVE,
                f"only {sorted(kinds)}",
            )
        )
    return parts


def _decide(passes: bool, fails: bool) -> Verdict:
    return Verdict.PASS if passes else Verdict.FAIL if fails else Verdict.INCONCLUSIVE


def _item8(r: CheckResult) -> list[Part]:
    n = r.numbers
    vacuous = bool(n["bound_i_vacuous"])
    share = float(n["form_iii_non_vacuous_share"])
    return [
        Part(
            "(i) vacuous at BERT scale",
            _v(vacuous),
            f"gap bound {float(n['bound_i_bert']):.3g} on a [0, 1] risk",
        ),
        Part(
            "(iii) non-vacuous in more than half of the linear-student runs",
            _v(share > 0.5),
            f"non-vacuous in {100 * share:.1f}% of {int(n['form_iii_runs'])} runs",
        ),
    ]


READERS: dict[int, Callable[[CheckResult], list[Part]]] = {
    1: _item1,
    2: _item2,
    3: _item3,
    4: _item4,
    5: _item5,
    6: _item6,
    7: _item7,
    8: _item8,
}


def parts_of(result: CheckResult) -> list[Part] | None:
    """The sub-criteria of ``result`` with their verdicts, or ``None`` when they cannot be read
    back consistently (they do not combine to the check's verdict)."""
    if result.explanation.startswith(NO_EVIDENCE):
        return [Part("evidence", Verdict.INCONCLUSIVE, result.explanation)]
    recorded = getattr(result, "parts", None)  # the check's own sub-criteria (issue 12)
    reader = (
        (lambda r: [Part(p["label"], Verdict(p["verdict"]), p["note"]) for p in recorded])
        if recorded
        else READERS.get(result.item)
    )
    if reader is None:
        return None
    try:
        parts = reader(result)
    except (KeyError, TypeError, ValueError):
        return None
    if not parts or combine([p.verdict for p in parts]) is not Verdict(str(result.verdict)):
        return None
    return parts


def decided_by(result: CheckResult) -> str:
    """One line for the verdict table: the part(s) that decided the verdict, then the others.

    FAIL: the failing parts (two named, the rest counted); INCONCLUSIVE: the undecided parts;
    PASS: every part; a check without evidence: its own explanation.
    """
    parts = parts_of(result)
    if parts is None:
        return f"{result.explanation} (sub-criteria not attributed)"
    verdict = Verdict(str(result.verdict))
    if result.explanation.startswith(NO_EVIDENCE):
        return result.explanation
    if verdict is Verdict.PASS:
        if len(parts) == 1:
            return f"{parts[0].label}: {parts[0].note}"
        return f"all {len(parts)} parts pass: " + "; ".join(p.label for p in parts)
    deciding = [p for p in parts if p.verdict is verdict]
    text = "; ".join(f"{p.label} → {verdict}: {p.note}" for p in deciding[:2])
    if len(deciding) > 2:
        text += f" (+{len(deciding) - 2} more {verdict})"
    others = [p for p in parts if p.verdict is not verdict]
    if others:
        counts = {}
        for p in others:
            counts[str(p.verdict)] = counts.get(str(p.verdict), 0) + 1
        text += "; other parts: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
    return text
