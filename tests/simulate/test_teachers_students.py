"""Teachers: stated Lipschitz constant never exceeded. Students: feature map, Λ, projection."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from locent.simulate.spaces import load_space
from locent.simulate.students import (
    feature_lipschitz,
    features,
    project_,
    student_scores,
)
from locent.simulate.teachers import make_teacher, teacher_scores


@pytest.fixture(scope="module")
def space():
    return load_space("sphere-vmf/D=6/N=200/Q=60/K=3/kappa=10.0", seed=1)


@pytest.mark.parametrize(
    "params", [dict(), dict(a=2.0, b=3.0, omega=8.0, n_proj=16), dict(a=-1.0, b=0.5)]
)
def test_teacher_lipschitz_never_exceeded(space, params):
    teacher = make_teacher(space.queries, seed=2, **params)
    rng = np.random.default_rng(0)
    Q, D = space.queries.shape
    qi = rng.integers(0, Q, 4000)
    x = rng.standard_normal((4000, 2, D))
    # far pairs, and very close pairs where the local slope matters most
    x[2000:, 1] = x[2000:, 0] + 1e-4 * rng.standard_normal((2000, D))
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    g = teacher_scores(teacher, space.queries[qi], x)
    d = np.linalg.norm(x[:, 0] - x[:, 1], axis=-1)
    ratio = np.abs(g[:, 0] - g[:, 1]) / d
    assert ratio.max() <= teacher.lipschitz
    # the constant is an honest bound, not an arbitrarily large number
    assert ratio.max() > 0.2 * teacher.lipschitz


def test_teacher_numpy_torch_agree(space):
    teacher = make_teacher(space.queries, seed=0)
    x = space.items[None, :10].repeat(3, 0)
    g_np = teacher_scores(teacher, space.queries[:3], x)
    g_t = teacher_scores(teacher, torch.as_tensor(space.queries[:3]), torch.as_tensor(x))
    np.testing.assert_allclose(g_t.numpy(), g_np, rtol=1e-13, atol=1e-13)


def test_teacher_bad_parameters(space):
    with pytest.raises(ValueError, match="n_proj"):
        make_teacher(space.queries, n_proj=0)
    with pytest.raises(ValueError, match="omega"):
        make_teacher(space.queries, omega=float("nan"))


def test_feature_lipschitz_and_scores(space):
    rng = np.random.default_rng(1)
    Lam = feature_lipschitz(space.queries)
    qi = rng.integers(0, len(space.queries), 500)
    pairs = space.items[rng.integers(0, len(space.items), (500, 2))]
    phi = features(space.queries[qi], pairs)
    lhs = np.linalg.norm(phi[:, 0] - phi[:, 1], axis=-1)
    d = np.linalg.norm(pairs[:, 0] - pairs[:, 1], axis=-1)
    assert np.all(lhs <= Lam * d + 1e-12)
    # batched scores = <w, phi(q, x)>
    w = torch.as_tensor(rng.standard_normal((2, 3, 2 * space.items.shape[1])))
    q = torch.as_tensor(space.queries[qi[:8]]).expand(2, 8, -1)
    x = torch.as_tensor(space.items[rng.integers(0, 200, (8, 5))]).expand(2, 8, 5, -1)
    ref = torch.einsum("sap,snkp->sank", w, features(q, x))
    torch.testing.assert_close(student_scores(w, q, x), ref, rtol=1e-12, atol=1e-12)


def test_projection():
    w = torch.tensor([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]], dtype=torch.float64)
    project_(w, 1.0)
    torch.testing.assert_close(w.norm(dim=-1), torch.tensor([1.0, 0.5, 0.0], dtype=torch.float64))
