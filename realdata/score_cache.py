"""The teachers' on-disk score cache: (query-text hash, passage-text hash) → teacher score.

Keys are hashes of the *texts* (:func:`text_key`), so a passage scored for one dataset or run is
served from the cache wherever the same text meets the same query again.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
from locent.realdata.encoders import slug

from locent.provenance import atomic_write_parquet


def text_key(text: str) -> str:
    """8-byte BLAKE2b hex digest of a text: the cache key of a query or a passage."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


class ScoreCache:
    """On-disk cache ``(query-text hash, passage-text hash) → score`` for one teacher.

    Stored as ``<cache_dir>/teacher_scores/<teacher-slug>.parquet`` (columns ``qkey, dkey, score``),
    rewritten atomically on :meth:`flush`.
    """

    def __init__(self, teacher_name: str, cache_dir: str | os.PathLike | None):
        self.path = (
            None
            if cache_dir is None
            else Path(cache_dir) / "teacher_scores" / f"{slug(teacher_name)}.parquet"
        )
        self.scores: dict[tuple[str, str], float] = {}
        self._dirty = False
        if self.path is not None and self.path.exists():
            df = pd.read_parquet(self.path)
            self.scores = dict(
                zip(zip(df["qkey"], df["dkey"], strict=True), df["score"], strict=True)
            )

    def flush(self) -> None:
        if self.path is None or not self._dirty:
            return
        keys = list(self.scores)
        df = pd.DataFrame(
            {
                "qkey": [k[0] for k in keys],
                "dkey": [k[1] for k in keys],
                "score": np.fromiter(self.scores.values(), dtype=np.float64, count=len(keys)),
            }
        )
        atomic_write_parquet(df, self.path)
        self._dirty = False

    def update(self, keys, values) -> None:
        for key, value in zip(keys, values, strict=True):
            self.scores[key] = float(value)
        self._dirty = True
