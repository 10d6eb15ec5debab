"""Spaces: registry, counts, golden samples at a fixed seed, bad IDs."""

from __future__ import annotations

import numpy as np
import pytest
from locent.simulate.spaces import (
    REGISTERED,
    canonical_space_id,
    list_spaces,
    load_space,
    parse_space_id,
)

GOLDEN = {
    # id: (items[0, :3], items[-1, -2:], query_items[:5]) at seed 0
    "sphere-uniform/D=8/N=300/Q=120": (
        [0.7644201701848611, -0.3359547963731197, -0.02821551075468383],
        [0.3407632214883669, -0.5851773348818945],
        [1, 3, 4, 6, 9],
    ),
    "sphere-vmf/D=8/N=300/Q=120/K=4/kappa=20.0": (
        [-0.6398444283901357, -0.22538482196633802, 0.3658714196838023],
        [0.0045995754056730115, 0.023082556988314133],
        [3, 4, 5, 8, 9],
    ),
    "gauss-mixture/D=8/N=300/Q=120/K=4/sigma=0.5": (
        [-0.1882104345928864, 0.1686840210494733, 0.10674261712946924],
        [-0.7627805342324432, -0.13979727683518123],
        [2, 3, 7, 9, 11],
    ),
    "sphere-uniform/D=16/N=1000/Q=400": (
        [-0.3812856071575467, 0.17883491005917235, -0.008095810882044304],
        [-0.10633524093230581, -0.17878011563153084],
        [1, 2, 4, 6, 8],
    ),
    "sphere-vmf/D=16/N=1000/Q=400/K=8/kappa=20.0": (
        [-0.16273496239553334, -0.319133431862214, 0.07124570219266012],
        [-0.2630078526343794, 0.003915053516851813],
        [4, 5, 10, 11, 14],
    ),
    "gauss-mixture/D=16/N=1000/Q=400/K=8/sigma=0.5": (
        [0.21673304121731835, 0.10601267493104688, -0.5630034895280357],
        [-0.0859581431617759, 0.22230881708193076],
        [1, 3, 5, 8, 11],
    ),
}


@pytest.mark.parametrize("space_id", REGISTERED)
def test_counts_and_unit_norm(space_id):
    _, p = parse_space_id(space_id)
    sp = load_space(space_id, seed=0)
    assert sp.items.shape == (p["N"], p["D"])
    assert sp.queries.shape == (p["Q"], p["D"])
    assert len(np.unique(sp.query_items)) == p["Q"]
    np.testing.assert_array_equal(sp.queries, sp.items[sp.query_items])
    np.testing.assert_allclose(np.linalg.norm(sp.items, axis=1), 1.0, atol=1e-12)
    assert sp.space_id == canonical_space_id(space_id)
    if "K" in p:
        assert sp.cluster.max() < p["K"]


@pytest.mark.parametrize("space_id", sorted(GOLDEN))
def test_golden_samples(space_id):
    head, tail, queries = GOLDEN[space_id]
    sp = load_space(space_id, seed=0)
    np.testing.assert_allclose(sp.items[0, :3], head, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sp.items[-1, -2:], tail, rtol=0, atol=1e-12)
    assert sp.query_items[:5].tolist() == queries


def test_deterministic_and_seed_dependent():
    a = load_space("sphere-uniform/D=4/N=50/Q=10", seed=3)
    b = load_space("sphere-uniform/D=4/N=50/Q=10", seed=3)
    c = load_space("sphere-uniform/D=4/N=50/Q=10", seed=4)
    np.testing.assert_array_equal(a.items, b.items)
    assert not np.array_equal(a.items, c.items)


def test_defaults_fill_canonical_id():
    assert canonical_space_id("sphere-uniform") == "sphere-uniform/D=16/N=1000/Q=400"
    assert len(list_spaces()) == len(REGISTERED)


@pytest.mark.parametrize(
    "bad, match",
    [
        ("", "non-empty"),
        ("cube/D=3", "unknown family"),
        ("sphere-uniform/D=x", "not int"),
        ("sphere-uniform/Z=3", "bad parameter"),
        ("sphere-uniform/D=1", "D=1"),
        ("sphere-uniform/N=10/Q=11", "Q=11"),
        ("sphere-vmf/kappa=-1", "kappa"),
    ],
)
def test_bad_ids(bad, match):
    with pytest.raises(ValueError, match=match):
        parse_space_id(bad)
