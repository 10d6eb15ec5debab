"""Progress bars for long runs (tqdm), silenced with ``LOCENT_NO_PROGRESS=1`` (tests, CI logs)."""

from __future__ import annotations

import os

from tqdm.auto import tqdm


def progress(iterable=None, **kwargs):
    kwargs.setdefault("disable", os.environ.get("LOCENT_NO_PROGRESS", "") == "1")
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, **kwargs)
