"""Students: trainable scorers f(q, x) behind one interface, ``score(batch) -> (B, k)``.

Two families:

- ``frozen``: a small trainable head over **frozen** encoder embeddings (unit-norm query vector
  q ∈ R^D and item vectors x ∈ R^D, read from the encoder cache). Fast on CPU; the default.

  * ``bi`` (bilinear / bi-encoder): f(q, x) = ⟨A q, B x⟩ = ⟨AᵀB, q xᵀ⟩_F. It is **linear** in
    the weight matrix w = AᵀB with feature ϕ(q, x) = q ⊗ x, so Theorem 2.1 (iii) applies with
    W = ‖AᵀB‖_F and Λ = ‖q‖₂ = 1 (‖ϕ(q,x) − ϕ(q,x')‖ = ‖q‖·‖x − x'‖). Lipschitz constant in x:
    L = ‖BᵀA q‖₂ ≤ σ_max(A) σ_max(B).
  * ``cross`` (cross-encoder style MLP): f(q, x) = w₂ᵀ relu(W₁ [q, x, q⊙x] + b₁) + b₂. In x the
    input map has Jacobian [0; I; diag(q)] of spectral norm √(1 + ‖q‖²_∞) ≤ √2, relu is
    1-Lipschitz, so L ≤ ‖w₂‖₂ σ_max(W₁) √2. It is not linear in its weights, so Theorem (iii) is
    evaluated for it with W·Λ replaced by this spectral-norm product (a heuristic, flagged).

- ``transformer``: any HF encoder fine-tuned as a bi-encoder (CLS or mean pooling, dot product,
  optional in-batch negatives) or a cross-encoder (one logit from the CLS vector). Offline default
  backbone: the BERT-tiny encoder inside ``../shared/models/splade-tiny`` (its MLM head is
  ignored). Max lengths: query 30 tokens, passage 200 tokens (as in the paper).

Inputs (:class:`Batch`):

| field | shape | used by |
|---|---|---|
| ``teacher`` | (B, k) float | losses (not the student) |
| ``valid`` | (B, k) bool or None | padded candidate lists at evaluation |
| ``q_emb`` | (B, D) | frozen |
| ``x_emb`` | (B, k, D) | frozen |
| ``q_text`` | list of B str | transformer |
| ``x_text`` | list of B lists of k str | transformer |
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import nn

from locent.resources import shared_models_dir

#: Paper maximum lengths (tokens).
MAX_QUERY_LENGTH = 30
MAX_PASSAGE_LENGTH = 200


def default_backbone() -> Path:
    """The offline default backbone folder: ``<shared models>/splade-tiny``
    (:func:`locent.resources.shared_models_dir`, honouring ``LOCENT_SHARED_MODELS``)."""
    return shared_models_dir() / "splade-tiny"


@dataclass
class Batch:
    """One batch of B groups of k items (see the module docstring for shapes)."""

    teacher: torch.Tensor
    valid: torch.Tensor | None = None
    q_emb: torch.Tensor | None = None
    x_emb: torch.Tensor | None = None
    q_text: list[str] | None = None
    x_text: list[list[str]] | None = None
    extra: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(self.teacher.shape[0])

    @property
    def k(self) -> int:
        return int(self.teacher.shape[1])

    def to(self, device) -> Batch:
        move = lambda t: None if t is None else t.to(device, non_blocking=True)  # noqa: E731
        return replace(
            self,
            teacher=move(self.teacher),
            valid=move(self.valid),
            q_emb=move(self.q_emb),
            x_emb=move(self.x_emb),
        )


class Student(nn.Module):
    """Base class: ``score(batch) -> (B, k)`` scores f(q, x) for each item of each group."""

    family: str = ""
    arch: str = ""

    def score(self, batch: Batch) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, batch: Batch, in_batch: bool = False) -> torch.Tensor:
        """``score(batch)``; with ``in_batch`` the (B, B·k) in-batch scores (bi-encoders only).

        Training calls the student through ``forward`` so a DDP wrapper sees every pass.
        """
        return self.score_in_batch(batch) if in_batch else self.score(batch)

    def score_in_batch(self, batch: Batch) -> torch.Tensor:
        raise ValueError(f"{type(self).__name__} has no in-batch scoring")

    def lipschitz_bound(self) -> float | None:
        """An upper bound on the Lipschitz constant of x ↦ f(q, x) (chordal metric), or None."""
        return None

    def linear_constants(self) -> tuple[float, float] | None:
        """(W, Λ) of Theorem 2.1 (iii), or None when the student is not of that form."""
        return None


def _check_frozen(batch: Batch, dim: int) -> None:
    if batch.q_emb is None or batch.x_emb is None:
        raise ValueError("frozen students need batch.q_emb (B, D) and batch.x_emb (B, k, D)")
    if batch.q_emb.ndim != 2 or batch.x_emb.ndim != 3:
        raise ValueError(
            f"q_emb must be (B, D) and x_emb (B, k, D); got {tuple(batch.q_emb.shape)} and "
            f"{tuple(batch.x_emb.shape)}"
        )
    if batch.q_emb.shape[-1] != dim or batch.x_emb.shape[-1] != dim:
        raise ValueError(
            f"embedding dimension must be {dim}; got q {batch.q_emb.shape[-1]}, "
            f"x {batch.x_emb.shape[-1]}"
        )


def _spectral_norm(matrix: torch.Tensor) -> float:
    return float(torch.linalg.matrix_norm(matrix.detach().double(), ord=2))


class FrozenBilinear(Student):
    """f(q, x) = ⟨A q, B x⟩ over frozen embeddings; A, B ∈ R^{p×D} (start equal, orthonormal).

    With A = B orthonormal and p = D the initial score is the encoder's cosine similarity, so
    training starts from the encoder's own ranking; ``scale`` multiplies the initial projections.
    """

    family = "frozen"
    arch = "bi"

    def __init__(self, dim: int, proj_dim: int | None = None, scale: float = 1.0):
        super().__init__()
        proj_dim = proj_dim or dim
        init = torch.empty(proj_dim, dim)
        nn.init.orthogonal_(init)
        init = init * math.sqrt(scale)
        self.dim = dim
        self.query_proj = nn.Parameter(init.clone())
        self.item_proj = nn.Parameter(init.clone())

    def score(self, batch: Batch) -> torch.Tensor:
        _check_frozen(batch, self.dim)
        q = batch.q_emb @ self.query_proj.T  # (B, p)
        x = batch.x_emb @ self.item_proj.T  # (B, k, p)
        return torch.einsum("bp,bkp->bk", q, x)

    def weight_matrix(self) -> torch.Tensor:
        """w = AᵀB (D × D): f(q, x) = qᵀ w x."""
        return (self.query_proj.T @ self.item_proj).detach()

    def lipschitz_bound(self) -> float:
        return _spectral_norm(self.weight_matrix())

    def linear_constants(self) -> tuple[float, float]:
        # ‖q ⊗ x − q ⊗ x'‖ = ‖q‖ ‖x − x'‖ and queries are unit-norm: Λ = 1.
        return float(torch.linalg.matrix_norm(self.weight_matrix().double())), 1.0


class FrozenCrossMLP(Student):
    """f(q, x) = w₂ᵀ relu(W₁ [q, x, q⊙x] + b₁) + b₂ over frozen embeddings (cross-encoder style)."""

    family = "frozen"
    arch = "cross"

    def __init__(self, dim: int, hidden: int = 256):
        super().__init__()
        self.dim = dim
        self.hidden = nn.Linear(3 * dim, hidden)
        self.out = nn.Linear(hidden, 1)

    def score(self, batch: Batch) -> torch.Tensor:
        _check_frozen(batch, self.dim)
        x = batch.x_emb
        q = batch.q_emb.unsqueeze(1).expand_as(x)
        h = torch.relu(self.hidden(torch.cat([q, x, q * x], dim=-1)))
        return self.out(h).squeeze(-1)

    def lipschitz_bound(self) -> float:
        # Jacobian of x ↦ [q, x, q⊙x] is [0; I; diag(q)]: norm √(1 + ‖q‖∞²) ≤ √2 for unit q.
        return _spectral_norm(self.out.weight) * _spectral_norm(self.hidden.weight) * math.sqrt(2)


class TransformerStudent(Student):
    """An HF encoder fine-tuned as a bi-encoder (``bi``) or a cross-encoder (``cross``).

    bi: f(q, x) = ⟨pool(E(q)), pool(E(x))⟩ with ``pooling`` ``cls`` or ``mean``.
    cross: f(q, x) = wᵀ E([CLS] q [SEP] x [SEP])_CLS + b.

    ``dropout``: the encoder's hidden and attention dropout probability (None: the backbone's
    own). 0 makes a training step a deterministic function of its batch, which is what lets the
    same global batch split over several processes give the loss curve of one process.
    """

    family = "transformer"

    def __init__(
        self,
        arch: str = "cross",
        backbone: str | os.PathLike | None = None,
        pooling: str = "cls",
        in_batch_negatives: bool = False,
        max_query_length: int = MAX_QUERY_LENGTH,
        max_passage_length: int = MAX_PASSAGE_LENGTH,
        dropout: float | None = None,
    ):
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        if arch not in ("bi", "cross"):
            raise ValueError(f"transformer arch must be 'bi' or 'cross'; got {arch!r}")
        if pooling not in ("cls", "mean"):
            raise ValueError(f"pooling must be 'cls' or 'mean'; got {pooling!r}")
        if in_batch_negatives and arch != "bi":
            raise ValueError("in-batch negatives need a bi-encoder (arch='bi')")
        if dropout is not None and not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1); got {dropout}")
        backbone = str(backbone or default_backbone())
        self.arch = arch
        self.backbone_name = backbone
        self.pooling = pooling
        self.in_batch_negatives = in_batch_negatives
        self.max_query_length = max_query_length
        self.max_passage_length = max_passage_length
        self.tokenizer = AutoTokenizer.from_pretrained(backbone)
        # AutoModel on a *ForMaskedLM checkpoint loads the encoder and drops the MLM head.
        overrides = (
            {}
            if dropout is None
            else {"hidden_dropout_prob": dropout, "attention_probs_dropout_prob": dropout}
        )
        self.encoder = AutoModel.from_pretrained(backbone, add_pooling_layer=False, **overrides)
        if arch == "cross":
            self.head = nn.Linear(self.encoder.config.hidden_size, 1)

    def _device(self) -> torch.device:
        return next(self.parameters()).device

    def _tokens(self, texts: list[str], max_length: int) -> list[list[int]]:
        enc = self.tokenizer(
            texts, add_special_tokens=False, truncation=True, max_length=max_length
        )
        return enc["input_ids"]

    def _pad(self, features: list[dict]) -> dict[str, torch.Tensor]:
        padded = self.tokenizer.pad(features, return_tensors="pt")
        return {name: t.to(self._device()) for name, t in padded.items()}

    def _special(self, first: list[int], second: list[int] | None = None) -> dict:
        """[CLS] first [SEP] (second [SEP]) with token types 0/1 (BERT/ELECTRA layout)."""
        cls_id, sep_id = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        if cls_id is None or sep_id is None:
            raise ValueError(f"backbone {self.backbone_name!r} has no [CLS]/[SEP] tokens")
        ids = [cls_id, *first, sep_id]
        types = [0] * len(ids)
        if second is not None:
            ids += [*second, sep_id]
            types += [1] * (len(second) + 1)
        return {"input_ids": ids, "token_type_ids": types, "attention_mask": [1] * len(ids)}

    def _encode(self, texts: list[str], max_length: int) -> torch.Tensor:
        enc = self._pad([self._special(t) for t in self._tokens(texts, max_length)])
        hidden = self.encoder(**enc).last_hidden_state  # (N, T, H)
        if self.pooling == "cls":
            return hidden[:, 0]
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)

    def _check(self, batch: Batch) -> tuple[int, int]:
        if batch.q_text is None or batch.x_text is None:
            raise ValueError("transformer students need batch.q_text and batch.x_text")
        b, k = len(batch.q_text), len(batch.x_text[0]) if batch.x_text else 0
        if len(batch.x_text) != b or any(len(row) != k for row in batch.x_text):
            raise ValueError(f"x_text must be B={b} lists of k={k} passages")
        return b, k

    def score(self, batch: Batch) -> torch.Tensor:
        b, k = self._check(batch)
        flat = [p for row in batch.x_text for p in row]
        if self.arch == "bi":
            q = self._encode(batch.q_text, self.max_query_length)  # (B, H)
            x = self._encode(flat, self.max_passage_length).view(b, k, -1)
            return torch.einsum("bh,bkh->bk", q, x)
        q_ids = self._tokens(batch.q_text, self.max_query_length)
        p_ids = self._tokens(flat, self.max_passage_length)
        feats = [self._special(q_ids[i // k], p) for i, p in enumerate(p_ids)]
        enc = self._pad(feats)
        cls = self.encoder(**enc).last_hidden_state[:, 0]
        return self.head(cls).view(b, k)

    def score_in_batch(self, batch: Batch) -> torch.Tensor:
        """Bi-encoder scores of every query against every item of the batch: (B, B·k).

        Query i's own group occupies columns i·k ... i·k + k − 1 (its positive at column i·k).
        """
        if self.arch != "bi":
            raise ValueError("in-batch scoring needs a bi-encoder")
        b, k = self._check(batch)
        q = self._encode(batch.q_text, self.max_query_length)
        x = self._encode([p for row in batch.x_text for p in row], self.max_passage_length)
        return q @ x.T


#: the student families :func:`build_student` builds, and their architectures
FAMILIES = ("frozen", "transformer")
ARCHS = ("bi", "cross")


def build_student(family: str, arch: str = "bi", dim: int | None = None, **options) -> Student:
    """Construct a student: ``family`` ``frozen`` (needs ``dim``) or ``transformer``."""
    if family == "frozen":
        if dim is None:
            raise ValueError("frozen students need the embedding dimension `dim`")
        if arch == "bi":
            return FrozenBilinear(
                dim, proj_dim=options.get("proj_dim"), scale=options.get("scale", 1.0)
            )
        if arch == "cross":
            return FrozenCrossMLP(dim, hidden=options.get("hidden", 256))
        raise ValueError(f"frozen arch must be 'bi' or 'cross'; got {arch!r}")
    if family == "transformer":
        return TransformerStudent(arch=arch, **options)
    raise ValueError(f"student family must be 'frozen' or 'transformer'; got {family!r}")
