"""The forward pass of the locality encoder: token batches, mean pooling, and two runtimes.

:class:`~locent.realdata.encoders.Encoder` tokenises every text once, sorts the texts by token
count and cuts them into batches (:func:`token_batches`), pads each batch only to its own longest
text (:func:`pad_batch`), runs a runtime's ``forward(input_ids, attention_mask) -> hidden
(B, L, D) float32`` and mean-pools over the real tokens (:func:`mean_pool`):

    e(x) = v / ‖v‖₂,   v = Σ_t m_t h_t / Σ_t m_t   (m: attention mask, h: last hidden states).

Runtimes:

- :class:`TorchForward`: the transformers model (float32, or bfloat16 autocast when asked).
- :class:`OnnxForward`: the same model exported once with ``torch.onnx`` and run by ONNX Runtime
  (CPU, float32). Why a second runtime: measured on this project's 2-core AMD EPYC (AVX-512,
  AVX512-BF16; MKL runs its AVX2 sgemm there), 512 MS MARCO passages, one thread, fp32:
  torch 44.5 passages per CPU-second, ONNX Runtime 100 (2.2x), embeddings equal to 2e-7; 2,048
  passages, two threads, interleaved on the shared machine: 35.8 vs 14.6-21.5 passages/s wall
  (58 vs 24-28 per CPU-second), 101.5 passages/s when the machine was nearly idle; against
  sentence-transformers ``encode`` 2.89x (benchmarks/bench_encoders_vs_st.py). MKL's sgemm runs
  its AVX2 path on this AMD CPU (same GFLOP/s with MKL_ENABLE_INSTRUCTIONS=AVX2), so part of the
  gain is MLAS using AVX-512; on an AVX2-only CPU the ratio is not measured. The
  exported file lives in ``cache_dir`` under a name keyed by the weights' sha256, the opset, the
  precision and the torch/transformers versions (:func:`onnx_path`); each load checks it against
  the torch model on padded probe batches and refuses it beyond :data:`ONNX_TOLERANCE`.

Batches never change an fp32 embedding by more than ~1e-7 (tests/realdata/test_encoders_batching.py
checks 1e-6 for batch sizes 8/32/64 and shuffled orders): padding is masked out of attention and
pooling, so the batch only changes the GEMM blocking.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from pathlib import Path

import numpy as np

ONNX_OPSET = 17
#: Largest |Δe| allowed between the ONNX Runtime and the torch embeddings of the probe texts.
ONNX_TOLERANCE = 1e-5
_PROBE = [
    "how long to boil an egg",
    "Boil eggs for nine minutes, then cool them in cold water so the shell comes off cleanly.",
    "x",
    "The Manhattan Project was a research and development undertaking during World War II.",
]


def token_batches(lengths, max_texts: int, max_tokens: int | None) -> list[np.ndarray]:
    """Rows of ``lengths`` (token counts) in batches of increasing length, input order kept
    among equal lengths. A batch holds at most ``max_texts`` texts and, when ``max_tokens`` is
    set, at most ``max_tokens`` padded tokens (batch size × its longest text; a text longer than
    the budget gets a batch of its own)."""
    if max_texts < 1 or (max_tokens is not None and max_tokens < 1):
        raise ValueError(f"max_texts and max_tokens must be >= 1; got {max_texts}, {max_tokens}")
    lengths = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(lengths, kind="stable")
    batches, start = [], 0
    for stop in range(1, len(order) + 1):
        size = stop - start
        full = size == max_texts
        if max_tokens is not None and stop < len(order):  # would the next text overflow?
            full |= (size + 1) * lengths[order[stop]] > max_tokens
        if full or stop == len(order):
            batches.append(order[start:stop])
            start = stop
    return batches


def pad_batch(token_ids: list, rows) -> tuple[np.ndarray, np.ndarray]:
    """``(input_ids, attention_mask)`` int64 ``(len(rows), L)``, L = longest of the batch."""
    width = max(len(token_ids[i]) for i in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)  # 0 = [PAD] in BERT vocabularies
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for r, i in enumerate(rows):
        ids[r, : len(token_ids[i])] = token_ids[i]
        mask[r, : len(token_ids[i])] = 1
    return ids, mask


def mean_pool(hidden, mask):
    """Unit-norm mean of ``hidden (B, L, D)`` over the tokens where ``mask (B, L)`` is 1, in
    float32 whatever the runtime's precision → ``(B, D)`` torch float32."""
    import torch

    hidden = torch.as_tensor(hidden).float()
    m = torch.as_tensor(mask).unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=-1)


