"""The distillation trainer: a student fitted to teacher scores on stored groups.

Objective per optimiser step (B groups, the global batch, split over ``world`` processes and
``grad_accum`` micro-batches): (1/B) Σ_i ℓ(f(q_i, x_i·), g(q_i, x_i·)), with ℓ one of
``locent.theory.LOSSES`` (``lce``, ``soft_ranknet``, ``hard_ranknet``, ``margin_mse``,
``listwise_kl``) at label temperature τ. AdamW, linear warmup then linear decay to 0, gradient
clipping (the logged grad norm is the norm before clipping), AMP on CUDA only.

Determinism: the rows of step s are a function of (seed, s) only (consecutive slices of a stream
of per-epoch permutations drawn from ``default_rng([seed, epoch])``), and torch's RNG is reseeded
from (seed, step, rank) before each step, so a run resumed from a checkpoint repeats the
uninterrupted run, and every condition sees the same number of optimiser steps and of groups.

Checkpoints (``<dir>/checkpoint.pt``, atomic) hold model, optimiser, scheduler, scaler, the step
and the logs so far. The per-step log table has columns ``step, loss, kl, grad_norm, lr``
(``kl`` = listwise KL(softmax(t/τ) ‖ softmax(s/τ)) to the teacher, mean over the batch).

Multi-process: launch the same entry point under torchrun,
``python -m torch.distributed.run --nproc_per_node 2 -m locent.realdata.trainer ...``;
DistributedDataParallel with NCCL on CUDA, gloo on CPU. The entry point trains a ``frozen``
student (``--embeddings`` npz) or a ``transformer`` bi-/cross-encoder (texts from ``--texts`` or
from ir_datasets, the training dataset named by the group file's provenance; offline backbone:
BERT-tiny inside ``../shared/models/splade-tiny``). With dropout off (``--dropout 0``) a step is a
function of its global batch, so any number of processes gives the loss curve of one.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
from locent.realdata import datasets
from locent.realdata.features import (
    FrozenFeatures,
    GroupData,
    TextFeatures,
    train_dataset_of,
    training_texts,
)
from locent.realdata.store import read_groups
from locent.realdata.students import Student, build_student
from locent.theory import LOSSES, listwise_kl

from locent.progress import progress
from locent.provenance import atomic_write_bytes, atomic_write_parquet
from locent.resources import resolve_device
from locent.results import DEFAULT_OUT

LOG_COLUMNS = ("step", "loss", "kl", "grad_norm", "lr")


@dataclass
class TrainConfig:
    """Hyper-parameters. ``batch_size`` is the global number of groups per optimiser step."""

    loss: str = "soft_ranknet"
    tau: float = 1.0
    steps: int = 200
    batch_size: int = 32
    grad_accum: int = 1
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_frac: float = 0.1
    clip: float = 1.0
    seed: int = 0
    amp: bool = True
    checkpoint_every: int = 50

    def validate(self, world: int = 1) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)}; got {self.loss!r}")
        for name in ("steps", "batch_size", "grad_accum", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1; got {getattr(self, name)}")
        if self.batch_size % (world * self.grad_accum):
            raise ValueError(
                f"batch_size={self.batch_size} must be divisible by processes x grad_accum "
                f"= {world} x {self.grad_accum}"
            )
        if not (self.tau > 0 and self.lr > 0 and 0 <= self.warmup_frac < 1 and self.clip > 0):
            raise ValueError(f"invalid tau/lr/warmup_frac/clip in {self}")

    @property
    def items_per_run(self) -> int:
        """The item budget: groups seen over the run (equal across conditions)."""
        return self.steps * self.batch_size


@dataclass
class TrainResult:
    student: Student
    logs: pd.DataFrame
    completed: bool
    steps_done: int


def amp_settings(device: torch.device, amp: bool, bf16_supported: bool | None = None):
    """(autocast dtype or None, use a GradScaler): AMP only on CUDA; bf16 when the GPU has it."""
    if not amp or device.type != "cuda":
        return None, False
    if bf16_supported is None:
        bf16_supported = torch.cuda.is_bf16_supported()
    return (torch.bfloat16, False) if bf16_supported else (torch.float16, True)


def step_rows(n: int, batch_size: int, seed: int, step: int) -> np.ndarray:
    """Group rows of optimiser step ``step`` (0-based): positions [sB, (s+1)B) of the stream
    perm_0 ‖ perm_1 ‖ ... with perm_e = ``default_rng([seed, e]).permutation(n)``."""
    if n < 1:
        raise ValueError("no training groups")
    start, stop = step * batch_size, (step + 1) * batch_size
    epochs = range(start // n, (stop - 1) // n + 1)
    stream = np.concatenate([np.random.default_rng([seed, e]).permutation(n) for e in epochs])
    offset = epochs[0] * n
    return stream[start - offset : stop - offset]


def lr_lambda(config: TrainConfig):
    warmup = int(round(config.warmup_frac * config.steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (config.steps - step) / max(1, config.steps - warmup))

    return factor


def batch_loss(student: Student, model, batch, config: TrainConfig):
    """Per-query loss (B,) and student scores (B, k) of a batch (``model`` may be DDP-wrapped)."""
    spec = LOSSES[config.loss]
    if config.loss == "lce" and getattr(student, "in_batch_negatives", False):
        # (B, B·k) scores; rotate each row so its own positive sits at column 0.
        wide = model(batch, in_batch=True).float()
        b, width = wide.shape
        shift = torch.arange(b, device=wide.device)[:, None] * batch.k
        cols = (torch.arange(width, device=wide.device)[None, :] + shift) % width
        rotated = wide.gather(1, cols)
        return spec(rotated, None, tau=config.tau), rotated[:, : batch.k]
    scores = model(batch)
    return spec(scores.float(), batch.teacher.float(), tau=config.tau), scores


def _config_key(config: TrainConfig) -> dict:
    key = asdict(config)
    key.pop("checkpoint_every")
    return key


def _save_checkpoint(path: Path, state: dict) -> None:
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(path, buf.getvalue())


def train(
    student: Student,
    data: GroupData,
    config: TrainConfig,
    device: str | torch.device = "cpu",
    checkpoint_dir: str | os.PathLike | None = None,
    stop_after: int | None = None,
    show_progress: bool = True,
    desc: str = "train",
) -> TrainResult:
    """Train ``student`` on ``data`` for ``config.steps`` optimiser steps (resuming if possible).

    ``stop_after`` stops after that many total steps (simulates an interruption; the checkpoint is
    written first). Under torchrun (``WORLD_SIZE`` > 1, process group initialised) each process
    takes its contiguous slice of the global batch and DDP averages the gradients.
    """
    distributed = dist.is_available() and dist.is_initialized()
    world = dist.get_world_size() if distributed else 1
    rank = dist.get_rank() if distributed else 0
    config.validate(world)
    device = resolve_device(device)
    torch.manual_seed(config.seed)
    student.to(device)
    model = student
    if distributed:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(
            student, device_ids=[device.index] if device.type == "cuda" else None
        )
    optimizer = torch.optim.AdamW(
        student.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(config))
    amp_dtype, use_scaler = amp_settings(device, config.amp)
    scaler = torch.amp.GradScaler("cuda", enabled=use_scaler)

    logs: list[dict] = []
    start = 0
    ckpt = Path(checkpoint_dir) / "checkpoint.pt" if checkpoint_dir is not None else None
    if ckpt is not None and ckpt.exists():
        state = torch.load(ckpt, map_location=device, weights_only=False)
        if state["config"] != _config_key(config):
            raise ValueError(
                f"checkpoint {ckpt} was written with a different configuration "
                f"({state['config']}); remove it or use another folder"
            )
        student.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        start, logs = int(state["step"]), list(state["logs"])

    local_b = config.batch_size // world
    micro_b = local_b // config.grad_accum
    params = [p for p in student.parameters() if p.requires_grad]
    end = config.steps if stop_after is None else min(config.steps, stop_after)
    bar = range(start, end)
    if rank == 0 and show_progress:
        bar = progress(bar, desc=desc, total=end, initial=start, leave=False)
    model.train()
    for step in bar:
        torch.manual_seed(config.seed * 1_000_003 + step * 7919 + rank)
        rows = step_rows(data.n, config.batch_size, config.seed, step)
        local = rows[rank * local_b : (rank + 1) * local_b]
        optimizer.zero_grad(set_to_none=True)
        sums = torch.zeros(2, dtype=torch.float64)
        for m in range(config.grad_accum):
            batch = data.batch(local[m * micro_b : (m + 1) * micro_b]).to(device)
            last = m == config.grad_accum - 1
            sync = contextlib.nullcontext() if (last or not distributed) else model.no_sync()
            autocast = (
                torch.autocast(device_type="cuda", dtype=amp_dtype)
                if amp_dtype is not None
                else contextlib.nullcontext()
            )
            with sync:
                with autocast:
                    per_query, scores = batch_loss(student, model, batch, config)
                loss = per_query.float().sum() / local_b
                scaler.scale(loss).backward()
            with torch.no_grad():
                kl = listwise_kl(scores.detach().float(), batch.teacher.float(), tau=config.tau)
                sums += torch.stack([per_query.detach().sum(), kl.sum()]).double().cpu()
        scaler.unscale_(optimizer)
        grad_norm = torch.nn.utils.clip_grad_norm_(params, config.clip)
        lr_used = optimizer.param_groups[0]["lr"]
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        if distributed:
            dist.all_reduce(sums)
        logs.append(
            {
                "step": step + 1,
                "loss": float(sums[0]) / config.batch_size,
                "kl": float(sums[1]) / config.batch_size,
                "grad_norm": float(grad_norm),
                "lr": float(lr_used),
            }
        )
        done = step + 1
        if ckpt is not None and rank == 0 and (done % config.checkpoint_every == 0 or done == end):
            _save_checkpoint(
                ckpt,
                {
                    "config": _config_key(config),
                    "model": student.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict(),
                    "step": done,
                    "logs": logs,
                },
            )
        if distributed:
            dist.barrier()
    model.eval()
    frame = pd.DataFrame(logs, columns=list(LOG_COLUMNS))
    steps_done = int(frame["step"].max()) if len(frame) else 0
    return TrainResult(student, frame, steps_done == config.steps, steps_done)


# --------------------------------------------------------------------------------------------
# Entry point: ``python -m locent.realdata.trainer`` (also under torchrun) on explicit files.


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m locent.realdata.trainer",
        description="Train a student on a group file (works under torchrun).",
    )
    p.add_argument("--groups", required=True, help="group parquet (locent.realdata.store)")
    p.add_argument("--student", default="frozen", choices=("frozen", "transformer"))
    p.add_argument(
        "--embeddings", default=None, help="frozen: npz query_ids/query_vecs/doc_ids/doc_vecs"
    )
    p.add_argument(
        "--texts",
        default=None,
        help="transformer: parquet kind/id/text (TextFeatures.to_parquet); default: read the "
        "texts from ir_datasets",
    )
    p.add_argument(
        "--dataset",
        default=None,
        help="transformer without --texts: ir_datasets ID of the training queries (default: the "
        "group file's provenance, else msmarco-passage/dev/small)",
    )
    p.add_argument(
        "--out",
        default=DEFAULT_OUT,
        help="where the writable ir_datasets copy goes when IR_DATASETS_HOME is unset",
    )
    p.add_argument("--backbone", default=None, help="transformer: HF name or folder")
    p.add_argument("--pooling", default="cls", choices=("cls", "mean"), help="transformer bi")
    p.add_argument(
        "--dropout", type=float, default=None, help="transformer dropout (default: backbone's)"
    )
    p.add_argument("--arch", default="bi", choices=("bi", "cross"))
    p.add_argument("--loss", default="soft_ranknet")
    p.add_argument("--tau", type=float, default=1.0)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--grad-accum", type=int, default=1)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--checkpoint-dir", default=None)
    p.add_argument("--log-out", default=None, help="write the step log here (parquet, rank 0)")
    p.add_argument("--model-out", default=None, help="write the student state_dict (rank 0)")
    return p


def student_and_features(args, groups) -> tuple[Student, object]:
    """The student and its feature source named by the entry point's arguments.

    ``frozen``: :class:`FrozenFeatures` from ``--embeddings``. ``transformer``:
    :class:`TextFeatures` from ``--texts``, else from ir_datasets (``--dataset`` or the group
    file's training dataset). The student is built after ``torch.manual_seed(args.seed)``.
    """
    if args.student == "frozen":
        if args.embeddings is None:
            raise ValueError("--student frozen needs --embeddings (an npz of embeddings)")
        features = FrozenFeatures.from_npz(args.embeddings)
        torch.manual_seed(args.seed)
        return build_student("frozen", args.arch, dim=features.dim), features
    if args.texts is not None:
        features = TextFeatures.from_parquet(args.texts)
    else:
        datasets.ensure_irds_home(args.out)
        features = TextFeatures(*training_texts([groups], args.dataset or train_dataset_of(groups)))
    torch.manual_seed(args.seed)
    student = build_student(
        "transformer",
        args.arch,
        backbone=args.backbone,
        pooling=args.pooling,
        dropout=args.dropout,
    )
    return student, features


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    device = resolve_device(args.device)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if device.type == "cuda":
            device = torch.device("cuda", local_rank)
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    try:
        groups = read_groups(args.groups)
        student, features = student_and_features(args, groups)
        data = GroupData.from_groups(groups, features)
        config = TrainConfig(
            loss=args.loss,
            tau=args.tau,
            steps=args.steps,
            batch_size=args.batch_size,
            grad_accum=args.grad_accum,
            lr=args.lr,
            seed=args.seed,
        )
        result = train(student, data, config, device, args.checkpoint_dir)
        rank = dist.get_rank() if dist.is_initialized() else 0
        if rank == 0:
            if args.log_out:
                atomic_write_parquet(result.logs, Path(args.log_out))
            if args.model_out:
                buf = io.BytesIO()
                torch.save(student.state_dict(), buf)
                atomic_write_bytes(args.model_out, buf.getvalue())
            last = result.logs.iloc[-1].to_dict() if len(result.logs) else {}
            print(json.dumps({"world_size": world, "steps": result.steps_done, **last}))
        if dist.is_initialized():
            # every rank leaves together: a rank that tore its gloo group down while rank 0 was
            # still writing the outputs was seen to abort ("terminate called without an active
            # exception", SIGABRT) on a loaded 2-core machine
            dist.barrier()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
