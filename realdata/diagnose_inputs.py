"""What ``locent diagnose`` measures: the files read, checked, scored and embedded, in that order.

:func:`load_inputs` reads every training file, then checks — before any model is loaded or any
text encoded — that each has teacher scores (its own, a teacher file covering every candidate
pair, or a teacher model with texts for every id) and that every id is known (in the file's texts
or in ``dataset``). Only then are the groups scored and embedded. :func:`reference_groups` runs
locent's samplers on the files' queries (:mod:`locent.realdata.universe`), and
:func:`target_frame` reads the test-time μ (a TREC run's top-k, uniform).

Embeddings: with ``dataset`` given, the :class:`~locent.realdata.encoders.EmbeddingTable` of its
corpus (the look-up ``measure`` uses, so a locent-written file diagnoses to the same Δ̂); without,
the file's own texts encoded by the same encoder.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from locent.realdata.encoders import EmbeddingTables, load_encoder
from locent.realdata.store import Groups

#: samplers ``diagnose`` can run as references on the files' queries
REFERENCE_SAMPLERS = ("bm25", "random", "dense")


@dataclass
class DiagnoseInput:
    """One column of the diagnosis: groups ``(n, k)`` and their embeddings ``(n, k, D)``.

    ``pool``: ν_q as a pool frame (``query_id, doc_ids, probs, support, corpus_size``) for
    reference samplers; ``None`` for files (uniform over the file's candidates)."""

    name: str
    kind: str
    format: str
    groups: Groups
    embeddings: np.ndarray
    teacher: str
    pool: pd.DataFrame | None = None


def named_sources(files) -> list[tuple[str, object]]:
    """``[(name, source)]``: names are file stems (made unique), ``frame<i>`` for DataFrames."""
    if isinstance(files, dict):
        return [(str(k), v) for k, v in files.items()]
    if isinstance(files, (str, os.PathLike, pd.DataFrame)):
        files = [files]
    out, seen = [], {}
    for i, src in enumerate(files):
        name = f"frame{i}" if isinstance(src, pd.DataFrame) else Path(src).name.split(".")[0]
        seen[name] = seen.get(name, 0) + 1
        out.append((name if seen[name] == 1 else f"{name}~{seen[name]}", src))
    return out


def _where(src) -> str:
    return "<DataFrame>" if isinstance(src, pd.DataFrame) else os.fspath(src)


def _named(err: Exception, where: str) -> ValueError:
    """The error, prefixed with the file when its message does not already name it."""
    text = str(err)
    return ValueError(text if where in text else f"{where}: {text}")


def is_teacher_file(teacher) -> bool:
    """A teacher given as a file (recognised later by content) rather than a model name."""
    return isinstance(teacher, (os.PathLike, pd.DataFrame)) or (
        isinstance(teacher, str) and Path(teacher).is_file()
    )


def load_inputs(
    files,
    *,
    dataset,
    format,
    scores,
    mode,
    k,
    drop_short,
    teacher,
    teacher_mode,
    encoder,
    references,
    out,
    device,
    precision,
) -> tuple[list[DiagnoseInput], dict, dict]:
    """Read, check, score and embed every file; returns the inputs, a provenance record and
    the loaded models (``teacher``, ``encoder``) for :func:`reference_groups`."""
    from locent.realdata.formats import read_teacher_file, read_training_file, teacher_coverage

    sources = named_sources(files)
    if not sources:
        raise ValueError("no training file given")
    read = []
    for name, src in sources:
        try:
            tf = read_training_file(
                src, format=format, scores=scores, mode=mode, k=k, drop_short=drop_short
            )
        except (ValueError, KeyError) as err:
            raise _named(err, _where(src)) from None
        read.append((name, src, tf))
    # --- checks that need no model: references, teacher coverage, ids and texts
    table = None
    model = None
    if teacher is not None and is_teacher_file(teacher):
        table = read_teacher_file(teacher, mode=teacher_mode)
    elif teacher is not None:
        model = str(teacher)
    if references:
        if dataset is None:
            raise ValueError(
                "reference samplers run on the collection the files come from: pass dataset= "
                "(--dataset ID or local/<name>), or no references"
            )
        if model is None:
            raise ValueError(
                f"reference samplers {list(references)} score passages the files do not list "
                "(BM25 top-u, dense neighbours; 'random' draws from the whole corpus), which a "
                "teacher file cannot cover: pass a teacher model (--teacher NAME) or no "
                "references (--references none)"
            )
    for _, src, tf in read:
        if table is not None:
            report = teacher_coverage(table, tf)
            if not report.complete:
                raise ValueError(f"{_where(src)}: {report.message()}")
        elif model is None and tf.teacher_scores is None:
            raise ValueError(
                f"{_where(src)} ({tf.format}) carries no teacher scores: pass a teacher "
                "(--teacher FILE|MODEL; a TREC run, a score JSON or a model name)"
            )
    texts = {}
    for name, src, tf in read:
        try:
            texts[name] = tf.texts(dataset)
        except (ValueError, KeyError) as err:
            # the reader's keyword is dataset_id=; diagnose's is dataset= / --dataset
            err = ValueError(
                str(err).replace(
                    "pass dataset_id=", "pass dataset= (--dataset ID or --collection FOLDER),"
                )
            )
            raise _named(err, _where(src)) from None
    # --- models: teacher scores, then embeddings
    enc = load_encoder(encoder, device, precision) if isinstance(encoder, str) else encoder
    teacher_obj = None
    if model is not None:
        from locent.realdata.teachers import load_teacher

        cache = None if out is None else Path(out) / "cache"
        teacher_obj = load_teacher(model, device=device, cache_dir=cache)
    cache_dir = Path(out) / "cache" if out is not None else Path(tempfile.mkdtemp(prefix="locent-"))
    tables = EmbeddingTables(enc, cache_dir) if dataset is not None else None
    inputs = []
    for name, _, tf in read:
        qtexts, dtexts = texts[name]
        if table is not None:
            groups = tf.to_groups(sampler=name, teacher=table)
            teacher_name = f"file:{table.name} ({teacher_mode})"
        elif teacher_obj is not None:
            scores_ = teacher_obj.score(list(tf.query_ids), list(qtexts), tf.doc_ids, dtexts)
            scored = dataclasses.replace(tf, teacher_scores=np.asarray(scores_, np.float64))
            groups = scored.to_groups(sampler=name)
            groups.provenance["teacher"] = model
            teacher_name = model
        else:
            groups = tf.to_groups(sampler=name)
            teacher_name = "file's own scores"
        if tables is not None:
            emb = tables(dataset)(groups.doc_ids)
        else:
            unique, inverse = np.unique(dtexts.astype(str), return_inverse=True)
            emb = enc.encode(list(unique))[inverse.reshape(dtexts.shape)]
        inputs.append(DiagnoseInput(name, "file", tf.format, groups, emb, teacher_name))
    prov = {
        "files": {name: _where(src) for name, src, _ in read},
        "file_provenance": {name: tf.provenance for name, _, tf in read},
        "dataset": dataset,
        "teacher": "file's own scores" if teacher is None else _where(teacher),
        "teacher_mode": teacher_mode if table is not None else None,
        "encoder": getattr(enc, "name", repr(enc)),
        "encoder_precision": getattr(enc, "precision", None),
        "embeddings": "collection look-up" if dataset is not None else "file texts encoded",
        "references": list(references),
    }
    runtime = {"teacher": teacher_obj, "encoder": enc, "out": out, "device": device}
    return inputs, prov, runtime


def reference_groups(inputs, references, prov, rt, seed: int = 0) -> list[DiagnoseInput]:
    """locent's samplers ``references`` on the queries of the files (first file's k), scored
    by the teacher model and embedded by the encoder of ``rt`` (from :func:`load_inputs`).

    The universe is the BM25 top-u (u = min(200, corpus size)), dense re-ranking it
    (``dense_source="bm25"``: no whole-corpus encoding)."""
    from locent.realdata.samplers import SamplerConfig, candidate_pools, sample_groups
    from locent.realdata.universe import Resources, build_universe, pool_frame, scored_groups

    dataset = prov["dataset"]
    qids = sorted({str(q) for item in inputs for q in item.groups.query_ids})
    k = inputs[0].groups.k
    from locent.realdata import datasets

    corpus_n = datasets.load(datasets.corpus_id(dataset)).docs_count()
    universe = min(200, corpus_n)
    cfg = SamplerConfig(
        k=k,
        depth=min(100, universe),
        universe=universe,
        rerank_depth=min(100, universe),
        dense_depth=min(100, universe),
        dense_source="bm25",
        seed=seed,
    )
    out = rt["out"] if rt["out"] is not None else tempfile.mkdtemp(prefix="locent-")
    res = Resources(out, prov["teacher"], device=rt["device"])
    # the models load_inputs already loaded (Resources would load them again by name)
    res._teacher, res._encoder = rt["teacher"], rt["encoder"]
    uni = build_universe(dataset, qids, cfg, res, labels=True)
    found = []
    for sampler in references:
        sg = sample_groups(uni, sampler, cfg)
        g = scored_groups(dataset, sampler, uni, sg, res, sampler_config=cfg.as_dict())
        pools = candidate_pools(uni, sampler, cfg)
        pool = pool_frame(qids, pools or [None] * len(qids), sg.corpus_size)
        emb = res.table(dataset)(g.doc_ids)
        found.append(DiagnoseInput(sampler, "reference", "locent", g, emb, res.teacher_name, pool))
    prov["reference_config"] = cfg.as_dict()
    return found


def target_frame(target, k: int = 100) -> pd.DataFrame:
    """μ_q: ``query_id, doc_ids`` = the top-``k`` of a TREC run per query (uniform)."""
    from locent.realdata.formats.ranked import read_run_table

    if k < 1:
        raise ValueError(f"target k must be >= 1; got {k}")
    path = Path(target)
    if not path.is_file():
        raise FileNotFoundError(f"target run {path} does not exist")
    try:
        run = read_run_table(path)
    except ValueError as err:
        raise _named(err, str(path)) from None
    top = run.groupby("query_id", sort=False).head(k)
    lists = top.groupby("query_id", sort=False)["doc_id"].apply(lambda s: [str(d) for d in s])
    return pd.DataFrame({"query_id": lists.index.astype(str), "doc_ids": list(lists)})
