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

    def to_dict(self) -> dict:
        d = asdict(self)
        d["verdict"] = str(self.verdict)
        return d


class MissingEvidence(Exception):
    """Raised by a check's loader when a result file it needs is absent (→ INCONCLUSIVE)."""
