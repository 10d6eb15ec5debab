"""The GPU path, proven in one run (≤ 10 min on one GPU): prints ONE table.

    python benchmarks/gpu_check.py [--skip-locent-run] [--out DIR]

Rows (each with its status, result and seconds):

1. ``locent run --quick --device cuda --out DIR`` (the console script, in a subprocess);
2. the transformer grid smoke on CUDA with AMP (``training_gpu_check``, run by module path from
   ``benchmarks/`` or ``locent.realdata``, whichever exists), ``--skip-ddp``;
3. GPU faiss exact inner-product search against torch's exact top-k on the same vectors (if
   faiss with GPU support is importable; otherwise the torch top-k search alone, stated);
4. a 2-process torchrun smoke (``benchmarks/ddp_smoke.py``: all-reduce + 5 DDP steps, parameters
   identical across ranks): NCCL when there is one GPU per rank; NCCL refuses two ranks on one
   GPU, so on a single GPU the 2-process run uses gloo and a 1-process NCCL run is added;
5. the estimators on CUDA as a fraction of the GPU's memory bandwidth, measured in the same run
   by a device-to-device copy (bandwidth = 2·bytes/time: read + write). Fraction = (input
   bytes / estimator time) / bandwidth: 1.0 would mean the estimator costs one read of its input.
   Target ≥ 0.5 for the pair estimators and the diameter. Two extra probe rows time
   ``torch.compile``'d (fused) versions of the pairwise entropy and the misordering count: the
   library's CUDA path is eager torch, one kernel per operation.

Without CUDA every CUDA row says ``skipped: no CUDA`` and the DDP smoke runs on CPU with gloo (so
the script itself is exercised on any machine).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
NO_CUDA = "skipped: no CUDA"


class Table:
    def __init__(self):
        self.rows: list[tuple[str, str, str, float]] = []

    def add(self, check: str, status: str, result: str = "", seconds: float = 0.0) -> None:
        self.rows.append((check, status, result, seconds))
        print(f"[gpu_check] {check}: {status} {result}", file=sys.stderr, flush=True)

    def print(self) -> None:
        head = ("check", "status", "result", "s")
        cells = [head] + [(c, s, r, f"{t:.1f}") for c, s, r, t in self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(4)]
        line = "+".join("-" * (w + 2) for w in widths)
        for n, row in enumerate(cells):
            print("| " + " | ".join(v.ljust(w) for v, w in zip(row, widths)) + " |")
            if n == 0:
                print("|" + line + "|")


def run(cmd: list[str], timeout: float, env=None) -> tuple[int, str, str, float]:
    """(returncode, stdout, stderr, seconds); 124 on timeout."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        out, err, code = p.stdout, p.stderr, p.returncode
    except subprocess.TimeoutExpired:
        out, err, code = "", f"timed out after {timeout:.0f} s", 124
    return code, out, err, time.perf_counter() - t0


def last_json(text: str):
    """The last JSON object printed in ``text`` (one line, or a pretty-printed block)."""
    start = text.rfind("\n{")
    for chunk in (text[start + 1 :] if start >= 0 else "", *reversed(text.splitlines())):
        try:
            return json.loads(chunk[: chunk.rfind("}") + 1])
        except ValueError:
            continue
    return None


# --------------------------------------------------------------------------- 1. locent run


def check_locent_run(table: Table, out: Path, skip: bool, timeout: float) -> None:
    name = "locent run --quick --device cuda"
    if skip:
        return table.add(name, "skipped: --skip-locent-run")
    if not torch.cuda.is_available():
        return table.add(name, NO_CUDA)
    exe = shutil.which("locent")
    cmd = [exe] if exe else [sys.executable, "-m", "locent.paper_checks.cli"]
    code, text, err, sec = run(
        [*cmd, "run", "--quick", "--device", "cuda", "--out", str(out)], timeout
    )
    report = out / "report" / "REPORT.md"
    status = "ok" if code == 0 and report.exists() else f"FAIL (exit {code})"
    table.add(name, status, f"report: {report.exists()}; " + (text + err).strip()[-160:], sec)


# --------------------------------------------------------------------------- 2. training smoke


def check_transformer_smoke(table: Table, timeout: float) -> None:
    name = "transformer grid smoke (CUDA, AMP)"
    if not torch.cuda.is_available():
        return table.add(name, NO_CUDA)
    script = HERE / "training_gpu_check.py"
    target = [str(script)] if script.exists() else ["-m", "locent.realdata.training_gpu_check"]
    args = ["--device", "cuda", "--steps", "200", "--skip-ddp"]
    code, text, err, sec = run([sys.executable, *target, *args], timeout)
    res = last_json(text)
    if code != 0 or not isinstance(res, dict):
        return table.add(name, f"FAIL (exit {code})", (text + err).strip()[-200:], sec)
    keys = ("amp", "groups_per_s", "loss_first10", "loss_last10", "ndcg10_before", "ndcg10_after")
    summary = ", ".join(f"{k}={res.get(k)}" for k in keys if k in res)
    ok = res.get("amp") and res.get("loss_last10", 1e9) < res.get("loss_first10", 0)
    table.add(name, "ok" if ok else "FAIL (no AMP or loss did not fall)", summary, sec)


