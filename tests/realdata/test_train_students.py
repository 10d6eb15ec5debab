"""Students: the shared interface, Lipschitz bounds that hold, Theorem (iii) constants."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from locent.realdata.students import (
    Batch,
    FrozenBilinear,
    FrozenCrossMLP,
    TransformerStudent,
    build_student,
    default_backbone,
)


def _unit(*shape):
    x = torch.randn(*shape)
    return x / x.norm(dim=-1, keepdim=True)


@pytest.fixture
def batch():
    torch.manual_seed(0)
    return Batch(teacher=torch.randn(5, 7), q_emb=_unit(5, 12), x_emb=_unit(5, 7, 12))


@pytest.mark.parametrize("arch", ["bi", "cross"])
def test_frozen_scores_shape_and_grad(arch, batch):
    torch.manual_seed(1)
    student = build_student("frozen", arch, dim=12)
    scores = student.score(batch)
    assert scores.shape == (5, 7)
    scores.sum().backward()
    assert all(p.grad is not None for p in student.parameters())


def test_bilinear_is_linear_in_q_outer_x(batch):
    torch.manual_seed(2)
    student = FrozenBilinear(12, proj_dim=6)
    with torch.no_grad():
        student.query_proj.add_(0.3 * torch.randn_like(student.query_proj))
    w = student.weight_matrix()
    direct = torch.einsum("bd,de,bke->bk", batch.q_emb, w, batch.x_emb)
    torch.testing.assert_close(student.score(batch).detach(), direct, rtol=1e-5, atol=1e-5)
    W, lam = student.linear_constants()
    assert W == pytest.approx(float(torch.linalg.matrix_norm(w.double())), rel=1e-9)
    assert lam == 1.0


@pytest.mark.parametrize("cls", [FrozenBilinear, FrozenCrossMLP])
def test_lipschitz_bound_holds(cls):
    """|f(q,x) − f(q,x')| ≤ L ‖x − x'‖ for the computed L on many random unit pairs."""
    torch.manual_seed(3)
    student = cls(12)
    with torch.no_grad():
        for p in student.parameters():
            p.add_(0.5 * torch.randn_like(p))
    q = _unit(400, 12)
    x = _unit(400, 2, 12)
    scores = student.score(Batch(teacher=torch.zeros(400, 2), q_emb=q, x_emb=x)).detach()
    ratio = (scores[:, 0] - scores[:, 1]).abs() / (x[:, 0] - x[:, 1]).norm(dim=-1)
    L = student.lipschitz_bound()
    assert float(ratio.max()) <= L * (1 + 1e-6)
    assert float(ratio.max()) > 0.05 * L  # the bound is not absurdly loose on random weights


def test_bad_inputs_name_the_problem(batch):
    student = FrozenBilinear(12)
    with pytest.raises(ValueError, match="q_emb"):
        student.score(Batch(teacher=batch.teacher))
    with pytest.raises(ValueError, match="dimension must be 12"):
        student.score(Batch(teacher=batch.teacher, q_emb=_unit(5, 8), x_emb=_unit(5, 7, 8)))
    with pytest.raises(ValueError, match="frozen arch"):
        build_student("frozen", "mlp", dim=4)
    with pytest.raises(ValueError, match="dim"):
        build_student("frozen", "bi")
    with pytest.raises(ValueError, match="family"):
        build_student("linear", "bi", dim=4)


@pytest.fixture(scope="module")
def backbone():
    path = default_backbone()
    if not (path / "config.json").exists():
        pytest.skip(f"no offline backbone at {path}")
    return path


@pytest.mark.parametrize("arch,pooling", [("cross", "cls"), ("bi", "mean"), ("bi", "cls")])
def test_transformer_student_scores_and_trains(backbone, arch, pooling):
    torch.manual_seed(0)
    student = TransformerStudent(arch=arch, backbone=backbone, pooling=pooling)
    batch = Batch(
        teacher=torch.randn(2, 3),
        q_text=["what is a cat", "how tall is everest " * 20],
        x_text=[["cats are animals", "dogs bark", "a " * 400], ["everest is 8849 m", "x", "y"]],
    )
    scores = student.score(batch)
    assert scores.shape == (2, 3) and torch.isfinite(scores).all()
    scores.sum().backward()
    assert student.encoder.embeddings.word_embeddings.weight.grad is not None
    # paper max lengths: query 30 tokens, passage 200 tokens
    q_tokens = student._tokens(batch.q_text, student.max_query_length)
    p_tokens = student._tokens(["a " * 400], student.max_passage_length)
    assert max(map(len, q_tokens)) == 30 and len(p_tokens[0]) == 200
    assert student.lipschitz_bound() is None and student.linear_constants() is None


def test_transformer_in_batch_negatives(backbone):
    torch.manual_seed(0)
    student = TransformerStudent(arch="bi", backbone=backbone, in_batch_negatives=True)
    batch = Batch(teacher=torch.zeros(2, 2), q_text=["a", "b"], x_text=[["p", "n"], ["p2", "n2"]])
    wide = student.score_in_batch(batch)
    assert wide.shape == (2, 4)
    torch.testing.assert_close(wide[0, :2], student.score(batch)[0], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="bi-encoder"):
        TransformerStudent(arch="cross", backbone=backbone, in_batch_negatives=True)
    assert np.isfinite(wide.detach().numpy()).all()


def test_transformer_trains_with_in_batch_negatives(backbone):
    from locent.realdata.features import GroupData, TextFeatures
    from locent.realdata.trainer import TrainConfig, train

    qids = np.array(["q0", "q1", "q2", "q3"], dtype=object)
    dids = np.array([[f"d{i}{j}" for j in range(3)] for i in range(4)], dtype=object)
    feats = TextFeatures(
        {q: f"query {q}" for q in qids}, {d: f"passage {d} text" for d in dids.ravel()}
    )
    data = GroupData(qids, dids, np.zeros((4, 3)), feats)
    torch.manual_seed(0)
    student = TransformerStudent(arch="bi", backbone=backbone, in_batch_negatives=True)
    result = train(student, data, TrainConfig(loss="lce", steps=2, batch_size=2), "cpu")
    assert result.completed and np.isfinite(result.logs["loss"]).all()
    # the in-batch LCE is cross-entropy over all B·k items with the own positive as target
    from locent.realdata.trainer import batch_loss

    batch = data.batch([0, 1])
    per_query, own = batch_loss(student, student, batch, TrainConfig(loss="lce", batch_size=2))
    wide = student.score_in_batch(batch)
    expected = torch.nn.functional.cross_entropy(wide, torch.tensor([0, 3]), reduction="none")
    torch.testing.assert_close(per_query, expected, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(own, student.score(batch), rtol=1e-4, atol=1e-4)


def test_transformer_dropout_override_makes_training_mode_deterministic(backbone):
    batch = Batch(teacher=torch.zeros(1, 2), q_text=["a query"], x_text=[["one passage", "two"]])
    torch.manual_seed(0)
    default = TransformerStudent(arch="cross", backbone=backbone).train()
    assert default.encoder.config.hidden_dropout_prob == pytest.approx(0.1)  # the backbone's
    assert not torch.equal(default.score(batch), default.score(batch))  # dropout draws differ
    torch.manual_seed(0)
    off = TransformerStudent(arch="cross", backbone=backbone, dropout=0.0).train()
    assert off.encoder.config.hidden_dropout_prob == 0.0
    assert off.encoder.config.attention_probs_dropout_prob == 0.0
    torch.testing.assert_close(off.score(batch), off.score(batch), rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\); got 1.5"):
        TransformerStudent(arch="cross", backbone=backbone, dropout=1.5)


def test_text_features_parquet_round_trip(tmp_path):
    from locent.realdata.features import TextFeatures

    feats = TextFeatures({"q1": "what is ü", "7": "q"}, {"d1": "passage, with\ttabs", "d2": ""})
    feats.to_parquet(tmp_path / "t.parquet")
    back = TextFeatures.from_parquet(tmp_path / "t.parquet")
    assert back.queries == feats.queries and back.docs == feats.docs
    import pandas as pd

    pd.DataFrame({"kind": ["passage"], "id": ["x"], "text": ["y"]}).to_parquet(tmp_path / "b.pq")
    with pytest.raises(ValueError, match=r"kind must be 'query' or 'doc'; found \['passage'\]"):
        TextFeatures.from_parquet(tmp_path / "b.pq")
