"""Synthetic metric-measure spaces registered under string IDs (ir_datasets style).

A space is a finite corpus of ``N`` items ``x_1..x_N`` in ℝ^D and a query pool of ``Q`` items
drawn (without replacement) from that corpus; ``P_Q`` is uniform over the pool. The metric is the
Euclidean distance, which on the unit sphere is the chordal distance d(x, x') = ‖x − x'‖₂ ∈ [0, 2]
(THEORY.md §1).

Families (declared parameters in brackets, defaults in ``FAMILIES``):

- ``sphere-uniform/D=../N=../Q=..``: items uniform on S^{D−1} (normalised standard normals).
- ``sphere-vmf/D=../N=../Q=../K=../kappa=..``: a mixture of K von Mises–Fisher clusters on
  S^{D−1} (uniform cluster weights, concentration ``kappa``; scipy.stats.vonmises_fisher).
- ``gauss-mixture/D=../N=../Q=../K=../sigma=..``: a mixture of K isotropic Gaussians in ℝ^D
  (centres ~ N(0, I), per-cluster std ``sigma``), each item represented by its direction x/‖x‖
  (a projected-normal mixture). THEORY.md §1 fixes the metric as the chordal distance of
  unit-norm embeddings and ``locent.theory.essential_diameter`` normalises along the embedding
  axis, so every space here lives on the sphere; a raw-Euclidean variant would need a theory
  estimator without normalisation (requested from the theory part).

An ID is ``family/key=value/...``; omitted keys take the family defaults and the canonical ID
lists every key in declared order. ``load_space(space_id, seed)`` is deterministic in
``(canonical id, seed)``.
"""

from __future__ import annotations

import zlib
from typing import NamedTuple

import numpy as np
from scipy.stats import vonmises_fisher


class SpaceFamily(NamedTuple):
    """A family of spaces: name, declared parameters with defaults and types, description."""

    name: str
    params: dict
    description: str


class Space(NamedTuple):
    """A finite metric-measure space.

    Inputs / fields:
        space_id: canonical ID (all declared parameters).
        items: ``(N, D)`` float64 corpus embeddings.
        query_items: ``(Q,)`` int64 corpus indices of the query pool.
        queries: ``(Q, D)`` float64, ``items[query_items]``.
        cluster: ``(N,)`` int64 cluster label of each item (all zeros for one-cluster spaces).
        unit_norm: whether all items lie on the unit sphere.
        seed: the seed the space was drawn with.
    """

    space_id: str
    items: np.ndarray
    query_items: np.ndarray
    queries: np.ndarray
    cluster: np.ndarray
    unit_norm: bool
    seed: int


FAMILIES: dict[str, SpaceFamily] = {
    "sphere-uniform": SpaceFamily(
        "sphere-uniform",
        {"D": 16, "N": 1000, "Q": 400},
        "uniform points on the unit sphere S^{D-1}",
    ),
    "sphere-vmf": SpaceFamily(
        "sphere-vmf",
        {"D": 16, "N": 1000, "Q": 400, "K": 8, "kappa": 20.0},
        "mixture of K von Mises-Fisher clusters on S^{D-1}",
    ),
    "gauss-mixture": SpaceFamily(
        "gauss-mixture",
        {"D": 16, "N": 1000, "Q": 400, "K": 8, "sigma": 0.5},
        "mixture of K isotropic Gaussians in R^D (centres ~ N(0, I))",
    ),
}

#: Registered IDs (``locent simulate --list``); any other valid parameterisation also loads.
REGISTERED: tuple[str, ...] = (
    "sphere-uniform/D=8/N=300/Q=120",
    "sphere-uniform/D=16/N=1000/Q=400",
    "sphere-vmf/D=8/N=300/Q=120/K=4/kappa=20.0",
    "sphere-vmf/D=16/N=1000/Q=400/K=8/kappa=20.0",
    "gauss-mixture/D=8/N=300/Q=120/K=4/sigma=0.5",
    "gauss-mixture/D=16/N=1000/Q=400/K=8/sigma=0.5",
)