# --------------------------------------------------------------------------- 3. search


def check_search(table: Table) -> None:
    name = "dense search (GPU faiss vs torch top-k)"
    if not torch.cuda.is_available():
        return table.add(name, NO_CUDA)
    t0 = time.perf_counter()
    g = torch.Generator(device="cuda").manual_seed(0)
    docs = torch.randn(200_000, 384, device="cuda", generator=g)
    docs = torch.nn.functional.normalize(docs, dim=1)
    queries = torch.nn.functional.normalize(docs[:1000] + 0.3 * torch.randn_like(docs[:1000]))
    with torch.no_grad():
        torch.backends.cuda.matmul.allow_tf32 = False
        ref_scores, ref_ids = torch.topk(queries @ docs.T, 100, dim=1)
    torch.cuda.synchronize()
    try:
        import faiss  # noqa: PLC0415

        gpu = hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0
    except ImportError:
        gpu = False
    if not gpu:
        return table.add(
            name,
            "ok (torch only)",
            "faiss with GPU support not importable: torch exact top-k search ran instead",
            time.perf_counter() - t0,
        )
    res = faiss.StandardGpuResources()
    index = faiss.GpuIndexFlatIP(res, 384)
    index.add(docs.cpu().numpy())
    t1 = time.perf_counter()
    scores, ids = index.search(queries.cpu().numpy(), 100)
    qps = 1000 / (time.perf_counter() - t1)
    same = (torch.as_tensor(ids, device="cuda") == ref_ids).float().mean().item()
    gap = (torch.as_tensor(scores, device="cuda") - ref_scores).abs().max().item()
    status = "ok" if same > 0.99 and gap < 1e-4 else "FAIL (faiss and torch disagree)"
    table.add(
        name,
        status,
        f"GpuIndexFlatIP 200k×384, 1000 queries top-100: {qps:.0f} q/s; same ids {same:.4f}, "
        f"max score gap {gap:.1e}",
        time.perf_counter() - t0,
    )


# --------------------------------------------------------------------------- 4. torchrun


def check_ddp(table: Table, timeout: float) -> None:
    cuda = torch.cuda.is_available()
    runs = [("2", "auto")]
    if cuda and torch.cuda.device_count() < 2:
        runs.append(("1", "nccl"))  # NCCL on the one GPU; the 2-process run used gloo
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for nproc, backend in runs:
        cmd = [
            sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
            nproc, str(HERE / "ddp_smoke.py"), "--backend", backend,
        ]  # fmt: skip
        code, text, err, sec = run(cmd, timeout, env=env)
        res = last_json(text)
        name = f"torchrun {nproc}-process DDP smoke"
        if code != 0 or not isinstance(res, dict):
            table.add(name, f"FAIL (exit {code})", (text + err).strip()[-200:], sec)
            continue
        detail = ", ".join(f"{k}={res[k]}" for k in ("backend", "device", "allreduce_ok"))
        detail += f", ddp_params_identical={res['ddp_params_identical']}"
        if not cuda:
            detail += " (no CUDA: gloo on CPU)"
        table.add(name, "ok", detail, sec)


# --------------------------------------------------------------------------- 5. estimators


def cuda_seconds(fn, *args, rounds: int = 5) -> float:
    """Best-of-``rounds`` CUDA-event time of ``fn(*args)`` (after one warm-up call)."""
    fn(*args)
    best = float("inf")
    for _ in range(rounds):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn(*args)
        end.record()
        torch.cuda.synchronize()
        best = min(best, start.elapsed_time(end) / 1e3)
    return best


