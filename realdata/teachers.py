"""Teachers g(q, x): real rankers whose scores label the training groups.

- :class:`SpladeTeacher` (default ``rasyosef/splade-tiny``; offline from
  ``$LOCENT_SHARED_MODELS/splade-tiny``, default ``<repo>/../shared/models/splade-tiny``):
  w(t) = max_over_tokens(log1p(relu(mlm_logits))) · attention_mask, per text, and
  g(q, x) = ⟨w_q, w_x⟩ (a dot product of vocabulary-sized vectors).
- :class:`CrossEncoderTeacher`: any HF cross-encoder (``AutoModelForSequenceClassification``;
  the logit of the relevant class, or the single logit).
- :class:`RunTeacher`: scores read from a TREC run or a score file ``{qid: {docid: score}}``
  (gzipped JSON, the authors' layout); ``use="rank"`` turns ranks into scores −rank.
  A candidate with no score is a ``ValueError`` naming the query and the doc.

Interface (all teachers): ``score(query_ids, query_texts, doc_ids, doc_texts) -> (n, k)`` float64
for ``doc_ids``/``doc_texts`` of shape ``(n, k)``, and ``score_pairs(...)`` for flat pairs.
Neural teachers cache their scores on disk (:class:`ScoreCache`), keyed by hashes of the query
text and the passage text, so a re-run scores nothing twice.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
from locent.realdata.datasets import read_trec_run
from locent.realdata.formats.teacher_files import ScoreLookup
from locent.realdata.score_cache import ScoreCache, text_key

from locent.progress import progress
from locent.resources import resolve_device, shared_models_dir

DEFAULT_TEACHER = "rasyosef/splade-tiny"


def resolve_teacher_path(name: str) -> str:
    """A local folder for ``name`` (an existing folder, or ``<shared models>/<last part>``)."""
    if Path(name).is_dir():
        return str(Path(name))
    local = shared_models_dir() / name.split("/")[-1]
    if (local / "config.json").exists():
        return str(local)
    return name


class NeuralTeacher:
    """Shared plumbing: shape checks, de-duplication, caching. Subclasses implement ``_score``."""

    name: str

    def __init__(self, name: str, cache_dir=None, batch_size: int = 64):
        self.name = name
        self.cache = ScoreCache(name, cache_dir)
        self.batch_size = int(batch_size)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def score_pairs(self, query_ids, query_texts, doc_ids, doc_texts) -> np.ndarray:
        """Scores ``(m,)`` of flat pairs (query_ids[i], doc_ids[i])."""
        query_texts, doc_texts = list(query_texts), list(doc_texts)
        if len(query_texts) != len(doc_texts):
            raise ValueError(
                f"query_texts ({len(query_texts)}) and doc_texts ({len(doc_texts)}) differ "
                "in length"
            )
        for i, (q, d) in enumerate(zip(query_texts, doc_texts, strict=True)):
            if not isinstance(q, str) or not isinstance(d, str):
                qid = list(query_ids)[i] if query_ids is not None else i
                did = list(doc_ids)[i] if doc_ids is not None else i
                raise ValueError(f"pair {i} (query {qid!r}, doc {did!r}) has no text")
        keys = [(text_key(q), text_key(d)) for q, d in zip(query_texts, doc_texts, strict=True)]
        todo = {}
        for i, key in enumerate(keys):
            if key not in self.cache.scores and key not in todo:
                todo[key] = i
        if todo:
            idx = list(todo.values())
            values = self._score([query_texts[i] for i in idx], [doc_texts[i] for i in idx])
            self.cache.update(list(todo), values)
            self.cache.flush()
        return np.fromiter((self.cache.scores[k] for k in keys), dtype=np.float64, count=len(keys))

    def score(self, query_ids, query_texts, doc_ids, doc_texts) -> np.ndarray:
        """Scores ``(n, k)`` for groups: ``doc_ids``/``doc_texts`` of shape ``(n, k)``."""
        doc_texts = np.asarray(doc_texts, dtype=object)
        if doc_texts.ndim != 2 or len(query_texts) != doc_texts.shape[0]:
            raise ValueError(
                f"doc_texts must have shape (n={len(query_texts)}, k); got {doc_texts.shape}"
            )
        n, k = doc_texts.shape
        doc_ids = np.asarray(doc_ids, dtype=object).reshape(n, k)
        flat = self.score_pairs(
            np.repeat(np.asarray(query_ids, dtype=object), k),
            np.repeat(np.asarray(query_texts, dtype=object), k),
            doc_ids.reshape(-1),
            doc_texts.reshape(-1),
        )
        return flat.reshape(n, k)


def install_support_decoder(model):
    """Replace ``model``'s output projection by a wrapper that can emit a vocabulary subset only.

    The wrapper's ``support`` attribute: ``None`` → the original ``Linear`` (V logits per token);
    a LongTensor ``(|U|,)`` of vocabulary ids → ``h @ W[U]ᵀ + b[U]``, shape ``(..., |U|)``. With
    ``capture = True`` it also keeps its input h (``captured``, shape ``(n, L, hidden)``). The
    original weights are kept (still tied to the input embeddings). Returns the wrapper, or
    ``None`` when the output projection is not a ``torch.nn.Linear`` (callers then slice full
    logits).
    """
    import torch

    class SupportDecoder(torch.nn.Module):
        def __init__(self, decoder: torch.nn.Linear):
            super().__init__()
            self.decoder = decoder
            self.support = None
            self.capture, self.captured = False, None

        def forward(self, hidden):
            if self.capture:
                self.captured = hidden
            if self.support is None:
                return self.decoder(hidden)
            bias = None if self.decoder.bias is None else self.decoder.bias[self.support]
            return torch.nn.functional.linear(hidden, self.decoder.weight[self.support], bias)

    decoder = model.get_output_embeddings()
    if not isinstance(decoder, torch.nn.Linear):
        return None
    name = next(n for n, module in model.named_modules() if module is decoder)
    parent_name, _, attr = name.rpartition(".")
    wrapper = SupportDecoder(decoder)
    setattr(model.get_submodule(parent_name) if parent_name else model, attr, wrapper)
    return wrapper


class SpladeTeacher(NeuralTeacher):
    """SPLADE: w(t) = max_tokens log1p(relu(logits)) · mask; g(q, x) = ⟨w_q, w_x⟩.

    Scoring is exact but does not build the passages' full vocabulary vectors: w_q is zero off its
    support S_q (a few dozen terms), so ⟨w_q, w_x⟩ = Σ_{v ∈ S_q} w_q[v] · max_t log1p(relu(
    h_t · W_v + b_v)) needs the MLM logits of S_q only. The output projection (128 × 30,522 per
    token for splade-tiny) is ~90% of a full passage encoding, so restricting it to the union U of
    the supports of the queries in a batch made scoring ≈ 18x faster on CPU (37 → 656
    passages/s, benchmarks/bench_realdata_models.py). Each distinct passage runs through the
    transformer once per call, whatever the number of queries it is paired with; its hidden states
    are projected onto the union of those queries' supports (8 queries × the same 64 passages:
    ≈ 2,800 pairs/s, against ≈ 400–475 with one call per query; same benchmark file).
    """

    def __init__(
        self,
        name: str = DEFAULT_TEACHER,
        device: str = "cpu",
        cache_dir=None,
        batch_size: int = 64,
        max_length: int = 256,
    ):
        import torch
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        super().__init__(name, cache_dir, batch_size)
        self.path = resolve_teacher_path(name)
        self.device = resolve_device(device)
        self.max_length = int(max_length)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.path)
            self.model = AutoModelForMaskedLM.from_pretrained(self.path).to(self.device).eval()
        except OSError as err:
            raise ValueError(f"teacher {name!r} could not be loaded from {self.path!r}") from err
        self._decoder = install_support_decoder(self.model)
        self._torch = torch

    def encode(self, texts, max_length: int | None = None, support=None):
        """SPLADE vectors ``(n, V)`` float32 on ``self.device``; with ``support`` (a LongTensor of
        vocabulary ids, shape ``(|U|,)``) only those columns, shape ``(n, |U|)``."""
        torch = self._torch
        if support is not None and self._decoder is None:
            return self.encode(texts, max_length)[:, support]
        batch = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=max_length or self.max_length,
            return_tensors="pt",
        ).to(self.device)
        if self._decoder is not None:
            self._decoder.support = support
        try:
            with torch.inference_mode():
                logits = self.model(**batch).logits
                # log1p∘relu is monotone and ≥ 0, so max_tokens(log1p(relu(l)) · mask) equals
                # log1p(relu(max over unmasked tokens of l)); one pass over the (n, L, V) logits.
                pad = batch["attention_mask"].unsqueeze(-1) == 0
                return torch.log1p(torch.relu(logits.masked_fill_(pad, -torch.inf).amax(dim=1)))
        finally:
            if self._decoder is not None:
                self._decoder.support = None

    def _score(self, query_texts, doc_texts) -> np.ndarray:
        """Scores ``(m,)`` of the pairs (query_texts[i], doc_texts[i]).

        Each distinct passage runs through the transformer once, however many queries it is
        paired with (a Cranfield universe has 20,000 pairs over 1,397 passages; MS MARCO 20,000
        over 10,190); only the support-restricted output projection is per query.
        """
        torch = self._torch
        uniq_q, q_rows = np.unique(np.asarray(query_texts, dtype=object), return_inverse=True)
        q_vecs = torch.cat(
            [self.encode(list(uniq_q[i : i + 256]), 64) for i in range(0, len(uniq_q), 256)]
        )
        uniq_d, d_rows = np.unique(np.asarray(doc_texts, dtype=object), return_inverse=True)
        # passages in length order (little padding); pairs grouped by their passage's position
        by_length = np.argsort(np.fromiter(map(len, uniq_d), np.int64, len(uniq_d)), kind="stable")
        position = np.empty(len(uniq_d), dtype=np.int64)
        position[by_length] = np.arange(len(uniq_d))
        pair_pos = position[d_rows]
        pair_order = np.argsort(pair_pos, kind="stable")
        out = np.zeros(len(doc_texts), dtype=np.float64)
        starts = range(0, len(uniq_d), self.batch_size)
        quiet = {} if len(starts) > 4 else {"disable": True}
        for start in progress(starts, desc=f"teacher {self.name}", unit="batch", **quiet):
            docs = by_length[start : start + self.batch_size]
            lo, hi = np.searchsorted(pair_pos[pair_order], [start, start + len(docs)])
            pairs = pair_order[lo:hi]
            local = torch.as_tensor(pair_pos[pairs] - start, device=self.device)
            # the batch's distinct queries on their support only: (|queries|, |U|), not
            # (|pairs|, V), since a passage may be paired with many queries
            batch_q, q_local = np.unique(q_rows[pairs], return_inverse=True)
            q_batch = q_vecs[torch.as_tensor(batch_q, device=self.device)]
            support = torch.nonzero(q_batch.abs().amax(dim=0) > 0).squeeze(1)
            q_batch = q_batch[:, support]
            q_local = torch.as_tensor(q_local, device=self.device)
            scores = torch.zeros(len(pairs), dtype=torch.float64, device=self.device)
            with torch.inference_mode():
                for part, d_vecs in self._passage_vectors(list(uniq_d[docs]), support):
                    scores += (q_batch[q_local, part] * d_vecs[local]).sum(-1).double()
            out[pairs] = scores.cpu().numpy()
        return out

    #: vocabulary ids projected at once in :meth:`_passage_vectors` (bounds n × L × chunk logits)
    support_chunk = 2048

    def _passage_vectors(self, texts, support) -> list:
        """``[(part, w[:, support[part]]), ...]``: the SPLADE vectors of ``texts`` (n passages) on
        ``support`` in slices ``part`` of at most ``support_chunk`` vocabulary ids, each
        ``(n, |part|)``.

        The transformer runs once; the output projection's input is kept and projected onto each
        chunk (the max over tokens is per column, so chunking is exact and bounds memory at
        n × L × chunk logits)."""
        torch = self._torch
        if self._decoder is None:
            return [(slice(None), self.encode(texts)[:, support])]
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.device)
        pad = batch["attention_mask"].unsqueeze(-1) == 0
        self._decoder.support = support[:0]
        self._decoder.capture = True
        vectors = []
        try:
            with torch.inference_mode():
                self.model(**batch)
                hidden = self._decoder.captured
                weight, bias = self._decoder.decoder.weight, self._decoder.decoder.bias
                for begin in range(0, len(support), self.support_chunk):
                    part = slice(begin, begin + self.support_chunk)
                    columns = support[part]
                    logits = torch.nn.functional.linear(
                        hidden, weight[columns], None if bias is None else bias[columns]
                    )
                    # max_t log1p(relu(l)) · mask = log1p(relu(max over unmasked t of l))
                    top = logits.masked_fill_(pad, -torch.inf).amax(dim=1)
                    vectors.append((part, torch.log1p(torch.relu(top))))
        finally:
            self._decoder.support, self._decoder.capture = None, False
            self._decoder.captured = None
        return vectors


class CrossEncoderTeacher(NeuralTeacher):
    """Any HF cross-encoder: g(q, x) = logit of (q, x) (the last class when there are two)."""

    def __init__(self, name: str, device: str = "cpu", cache_dir=None, batch_size: int = 32):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        super().__init__(name, cache_dir, batch_size)
        self.path = resolve_teacher_path(name)
        self.device = resolve_device(device)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.path)
            self.model = (
                AutoModelForSequenceClassification.from_pretrained(self.path).to(self.device).eval()
            )
        except OSError as err:
            raise ValueError(f"cross-encoder {name!r} could not be loaded ({err})") from err
        self._torch = torch

    def _score(self, query_texts, doc_texts) -> np.ndarray:
        torch = self._torch
        out = np.empty(len(doc_texts), dtype=np.float64)
        for start in range(0, len(doc_texts), self.batch_size):
            sl = slice(start, start + self.batch_size)
            batch = self.tokenizer(
                list(query_texts[sl]),
                list(doc_texts[sl]),
                padding=True,
                truncation=True,
                max_length=512,
                return_tensors="pt",
            ).to(self.device)
            with torch.inference_mode():
                logits = self.model(**batch).logits
            out[sl] = logits[:, -1].double().cpu().numpy()
        return out


class RunTeacher(ScoreLookup):
    """Teacher scores read from a file: ``{qid: {docid: score}}`` (from a run or a score file).

    ``use="score"`` keeps the scores; ``use="rank"`` uses g = −rank (rank 1 best), for files that
    only order the candidates. Missing (query, doc) → ``ValueError`` naming both.
    """

    def __init__(self, scores: dict[str, dict[str, float]], name: str = "run", use="score"):
        if use not in ("score", "rank"):
            raise ValueError(f"use must be 'score' or 'rank'; got {use!r}")
        self.name = name
        self.use = use
        if use == "rank":
            scores = {
                q: {d: -float(r) for r, d in enumerate(sorted(docs, key=lambda d: -docs[d]), 1)}
                for q, docs in scores.items()
            }
        self.scores = {
            str(q): {str(d): float(s) for d, s in docs.items()} for q, docs in scores.items()
        }

    def __repr__(self) -> str:
        return f"RunTeacher({self.name!r}, use={self.use!r}, queries={len(self.scores)})"

    @classmethod
    def from_trec_run(cls, path, use: str = "score") -> RunTeacher:
        df = read_trec_run(path)
        if use == "rank":
            df = df.assign(score=-df["rank"].astype(float))
        scores: dict[str, dict[str, float]] = {}
        for q, d, s in zip(df["query_id"], df["doc_id"], df["score"], strict=True):
            scores.setdefault(q, {})[d] = float(s)
        return cls(scores, name=Path(path).name, use="score")

    @classmethod
    def from_score_file(cls, path, use: str = "score") -> RunTeacher:
        """The authors' layout: gzipped (or plain) JSON ``{qid: {docid: score}}``."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no teacher score file at {path}")
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as handle:
            data = json.load(handle)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object {{qid: {{docid: score}}}}")
        return cls(data, name=path.name, use=use)


