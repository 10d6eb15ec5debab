"""The locality encoder's numerics: fp32 by default, embeddings independent of the batching,
and the ONNX Runtime export equal to the torch model (issue 15 item 1, issue 12 item 9)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def passages(irds):
    """36 real passages of very different lengths (Vaswani abstracts, MS MARCO, Cranfield)."""
    texts = []
    for corpus, n in (("vaswani", 12), (irds.corpus_id(irds.DL19), 12), ("cranfield", 12)):
        texts += list(irds.corpus(corpus)[1][:n])
    return texts + ["x", "how long to boil an egg"]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx")


def _need_onnx():
    pytest.importorskip("onnxruntime", reason="ONNX Runtime is part of the realdata extra")
    pytest.importorskip("onnx", reason="torch.onnx.export needs the onnx package")


def _one_by_one(encoder, texts):
    return np.concatenate([encoder.encode([t]) for t in texts])


def test_auto_precision_is_fp32_on_every_device():
    from locent.realdata.encoders import (
        DEFAULT_PRECISION,
        encoder_key,
        load_encoder,
        resolve_backend,
        resolve_precision,
    )

    assert DEFAULT_PRECISION == "fp32"
    for device in ("cpu", "cuda", "cuda:1"):
        assert resolve_precision("auto", device) == "fp32"
        assert resolve_precision("bf16", device) == "bf16"  # still there, when asked
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("fp16")
    encoder = load_encoder()
    assert encoder.precision == "fp32" and encoder.key == encoder_key(encoder.name, "fp32")
    assert load_encoder(precision="auto") is encoder  # one encoder for "auto" and "fp32"
    assert resolve_backend("auto", "cuda", "fp32") == "torch"
    assert resolve_backend("auto", "cpu", "bf16") == "torch"
    with pytest.raises(ValueError, match="onnx"):
        resolve_backend("onnx", "cpu", "bf16")
    with pytest.raises(ValueError, match="backend"):
        resolve_backend("tensorrt", "cpu", "fp32")


def test_token_batches_respect_both_budgets_and_cover_every_text_once():
    from locent.realdata.encoder_runtime import pad_batch, token_batches

    lengths = np.array([5, 300, 7, 7, 2, 90, 7, 64, 3, 120])
    batches = token_batches(lengths, max_texts=3, max_tokens=256)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(len(lengths)))
    assert (np.diff(lengths[rows]) >= 0).all()  # increasing length
    assert rows[lengths[rows] == 7].tolist() == [2, 3, 6]  # input order among equal lengths
    for b in batches:
        assert len(b) <= 3
        assert len(b) == 1 or len(b) * lengths[b].max() <= 256
    assert [b.tolist() for b in batches if 300 in lengths[b]] == [[1]]  # too long: alone
    assert len(token_batches(lengths, 4, None)) == 3  # text budget only
    assert token_batches([], 4, 16) == []
    with pytest.raises(ValueError, match="max_texts"):
        token_batches(lengths, 0, None)
    ids, mask = pad_batch([[101, 7, 102], [101, 102]], [1, 0])
    np.testing.assert_array_equal(ids, [[101, 102, 0], [101, 7, 102]])
    np.testing.assert_array_equal(mask, [[1, 1, 0], [1, 1, 1]])


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_fp32_embeddings_do_not_depend_on_batch_or_order(passages, backend, onnx_cache):
    """Batch 8/32/64, with and without a token budget, in shuffled orders: every embedding
    equals the one computed alone (no padding at all) to 1e-6."""
    from locent.realdata.encoders import Encoder

    if backend == "onnx":
        _need_onnx()
    encoder = Encoder(precision="fp32", backend=backend, device="cpu", cache_dir=onnx_cache)
    alone = _one_by_one(encoder, passages)
    np.testing.assert_allclose(np.linalg.norm(alone, axis=1), 1.0, atol=1e-6)
    rng = np.random.default_rng(0)
    for batch_size, max_tokens in ((8, None), (32, None), (64, None), (64, 1024), (32, 2048)):
        perm = rng.permutation(len(passages))
        emb = encoder.encode([passages[i] for i in perm], batch_size, max_tokens=max_tokens)
        assert np.abs(emb - alone[perm]).max() <= 1e-6, (backend, batch_size, max_tokens)


def test_onnx_export_equals_torch_is_cached_and_checked(passages, onnx_cache):
    from locent.realdata.encoder_runtime import ONNX_TOLERANCE, TorchForward, onnx_path
    from locent.realdata.encoders import Encoder

    _need_onnx()
    onnx = Encoder(backend="onnx", device="cpu", cache_dir=onnx_cache)
    torch_enc = Encoder(backend="torch", device="cpu")
    assert np.abs(onnx.encode(passages) - torch_enc.encode(passages)).max() <= ONNX_TOLERANCE
    path = onnx_path(onnx.path, onnx_cache)
    assert path.exists() and "opset" in path.name and "fp32" in path.name
    stamp = path.stat().st_mtime_ns
    again = Encoder(backend="onnx", device="cpu", cache_dir=onnx_cache)
    assert path.stat().st_mtime_ns == stamp and len(list(onnx_cache.iterdir())) == 1  # reused
    # the load-time check refuses a runtime that disagrees with the torch model
    reference = TorchForward(torch_enc.model, "cpu", "fp32")
    assert again.forward.check(reference, again.tokenizer, path) <= ONNX_TOLERANCE

    def shifted(ids, mask):
        return reference(ids, mask) + 0.05

    with pytest.raises(ValueError, match="differs from the torch model"):
        again.forward.check(shifted, again.tokenizer, path)


def test_bf16_is_opt_in_and_cached_apart(passages):
    from locent.realdata.encoders import Encoder

    bf16 = Encoder(precision="bf16", device="cpu")
    assert bf16.backend == "torch" and bf16.key.endswith("-bf16")
    emb = bf16.encode(passages[:8])
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
