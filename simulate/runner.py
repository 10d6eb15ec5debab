"""The simulate stage: run a preset's chunks (atomic files, resume), then its table and summary.

Layout under ``<out>/simulate/<preset>/``: ``chunks/<i>-<fingerprint>.parquet`` (one per sampler,
written atomically; ``resume`` reuses those whose fingerprint matches the preset, seed, sampler
and device), ``table.parquet`` (+ ``table.provenance.json``) and ``summary.json``
(+ ``summary.provenance.json``). The same seed gives the same table (single-threaded torch,
every draw seeded from stable keys, draws on the CPU whatever the device), and the same files byte
for byte: what differs between identical runs (the table's absolute path, the wall time, how many
chunks were reused) is the run record, ``run_record.json`` beside the summary, not evidence.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pandas as pd
import torch

from locent.progress import progress
from locent.provenance import (
    atomic_write_json,
    atomic_write_parquet,
    provenance_record,
    write_with_provenance,
)
from locent.results import DEFAULT_OUT

from .analysis import summarise
from .presets import PRESETS, Preset, validate_preset
from .spaces import load_space, parse_space_id
from .sweep import run_chunk
from .teachers import make_teacher

#: keys of the dict :func:`run_preset` returns that are the run record (``run_record.json``), not
#: evidence: they differ between identical runs, so they stay out of ``summary.json``
RUN_RECORD_KEYS = ("table", "chunks_reused", "wall_time_s")


def get_preset(name: str | Preset) -> Preset:
    """The registered preset ``name`` (a :class:`Preset` passes through)."""
    if isinstance(name, Preset):
        return name
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {sorted(PRESETS)}")
    return PRESETS[name]


def simulation_device(device: str | torch.device) -> torch.device:
    """``device`` as a ``torch.device``; ValueError naming it when it is not usable here.

    ``"auto"`` is not resolved here: the simulation is bit-reproducible on the CPU only (float64
    reductions on CUDA round differently), so choosing CUDA is the caller's explicit decision.
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"simulate: unknown device {device!r} (use 'cpu' or 'cuda[:i]')") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"simulate: device {device!r} requested but CUDA is not available")
    return dev


def fingerprint(preset: Preset, seed: int, index: int, device: torch.device) -> str:
    """The chunk's file key: preset, seed, chunk index and sampler (and a non-CPU device, whose
    rounding differs; CPU keys are those of earlier versions, so their chunks resume)."""
    text = f"{preset!r}|seed={seed}|chunk={index}|{preset.samplers[index].label}"
    if device.type != "cpu":
        text += f"|device={device.type}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_preset(
    preset: str | Preset,
    out: str | Path = DEFAULT_OUT,
    *,
    seed: int = 0,
    device: str | torch.device = "cpu",
    resume: bool = False,
) -> dict:
    """Run (or resume) ``preset`` under ``out``; returns the summary dict (``summary.json``).

    ``preset``: a registered name (``smoke``, ``paper``) or a :class:`Preset`; ``seed``: the base
    seed of every draw; ``device``: where students train and are verified (``cpu``, the
    reproducible default, or ``cuda``); ``resume``: reuse finished chunk files.
    Besides the statistics of ``analysis.summarise`` the dict holds ``preset``, ``seed`` and
    ``chunks`` (all three also in ``summary.json``) and the run record :data:`RUN_RECORD_KEYS`:
    ``table`` (path of ``table.parquet``), ``chunks_reused`` and ``wall_time_s`` (written to
    ``run_record.json``, not to ``summary.json``, whose sha256 is quoted as evidence).
    """
    p = get_preset(preset)
    validate_preset(p)
    dev = simulation_device(device)
    root = Path(out) / "simulate" / p.name
    chunk_dir = root / "chunks"
    chunk_dir.mkdir(parents=True, exist_ok=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # deterministic reductions; 2 loaded cores gain nothing from 2
    start = time.perf_counter()
    reused = 0
    try:
        space = load_space(p.space_id, p.space_seed)
        teacher = make_teacher(space.queries, seed=p.space_seed, **p.teacher)
        frames = []
        bar = progress(range(len(p.samplers)), desc=f"simulate {p.name}", unit="sampler")
        for i in bar:  # one chunk per sampler: the unit of resume
            path = chunk_dir / f"{i:02d}-{fingerprint(p, seed, i, dev)}.parquet"
            if resume and path.exists():
                frames.append(pd.read_parquet(path))
                reused += 1
                continue
            df = run_chunk(p, space, teacher, p.samplers[i], seed, dev)
            atomic_write_parquet(df, path)
            frames.append(df)
    finally:
        torch.set_num_threads(threads)
    table = pd.concat(frames, ignore_index=True)
    table_path = root / "table.parquet"
    fields = dict(
        preset=p.name,
        seed=int(seed),
        space_id=p.space_id,
        teacher=p.teacher,
        samplers=[s.label for s in p.samplers],
        preset_repr=repr(p),
        device=str(dev),
    )
    write_with_provenance(table, table_path, **fields)
    _, sp = parse_space_id(p.space_id)
    summary = summarise(
        table, delta=p.delta, family=p.locality_family, n_items=sp["N"], seed=int(seed)
    )
    summary.update(preset=p.name, seed=int(seed), chunks=len(p.samplers))
    atomic_write_json(root / "summary.json", summary)
    atomic_write_json(
        root / "summary.provenance.json", provenance_record(artefact="summary.json", **fields)
    )
    record = dict(
        table=str(table_path),
        chunks_reused=reused,
        wall_time_s=round(time.perf_counter() - start, 2),
    )
    atomic_write_json(root / "run_record.json", record)
    return {**summary, **record}