@lru_cache(maxsize=4)
def _cached_teacher(name: str, device: str, cache_dir: str | None):
    path = resolve_teacher_path(name)
    config = Path(path) / "config.json"
    kind = "splade"
    if config.exists():
        arch = json.loads(config.read_text()).get("architectures") or []
        if any("SequenceClassification" in a for a in arch):
            kind = "cross"
    elif "splade" not in name.lower():
        kind = "cross"
    cls = SpladeTeacher if kind == "splade" else CrossEncoderTeacher
    return cls(name, device=device, cache_dir=cache_dir)


def load_teacher(name: str = DEFAULT_TEACHER, device: str = "cpu", cache_dir=None):
    """A teacher by name: SPLADE (default ``rasyosef/splade-tiny``), any HF cross-encoder, or a
    run/score file path (``*.run`` / ``*.trec`` → TREC run; ``*.json[.gz]`` → score file)."""
    if name.endswith((".run", ".trec")):
        return RunTeacher.from_trec_run(name)
    if name.endswith((".json", ".json.gz")):
        return RunTeacher.from_score_file(name)
    return _cached_teacher(name, device, None if cache_dir is None else str(cache_dir))


def teacher_file_record(teacher) -> dict | None:
    """What a group file's provenance records of a teacher read from a file (a
    :class:`~locent.realdata.formats.TeacherTable`): ``{path, format, mode, sha256}``, so a later
    step re-reads the very same file the same way; ``None`` for a model teacher."""
    from locent.realdata.formats import TeacherTable

    if not isinstance(teacher, TeacherTable):
        return None
    keys = ("path", "format", "mode", "sha256")
    return {k: teacher.provenance[k] for k in keys if k in teacher.provenance}


def load_recorded_teacher_file(record: dict):
    """The teacher file ``record`` (from :func:`teacher_file_record`) names, read by content in
    its recorded mode. A missing file, or one whose sha256 differs from the recorded one (changed
    since prepare scored the groups with it), is a :class:`~locent.errors.UserError` naming it."""
    from locent.realdata.formats import read_teacher_file

    from locent.errors import UserError

    path = Path(str(record.get("path", "")))
    if not path.is_file():
        raise UserError(
            f"teacher file {path} (recorded by prepare in the groups' provenance) is missing; "
            "restore it or re-run `locent realdata prepare --teacher FILE`"
        )
    table = read_teacher_file(path, mode=record.get("mode", "score"))
    want, got = record.get("sha256"), table.provenance.get("sha256")
    if want and got != want:
        raise UserError(
            f"teacher file {path} changed since prepare read it (sha256 {got[:12]}…, recorded "
            f"{want[:12]}…); the groups were scored with the old file: restore it or re-run "
            "`locent realdata prepare --teacher FILE`"
        )
    return table
