"""Check results: a verdict computed from evidence, with the numbers and files it read."""

from __future__ import annotations

import enum
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path


class Verdict(str, enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"

    def __str__(self) -> str:
        return self.value


def part(label: str, verdict: Verdict, note: str) -> dict:
    """One sub-criterion of a check as :attr:`CheckResult.parts` stores it."""
    return {"label": label, "verdict": str(verdict), "note": note}


def combine(parts: list[Verdict]) -> Verdict:
    """Verdict of a prediction made of several parts: any FAIL fails it; all PASS passes it;
    otherwise (a part without evidence or undecided) it is INCONCLUSIVE."""
    if not parts:
        return Verdict.INCONCLUSIVE
    if Verdict.FAIL in parts:
        return Verdict.FAIL
    if all(p is Verdict.PASS for p in parts):
        return Verdict.PASS
    return Verdict.INCONCLUSIVE


@dataclass
class Evidence:
    """A file a check read, with its SHA-256 (``None`` when it was absent)."""

    path: str
    sha256: str | None

    @classmethod
    def of(cls, path: str | os.PathLike) -> Evidence:
        from locent.provenance import file_sha256

        p = Path(path)
        return cls(str(p), file_sha256(p) if p.is_file() else None)


@dataclass
class CheckResult:
    """One prediction of THEORY.md §7 judged on the evidence."""

    item: int
    name: str
    statement: str
    criterion: str
    verdict: Verdict
    explanation: str
    numbers: dict = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    #: the check's declared parameters (:class:`CheckParams` as a dict; added for issue 12)
    parameters: dict = field(default_factory=dict)
    #: per sub-check, the smallest effect its test detects with 80% power at α (issue 12)
    power: dict = field(default_factory=dict)
    #: the sub-criteria as the check decided them: ``{"label", "verdict", "note"}`` each; the
    #: verdict is :func:`combine` of theirs (issue 12; empty when the check found no evidence)
    parts: list[dict] = field(default_factory=list)
    #: real-data checks: fraction of query-bootstrap / leave-one-seed-out re-judgements that
    #: agree with the verdict (:mod:`.stability`; None where not computed: simulation checks,
    #: no evidence, or a file written before issue 12 item 9)
    stability: float | None = None
    #: stability below the declared threshold (0.9): the verdict hangs on a few queries or seeds
    fragile: bool = False

    def to_dict(self) -> dict:
        d = asdict(self)
        d["verdict"] = str(self.verdict)
        return d


@dataclass(frozen=True)
class CheckParams:
    """The declared parameters of a check (ir_measures style: ``exact_statements(α=0.05, ...)``).

    ``alpha``: level of every test; ``margin``: non-inferiority / equivalence margin in the units
    of the effect; ``resamples`` and ``seed``: bootstrap, permutation and power simulations;
    ``min_effect``: the minimal effect of interest, i.e. the effect the prediction implies (a
    test powered for it and still not significant FAILs the prediction); ``power``: the power at
    which the detectable effect is stated. The criterion text is rendered from these values.
    """

    alpha: float = 0.05
    margin: float | None = None
    resamples: int = 2000
    seed: int = 0
    min_effect: float | None = None
    power: float = 0.8

    def __repr__(self) -> str:
        parts = [f"α={self.alpha:g}"]
        if self.margin is not None:
            parts.append(f"margin={self.margin:g}")
        parts.append(f"resamples={self.resamples}")
        parts.append(f"seed={self.seed}")
        if self.min_effect is not None:
            parts.append(f"min_effect={self.min_effect:g}")
        parts.append(f"power={self.power:g}")
        return ", ".join(parts)


class MissingEvidence(Exception):
    """Raised by a check's loader when a result file it needs is absent (→ INCONCLUSIVE)."""
