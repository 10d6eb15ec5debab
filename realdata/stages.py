"""PLACEHOLDER so that ``locent.pipeline`` imports on this branch (wt-front); helper "realdata"
writes the real module (typed parameters = today's CLI option dests, one function per stage)
and it replaces this file at the merge. Calling a stage here raises.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PrepareParams:
    out: str
    seed: int = 0
    device: str = "auto"
    datasets: tuple[str, ...] = ("msmarco", "vaswani", "cranfield")
    queries: int | None = None
    dense_source: str | None = None
    run_queries: int | None = None


@dataclass(frozen=True)
class MeasureParams:
    out: str
    seed: int = 0
    device: str = "auto"
    datasets: tuple[str, ...] = ("msmarco", "vaswani", "cranfield")


@dataclass(frozen=True)
class GridParams:
    out: str
    seed: int = 0
    device: str = "auto"
    preset: str = "default"
    test_sets: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ReportParams:
    out: str
    preset: str = "default"


def _placeholder(params) -> None:
    raise NotImplementedError(
        f"{type(params).__name__}: locent.realdata.stages is a placeholder on this branch"
    )


prepare_stage = measure_stage = grid_stage = report_stage = _placeholder
