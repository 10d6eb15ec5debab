"""Device check: a transformer cross-encoder student on CUDA with AMP, then a torchrun DDP smoke.

``python benchmarks/gpu_check_training.py --steps 300`` (also runs on CPU, slowly):

1. builds a self-contained text world (no data files needed: the device machine has none):
   queries and passages are strings over a fixed pseudo-vocabulary, the teacher score is the
   number of query words in the passage plus noise, qrels grade that overlap (0–3);
2. trains ``TransformerStudent(arch="cross")`` (offline BERT-tiny backbone) with the soft
   RankNet loss through the project trainer (AMP on CUDA), reporting groups/s and peak memory;
3. re-ranks a test set before and after training (nDCG@10 via ir_measures);
4. runs ``python -m torch.distributed.run --nproc_per_node 1 -m locent.realdata.trainer`` with a
   transformer cross-encoder student on a small text world written to files (DDP with NCCL on
   CUDA, gloo on CPU).

Prints one JSON object with every number.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from locent.realdata import evaluation
from locent.realdata.features import GroupData, TextFeatures
from locent.realdata.students import TransformerStudent
from locent.realdata.trainer import TrainConfig, train

from locent.resources import resolve_device


def text_world(
    n_train: int, n_test: int, k: int, depth: int, seed: int = 0, passage_words: int = 60
):
    """(train GroupData, test GroupData, test Candidates, qrels) over pseudo-words.

    A passage is 0–6 of its query's 6 words plus ``passage_words`` random words, shuffled.
    """
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{i}" for i in range(500)])

    def make(prefix, n, m):
        qwords = rng.choice(len(vocab), size=(n, 6))
        docs, scores = {}, np.empty((n, m))
        queries = {f"{prefix}q{i}": " ".join(vocab[qwords[i]]) for i in range(n)}
        ids = np.empty((n, m), dtype=object)
        for i in range(n):
            overlap = rng.integers(0, 7, size=m)
            for j in range(m):
                words = np.concatenate(
                    [qwords[i, : overlap[j]], rng.choice(len(vocab), passage_words)]
                )
                ids[i, j] = f"{prefix}d{i}_{j}"
                docs[ids[i, j]] = " ".join(vocab[rng.permutation(words)])
            scores[i] = overlap + rng.normal(0, 0.3, size=m)
        return np.array(list(queries), dtype=object), ids, scores, TextFeatures(queries, docs)

    qids, ids, scores, feats = make("tr", n_train, k)
    train_data = GroupData(qids, ids, scores, feats)
    tq, tids, tscores, tfeats = make("te", n_test, depth)
    frame = pd.DataFrame(
        {
            "query_id": np.repeat(tq, depth),
            "doc_id": tids.ravel(),
            "score": rng.normal(size=tids.size),
        }
    )
    cand = evaluation.Candidates.from_frame(frame, "text-world", depth)
    order = {d: s for d, s in zip(tids.ravel(), tscores.ravel())}
    teacher = np.vectorize(order.get)(cand.doc_ids).astype(float)
    test_data = GroupData(cand.query_ids, cand.doc_ids, teacher, tfeats, cand.valid)
    grades = np.clip(np.floor(teacher / 1.6), 0, 3).astype(int)
    qrels = pd.DataFrame(
        {
            "query_id": np.repeat(cand.query_ids, depth).astype(str),
            "doc_id": cand.doc_ids.ravel().astype(str),
            "relevance": grades.ravel(),
        }
    )
    return train_data, test_data, cand, qrels


def write_text_world(folder, n_train: int, k: int, seed: int = 0, passage_words: int = 60):
    """A text world's training groups and texts as the entry point's files.

    Writes ``<folder>/groups.parquet`` (:func:`locent.realdata.store.write_groups`) and
    ``<folder>/texts.parquet`` (:meth:`TextFeatures.to_parquet`); returns both paths.
    """
    from locent.realdata.store import Groups, write_groups

    data, _, _, _ = text_world(n_train, 1, k, 2, seed, passage_words)
    n = data.n
    groups = Groups(
        sampler="text-world",
        query_ids=data.query_ids.astype(object),
        doc_ids=data.doc_ids,
        teacher_scores=data.teacher_scores,
        # the k − 1 negatives are the whole pool: ν_q(x) = 1/(k − 1)
        inclusion_probs=np.column_stack([np.full(n, np.nan), np.full((n, k - 1), 1.0 / (k - 1))]),
        positive_source=np.full(n, "teacher_top", dtype=object),
        n_padded=np.zeros(n, dtype=np.int64),
        n_excluded=np.zeros(n, dtype=np.int64),
        provenance={"synthetic": "text-world", "seed": seed},
    )
    folder = Path(folder)
    paths = folder / "groups.parquet", folder / "texts.parquet"
    write_groups(groups, paths[0])
    data.features.to_parquet(paths[1])
    return paths


def ndcg(student, data, cand, qrels, device) -> float:
    scores = evaluation.score_candidates(student, data, batch_size=8, device=device)
    run = evaluation.run_frame(cand.query_ids, cand.doc_ids, scores, cand.valid)
    per_query, _ = evaluation.evaluate_run(run, qrels, ("nDCG@10",))
    return float(per_query["value"].mean())


def ddp_smoke(device: str) -> dict:
    """torchrun, one process, a transformer cross-encoder on a 64-query text world, 20 steps."""
    with tempfile.TemporaryDirectory() as tmp:
        groups, texts = write_text_world(tmp, n_train=64, k=8)
        cmd = [
            sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
            "1", "-m", "locent.realdata.trainer", "--groups", str(groups), "--student",
            "transformer", "--arch", "cross", "--texts", str(texts), "--lr", "1e-4",
            "--steps", "20", "--batch-size", "16", "--device", device,
        ]  # fmt: skip
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        out = {"returncode": proc.returncode, "seconds": round(time.perf_counter() - t0, 2)}
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        out["result"] = json.loads(lines[-1]) if lines else proc.stderr[-2000:]
        return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--n-train", type=int, default=2048)
    p.add_argument("--n-test", type=int, default=40)
    p.add_argument("--k", type=int, default=8)
    p.add_argument("--depth", type=int, default=30)
    p.add_argument("--device", default="auto")
    p.add_argument("--no-amp", action="store_true")
    p.add_argument("--skip-ddp", action="store_true")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    device = resolve_device(args.device)
    report = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
    }
    train_data, test_data, cand, qrels = text_world(args.n_train, args.n_test, args.k, args.depth)
    torch.manual_seed(0)
    student = TransformerStudent(arch="cross").to(device)
    report["ndcg10_before"] = ndcg(student, test_data, cand, qrels, device)
    config = TrainConfig(
        loss="soft_ranknet", steps=args.steps, batch_size=args.batch_size, lr=1e-4,
        amp=not args.no_amp,
    )  # fmt: skip
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        torch.cuda.synchronize(device)
    else:  # the CUDA parts (AMP, peak memory, NCCL) are skipped, with the reason in the report
        report["cuda_skipped"] = (
            f"device {device} (torch.cuda.is_available() is {torch.cuda.is_available()}): "
            "no AMP, no peak memory, DDP over gloo instead of NCCL"
        )
    t0 = time.perf_counter()
    result = train(student, train_data, config, device, show_progress=False)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        report["peak_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    seconds = time.perf_counter() - t0
    report.update(
        amp=config.amp and device.type == "cuda",
        steps=result.steps_done,
        train_seconds=round(seconds, 2),
        groups_per_s=round(args.steps * args.batch_size / seconds, 1),
        loss_first10=float(result.logs["loss"].iloc[:10].mean()),
        loss_last10=float(result.logs["loss"].iloc[-10:].mean()),
        ndcg10_after=ndcg(student, test_data, cand, qrels, device),
    )
    if not args.skip_ddp:
        report["ddp_smoke"] = ddp_smoke(device.type)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