def parse_space_id(space_id: str) -> tuple[str, dict]:
    """``'family/k=v/...'`` → ``(family, params)`` with defaults filled and types checked.

    Raises ValueError naming the ID and the offending key or value.
    """
    if not isinstance(space_id, str) or not space_id:
        raise ValueError(f"space id must be a non-empty string, got {space_id!r}")
    family, *parts = space_id.split("/")
    if family not in FAMILIES:
        raise ValueError(
            f"space id {space_id!r}: unknown family {family!r}; known: {sorted(FAMILIES)}"
        )
    declared = FAMILIES[family].params
    params = dict(declared)
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or key not in declared:
            raise ValueError(
                f"space id {space_id!r}: bad parameter {part!r}; declared: {list(declared)}"
            )
        kind = type(declared[key])
        try:
            params[key] = kind(value)
        except ValueError as err:
            raise ValueError(
                f"space id {space_id!r}: parameter {key}={value!r} is not {kind.__name__}"
            ) from err
    _validate(space_id, family, params)
    return family, params


def _validate(space_id: str, family: str, p: dict) -> None:
    if p["D"] < 2:
        raise ValueError(f"space id {space_id!r}: D={p['D']} must be >= 2")
    if p["N"] < 2:
        raise ValueError(f"space id {space_id!r}: N={p['N']} must be >= 2")
    if not 1 <= p["Q"] <= p["N"]:
        raise ValueError(f"space id {space_id!r}: Q={p['Q']} must be in [1, N={p['N']}]")
    if "K" in p and not 1 <= p["K"] <= p["N"]:
        raise ValueError(f"space id {space_id!r}: K={p['K']} must be in [1, N]")
    for key in ("kappa", "sigma"):
        if key in p and not p[key] > 0:
            raise ValueError(f"space id {space_id!r}: {key}={p[key]} must be > 0")


def canonical_space_id(space_id: str) -> str:
    family, params = parse_space_id(space_id)
    return "/".join([family] + [f"{k}={v}" for k, v in params.items()])


def _rng(space_id: str, seed: int, salt: str = "") -> np.random.Generator:
    # A stable integer from the ID (Python's hash() is salted per process).
    key = zlib.crc32(f"{space_id}|{salt}".encode())
    return np.random.default_rng([int(seed), key])


def _unit(v: np.ndarray) -> np.ndarray:
    # normalise along the embedding axis (last), never the item axis (THEORY.md §8).
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def load_space(space_id: str, seed: int = 0) -> Space:
    """Draw the space ``space_id`` with ``seed`` (deterministic)."""
    family, p = parse_space_id(space_id)
    cid = canonical_space_id(space_id)
    rng = _rng(cid, seed)
    D, N = p["D"], p["N"]
    if family == "sphere-uniform":
        items = _unit(rng.standard_normal((N, D)))
        cluster = np.zeros(N, dtype=np.int64)
        unit = True
    elif family == "sphere-vmf":
        centres = _unit(rng.standard_normal((p["K"], D)))
        cluster = np.sort(rng.integers(0, p["K"], size=N)).astype(np.int64)
        items = np.empty((N, D))
        for c in range(p["K"]):  # K clusters, not a per-item loop
            idx = np.flatnonzero(cluster == c)
            if idx.size:
                draw = vonmises_fisher(centres[c], p["kappa"]).rvs(idx.size, random_state=rng)
                items[idx] = np.asarray(draw).reshape(idx.size, D)
        items = _unit(items)
        unit = True
    elif family == "gauss-mixture":
        centres = rng.standard_normal((p["K"], D))
        cluster = np.sort(rng.integers(0, p["K"], size=N)).astype(np.int64)
        items = _unit(centres[cluster] + p["sigma"] * rng.standard_normal((N, D)))
        unit = True
    else:  # pragma: no cover - parse_space_id already rejected it
        raise ValueError(f"space id {space_id!r}: unknown family")
    query_items = np.sort(rng.choice(N, size=p["Q"], replace=False)).astype(np.int64)
    return Space(
        space_id=cid,
        items=items,
        query_items=query_items,
        queries=items[query_items].copy(),
        cluster=cluster,
        unit_norm=unit,
        seed=int(seed),
    )


def list_spaces() -> list[str]:
    """Registered IDs with their family description (for ``--list``)."""
    return [f"{sid}\t{FAMILIES[sid.split('/')[0]].description}" for sid in REGISTERED]