def copy_bandwidth(nbytes: int = 2**31) -> float:
    """Device-to-device copy bandwidth in bytes/s (read + write counted)."""
    src = torch.empty(nbytes // 4, dtype=torch.float32, device="cuda")
    dst = torch.empty_like(src)
    return 2 * nbytes / cuda_seconds(dst.copy_, src)


def check_estimators(table: Table, groups: int, score_groups: int, compile_probe: bool) -> None:
    name = "estimators on CUDA (fraction of copy bandwidth)"
    if not torch.cuda.is_available():
        return table.add(name, NO_CUDA)
    from locent.theory import (  # noqa: PLC0415
        LOSSES,
        essential_diameter,
        misordering_rate,
        pairwise_entropy,
    )

    t0 = time.perf_counter()
    bw = copy_bandwidth()
    table.add("device-to-device copy bandwidth", "ok", f"{bw / 1e9:.0f} GB/s", 0.0)
    g = torch.Generator(device="cuda").manual_seed(0)
    emb = torch.randn(groups, 16, 384, device="cuda", generator=g)
    emb += torch.randn(groups, 1, 384, device="cuda", generator=g)
    teacher = 3 * torch.randn(score_groups, 16, device="cuda", dtype=torch.float64, generator=g)
    student = teacher + torch.randn_like(teacher)
    cases = [
        ("essential_diameter (exact)", lambda: essential_diameter(emb), emb.nbytes),
        ("pairwise_entropy", lambda: pairwise_entropy(teacher), teacher.nbytes),
        ("misordering_rate", lambda: misordering_rate(student, teacher), 2 * teacher.nbytes),
    ]
    for loss in ("soft_ranknet", "hard_ranknet", "margin_mse"):
        spec = LOSSES[loss]
        cases.append((loss, lambda spec=spec: spec(student, teacher), 2 * teacher.nbytes))
    for label, fn, nbytes in cases:
        try:
            sec = cuda_seconds(fn)
        except Exception as exc:  # a failing estimator is a row, not a crash
            table.add(f"  {label}", f"FAIL ({type(exc).__name__})", str(exc)[:160])
            continue
        frac = nbytes / sec / bw
        status = "ok (≥ 0.5)" if frac >= 0.5 else "below target (< 0.5)"
        table.add(
            f"  {label}",
            status,
            f"{nbytes / 1e6:.0f} MB in {sec * 1e3:.2f} ms = {nbytes / sec / 1e9:.0f} GB/s "
            f"= {frac:.3f} of bandwidth",
            sec,
        )
    table.add(name, "done", f"{groups} groups × 16 × 384 float32; {score_groups} × 16 float64",
              time.perf_counter() - t0)  # fmt: skip
    if compile_probe:
        probe_compiled(table, teacher, student, bw)


def probe_compiled(table: Table, teacher: torch.Tensor, student: torch.Tensor, bw: float) -> None:
    """torch.compile'd (fused) pairwise entropy and misordering count: not the library path, a
    measurement of what one fused kernel reaches on this GPU (compile time excluded)."""
    from locent.theory._special import binary_entropy_logit  # noqa: PLC0415
    from locent.theory.pairs import margins_any_order  # noqa: PLC0415

    def entropy(t):
        return binary_entropy_logit(margins_any_order(t)).mean(-1)

    def misordered(s, t):
        return (torch.sign(margins_any_order(s)) * torch.sign(margins_any_order(t)) < 0).sum(-1)

    for label, fn, args in (
        ("pairwise_entropy", entropy, (teacher,)),
        ("misordered count", misordered, (student, teacher)),
    ):
        t0 = time.perf_counter()
        try:
            compiled = torch.compile(fn, dynamic=False)
            compiled(*args)
            torch.cuda.synchronize()
            sec = cuda_seconds(compiled, *args)
        except Exception as exc:  # no triton, compiler error: a row, not a crash
            table.add(f"  compiled {label} (probe)", f"not run ({type(exc).__name__})",
                      str(exc)[:160], time.perf_counter() - t0)  # fmt: skip
            continue
        nbytes = sum(a.nbytes for a in args)
        table.add(
            f"  compiled {label} (probe)",
            "info",
            f"{nbytes / sec / 1e9:.0f} GB/s = {nbytes / sec / bw:.3f} of bandwidth (fused by "
            "torch.compile; not the library path)",
            time.perf_counter() - t0,
        )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--skip-locent-run", action="store_true", help="skip row 1 (for CPU tests)")
    p.add_argument("--out", type=Path, default=None, help="folder of the locent run (default tmp)")
    p.add_argument("--groups", type=int, default=100_000, help="embedding groups for row 5")
    p.add_argument("--score-groups", type=int, default=1_000_000, help="score groups for row 5")
    p.add_argument(
        "--no-compile-probe", action="store_true", help="skip the torch.compile rows (≈ 1 min)"
    )
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("LOCENT_NO_PROGRESS", "1")
    table = Table()
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU only)"
    table.add("device", "info", f"{device}; torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        check_locent_run(table, args.out or Path(tmp) / "locent-out", args.skip_locent_run, 300)
    check_transformer_smoke(table, 120)
    check_search(table)
    check_ddp(table, 90)
    check_estimators(table, args.groups, args.score_groups, not args.no_compile_probe)
    table.print()
    return 0 if not any(r[1].startswith("FAIL") for r in table.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