class TorchForward:
    """The transformers model on ``device``; ``precision="bf16"`` runs it under autocast."""

    def __init__(self, model, device: str, precision: str):
        self.model, self.device, self.precision = model, device, precision

    def __call__(self, ids: np.ndarray, mask: np.ndarray):
        import torch

        autocast = (
            torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16)
            if self.precision == "bf16"
            else contextlib.nullcontext()
        )
        ids_t = torch.from_numpy(ids).to(self.device)
        mask_t = torch.from_numpy(mask).to(self.device)
        with torch.inference_mode(), autocast:
            out = self.model(
                input_ids=ids_t, attention_mask=mask_t, token_type_ids=torch.zeros_like(ids_t)
            )
        return out.last_hidden_state.float().cpu()


def _weights_sha256(model_path: str) -> str:
    digest = hashlib.sha256()
    folder = Path(model_path)
    weights = [p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin")]
    files = sorted(weights + [folder / "config.json"])
    if not weights:
        raise ValueError(f"no weights (.safetensors/.bin) in encoder folder {folder}")
    for path in files:
        digest.update(path.name.encode())
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()


def onnx_path(model_path: str, cache_dir, precision: str = "fp32") -> Path:
    """``<cache_dir>/<weights-sha256[:16]>-opset<N>-<precision>-torch<v>-tf<v>.onnx``."""
    import torch
    import transformers

    torch_v = ".".join(torch.__version__.split("+")[0].split(".")[:2])
    tf_v = ".".join(transformers.__version__.split(".")[:2])
    versions = f"torch{torch_v}-tf{tf_v}"
    name = f"{_weights_sha256(model_path)[:16]}-opset{ONNX_OPSET}-{precision}-{versions}"
    return Path(cache_dir) / f"{name}.onnx"


def default_onnx_cache() -> Path:
    """``$LOCENT_ONNX_CACHE``, else ``$XDG_CACHE_HOME/locent/onnx`` (``~/.cache/locent/onnx``)."""
    env = os.environ.get("LOCENT_ONNX_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "locent" / "onnx"


def _export(model, tokenizer, path: Path) -> None:
    """Export ``model`` (inputs ids, mask; output last hidden state) to ``path``, atomically."""
    import torch

    class _Hidden(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            out = self.inner(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
            )
            return out.last_hidden_state

    # the traced example must contain padding: a pad-free example could let the model's mask
    # code take its "no padding" shortcut and bake it into the graph
    example = tokenizer(_PROBE[:2], padding=True, return_tensors="pt")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    axes = {"batch": 0, "tokens": 1}
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer and deprecation chatter of the exporter
        torch.onnx.export(
            _Hidden(model).eval(),
            (example["input_ids"], example["attention_mask"]),
            str(tmp),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": {v: k for k, v in axes.items()},
                "attention_mask": {v: k for k, v in axes.items()},
                "last_hidden_state": {v: k for k, v in axes.items()},
            },
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    tmp.replace(path)


class OnnxForward:
    """ONNX Runtime session over the exported encoder (CPU, float32), one per process."""

    def __init__(self, session):
        self.session = session

    @classmethod
    def load(cls, model, tokenizer, model_path: str, cache_dir=None, threads: int | None = None):
        """Export at first use, open, and check against the torch ``model`` on padded probe
        batches; a file that disagrees by more than :data:`ONNX_TOLERANCE` is an error."""
        import onnxruntime as ort
        import torch

        path = onnx_path(model_path, cache_dir or default_onnx_cache())
        if not path.exists():
            print(f"encoder: exporting {model_path} to ONNX ({path})", file=sys.stderr)
            _export(model, tokenizer, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads or torch.get_num_threads())
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        runtime = cls(session)
        runtime.check(TorchForward(model, "cpu", "fp32"), tokenizer, path)
        return runtime

    def check(self, reference, tokenizer, path) -> float:
        """Max |Δe| against ``reference`` on the probe texts in one padded batch and one by
        one; raises ValueError above :data:`ONNX_TOLERANCE`."""
        token_ids = tokenizer(_PROBE, truncation=True, max_length=256)["input_ids"]
        worst = 0.0
        for rows in (list(range(len(_PROBE))), [0], [2]):
            ids, mask = pad_batch(token_ids, rows)
            ours, ref = mean_pool(self(ids, mask), mask), mean_pool(reference(ids, mask), mask)
            worst = max(worst, float((ours - ref).abs().max()))
        if not worst <= ONNX_TOLERANCE:
            raise ValueError(
                f"ONNX encoder {path} differs from the torch model by {worst:.2e} "
                f"(> {ONNX_TOLERANCE}); delete it or use backend='torch'"
            )
        return worst

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


def onnx_available() -> bool:
    """Whether ONNX Runtime and the ``onnx`` package (needed by ``torch.onnx.export``) import."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True
