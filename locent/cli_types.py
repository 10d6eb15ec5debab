"""argparse ``type=`` helpers: every argument is checked while the command line is parsed, before
any work, and a bad one ends as ``locent <command>: error: argument --x: <why>`` with exit 2.

Use them in each part's ``register``::

    parser.add_argument("--queries", type=nonneg_int)
    parser.add_argument("--k", type=int_at_least(2, "a group needs at least one pair"))
    parser.add_argument("--datasets", type=comma_choices(lambda: PLANS, "dataset"))
    parser.add_argument("--samplers", nargs="+", type=one_of(SAMPLERS, "sampler"))
    parser.add_argument("--teacher-run", type=existing_file)
    parser.add_argument("--out", type=writable_out_dir, default=DEFAULT_OUT)

Each helper returns the parsed value (``writable_out_dir`` returns its text unchanged, so
``args.out`` stays the string the user typed). :func:`require_results` is the matching check for
commands that read results (``figures``, ``checks``): none there → :class:`MissingResults` naming
the command that writes them.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from locent.errors import MissingResults

__all__ = [
    "PRODUCERS",
    "comma_choices",
    "existing_file",
    "finite_float",
    "float_in",
    "int_at_least",
    "nonneg_float",
    "nonneg_int",
    "one_of",
    "open_probability",
    "positive_float",
    "positive_int",
    "probability",
    "require_results",
    "writable_out_dir",
]


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def int_at_least(low: int, why: str = "") -> Callable[[str], int]:
    """An integer ``>= low`` (``why`` is appended to the message, e.g. the reason for ``low``)."""

    def parse(text: str) -> int:
        value = _integer(text)
        if value < low:
            reason = f" ({why})" if why else ""
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text}{reason}")
        return value

    parse.__name__ = f"int >= {low}"  # argparse names the type in "invalid <type> value" errors
    return parse


def positive_int(text: str) -> int:
    """An integer ``>= 1`` (a count of queries, steps, seeds)."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def nonneg_int(text: str) -> int:
    """An integer ``>= 0`` (a count where 0 means "all" or "none")."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text}")
    return value


def finite_float(text: str) -> float:
    """A finite real number (``nan``, ``inf`` refused: no bound or parameter means them)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def float_in(
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    what: str = "",
) -> Callable[[str], float]:
    """A finite number in ``[low, high]`` (an end is open with ``low_open``/``high_open``,
    absent with ``None``); ``what`` names the quantity in the message (``"entropy H(g)"``)."""
    lo_sign, hi_sign = ("<" if low_open else "<="), ("<" if high_open else "<=")
    parts = []
    if low is not None:
        parts.append(f"{low:g} {lo_sign}")
    parts.append(what or "x")
    if high is not None:
        parts.append(f"{hi_sign} {high:g}")
    rule = " ".join(parts)

    def parse(text: str) -> float:
        value = finite_float(text)
        below = low is not None and (value <= low if low_open else value < low)
        above = high is not None and (value >= high if high_open else value > high)
        if below or above:
            raise argparse.ArgumentTypeError(f"must satisfy {rule}, got {text}")
        return value

    parse.__name__ = rule
    return parse


positive_float = float_in(0.0, low_open=True)
positive_float.__doc__ = "A finite number > 0 (a temperature, a constant, a range)."
nonneg_float = float_in(0.0)
nonneg_float.__doc__ = "A finite number >= 0 (a risk, a Lipschitz constant, a norm)."
probability = float_in(0.0, 1.0, what="p")
probability.__doc__ = "A probability in [0, 1]."
open_probability = float_in(0.0, 1.0, low_open=True, high_open=True, what="p")
open_probability.__doc__ = "A probability in (0, 1) (a confidence level δ, a quantile)."


def comma_choices(
    registry: Iterable[str] | Callable[[], Iterable[str]], what: str
) -> Callable[[str], tuple[str, ...]]:
    """A comma-separated list of names, each checked against ``registry`` (a collection, or a
    function returning one, called at parse time so registration stays cheap); returns the
    names as a tuple in the order given. ``what`` names one entry (``"dataset"``)."""

    def parse(text: str) -> tuple[str, ...]:
        known = list(registry() if callable(registry) else registry)
        names = tuple(v.strip() for v in text.split(",") if v.strip())
        if not names:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated list of {what}s among {', '.join(known)}"
            )
        unknown = [n for n in names if n not in known]
        if unknown:
            plural = "s" if len(unknown) > 1 else ""
            raise argparse.ArgumentTypeError(
                f"unknown {what}{plural} {', '.join(map(repr, unknown))}; known: {', '.join(known)}"
            )
        return names

    parse.__name__ = f"{what} list"
    return parse


def one_of(
    registry: Iterable[str] | Callable[[], Iterable[str]], what: str
) -> Callable[[str], str]:
    """One name checked against ``registry`` (a collection, or a function returning one, called
    at parse time); the message lists the known names like :func:`comma_choices`. Use it with
    ``nargs="+"`` for a space-separated list."""

    def parse(text: str) -> str:
        known = list(registry() if callable(registry) else registry)
        if text not in known:
            raise argparse.ArgumentTypeError(f"unknown {what} {text!r}; known: {', '.join(known)}")
        return text

    parse.__name__ = what
    return parse


def existing_file(text: str) -> Path:
    """A readable regular file (a teacher run, a query file), as a ``Path``."""
    path = Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"not a file: {text}")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"file not readable: {text}")
    return path


def writable_out_dir(text: str) -> str:
    """An output folder that is a writable directory, or can be created (its nearest existing
    ancestor is a writable directory). Nothing is created here. Returns ``text`` unchanged."""
    path = Path(text).expanduser()
    if path.exists():
        if not path.is_dir():
            raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise argparse.ArgumentTypeError(f"folder {text} is not writable")
        return text
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot create {text}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot create {text}: folder {parent} is not writable")
    return text


#: the command that writes each result file (by its :class:`locent.results.ResultPaths` name)
PRODUCERS: dict[str, str] = {
    "theory_results": "locent theory",
    "sim_table": "locent simulate --preset smoke|paper",
    "sim_summary": "locent simulate --preset smoke|paper",
    "samplers": "locent realdata measure",
    "measure_per_query": "locent realdata measure",
    "grid_results": "locent realdata grid",
    "grid_per_query": "locent realdata grid",
    "grid_logs": "locent realdata grid",
    "score_at_rank": "locent realdata grid",
    "figure_index": "locent figures",
    "verdicts": "locent checks",
}


def require_results(paths, names: Sequence[str] | None = None) -> list[str]:
    """The names among ``names`` (default: every result the checks read) whose file exists under
    ``paths`` (a :class:`locent.results.ResultPaths`); :class:`MissingResults` naming the folder
    and the commands that write them when there is none at all. Some missing is normal (a run
    without real data): those checks are INCONCLUSIVE and those figures are skipped."""
    names = list(names or [n for n in PRODUCERS if n not in ("figure_index", "verdicts")])
    present = [n for n in names if getattr(paths, n).is_file()]
    if not present:
        producers = list(dict.fromkeys(PRODUCERS[n] for n in names))
        where = paths.out if Path(paths.out).is_dir() else f"{paths.out} (no such folder)"
        raise MissingResults(
            f"no results under {where}; they are written by `locent run` or by "
            + ", ".join(f"`{p}`" for p in producers)
            + " (with the same --out)"
        )
    return present
