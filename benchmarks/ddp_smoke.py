"""Distributed smoke test, one process per rank under torchrun: all-reduce, then 5 DDP steps.

``python -m torch.distributed.run --standalone --nproc_per_node 2 benchmarks/ddp_smoke.py``

Backend ``auto``: NCCL when every rank can have its own CUDA device, gloo otherwise (NCCL refuses
two ranks on one GPU). Checks (every rank): the all-reduce of ``rank + 1`` equals
``world·(world+1)/2``; after 5 DistributedDataParallel steps on rank-dependent data the model's
parameters are bit-identical across ranks (gradients were averaged). Rank 0 prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch
import torch.distributed as dist


def choose_backend(requested: str, world: int) -> tuple[str, torch.device]:
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    if requested == "auto":
        requested = "nccl" if cuda and torch.cuda.device_count() >= world else "gloo"
    if requested == "nccl":
        torch.cuda.set_device(local)
        return "nccl", torch.device("cuda", local)
    return "gloo", torch.device("cpu")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=("auto", "nccl", "gloo"), default="auto")
    args = p.parse_args(argv)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    backend, device = choose_backend(args.backend, world)
    t0 = time.perf_counter()
    dist.init_process_group(backend)
    rank = dist.get_rank()
    x = torch.full((1024,), float(rank + 1), device=device)
    dist.all_reduce(x)
    allreduce_ok = bool((x == world * (world + 1) / 2).all())

    torch.manual_seed(0)  # same initial weights on every rank
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    ddp = torch.nn.parallel.DistributedDataParallel(
        model.to(device), device_ids=[device.index] if device.type == "cuda" else None
    )
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
    gen = torch.Generator().manual_seed(100 + rank)  # different data on every rank
    for _ in range(5):
        xb = torch.randn(16, 32, generator=gen).to(device)
        loss = ddp(xb).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    flat = torch.cat([q.detach().reshape(-1) for q in model.parameters()])
    gathered = [torch.empty_like(flat) for _ in range(world)]
    dist.all_gather(gathered, flat)
    params_equal = all(torch.equal(gathered[0], g) for g in gathered)
    if rank == 0:
        print(
            json.dumps(
                {
                    "backend": backend,
                    "world_size": world,
                    "device": str(device),
                    "allreduce_ok": allreduce_ok,
                    "ddp_params_identical": params_equal,
                    "seconds": round(time.perf_counter() - t0, 2),
                }
            )
        )
    dist.barrier()  # no rank tears down while another still talks to it (gloo aborts then)
    dist.destroy_process_group()
    return 0 if allreduce_ok and params_equal else 1


if __name__ == "__main__":
    sys.exit(main())
