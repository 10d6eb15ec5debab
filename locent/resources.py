"""Where things run and where the read-only shared data lives: one resolver each.

- :func:`resolve_device`: ``auto`` → CUDA when present, else CPU; ``cpu``, ``cuda``,
  ``cuda:<n>`` or a :class:`torch.device` as given; CUDA asked for without CUDA is an error.
  Always returns a :class:`torch.device` (callers that need a string use ``str(device)`` or
  ``device.type``).
- :func:`shared_root` (``$LOCENT_SHARED``, else ``<repo>/../shared``), :func:`shared_data_dir`
  (``$LOCENT_SHARED_DATA``, else ``<shared root>/data``) and :func:`shared_models_dir`
  (``$LOCENT_SHARED_MODELS``, else ``<shared root>/models``): the read-only data and models.
  Every part reads these three; none resolves the root itself.

This root module imports nothing of the parts (torch only inside :func:`resolve_device`), so
every part can import it.
"""

from __future__ import annotations

import os
from pathlib import Path

#: the repository root (the folder holding ``locent/``, ``realdata/``, ...)
REPO = Path(__file__).resolve().parent.parent
DEVICE_NAMES = ("auto", "cpu", "cuda")


def resolve_device(name=None):
    """``torch.device`` of ``name`` (``None``/``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:<n>"``,
    or a ``torch.device``). Raises ValueError naming the device for an unknown name or for CUDA
    when ``torch.cuda.is_available()`` is False."""
    import torch

    if isinstance(name, torch.device):
        name = str(name)
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda") and not str(name).startswith("cuda:"):
        raise ValueError(f"device must be auto, cpu, cuda or cuda:<n>; got {name!r}")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} asked for, but torch.cuda.is_available() is False")
    return torch.device(name)


def shared_root() -> Path:
    """``$LOCENT_SHARED``, else ``<repo>/../shared``: the read-only data and model root."""
    env = os.environ.get("LOCENT_SHARED")
    return Path(env) if env else REPO.parent / "shared"


def shared_data_dir() -> Path:
    """``$LOCENT_SHARED_DATA``, else ``<shared root>/data`` (read-only; never written)."""
    env = os.environ.get("LOCENT_SHARED_DATA")
    return Path(env) if env else shared_root() / "data"


def shared_models_dir() -> Path:
    """``$LOCENT_SHARED_MODELS``, else ``<shared root>/models`` (read-only)."""
    env = os.environ.get("LOCENT_SHARED_MODELS")
    return Path(env) if env else shared_root() / "models"
