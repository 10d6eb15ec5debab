"""Disjoint query splits of an ir_datasets dataset, registered as ir_datasets datasets.

Name scheme (an ID any locent step accepts, e.g. ``prepare --train``, a plan's tests)::

    <parent>/locent-split/<part>                       test fraction 0.5, seed 0
    <parent>/locent-split-f<fraction>-s<seed>/<part>   e.g. vaswani/locent-split-f0.3-s7/test

``<parent>``: any ir_datasets ID (``vaswani``, ``cranfield``,
``msmarco-passage/trec-dl-2019/judged``, ``local/<name>``); ``<part>``: ``train`` or ``test``.
The parent comes first so that the split shares the parent's corpus ID
(:func:`locent.realdata.datasets.corpus_id` takes the first path segment): train and test read
one BM25 index and one embedding cache.

A split dataset holds the parent's **docs** (the very handler), and of its **judged queries**
(those with at least one qrels row, in the parent's order) one part, with the **qrels** (and the
**scoreddocs**, when the parent has them, e.g. DL19/DL20) of that part's queries only.

Rule (deterministic, no RNG state): order the judged query ids q by
(sha256(``"locent-split:<seed>:<q>"``), q); the first n_test = round(fraction · n) are ``test``,
the rest ``train`` (1 ≤ n_test ≤ n − 1 is required). The salt keeps the rule independent of the
grid's CRC32 held-out and validation splits. :func:`split_record` is the provenance of a split
(rule, parent, fraction, seed, counts, sha256 of each part's ids).

:func:`register` installs the pattern in ``ir_datasets.registry`` once per process; it is called
by :func:`locent.realdata.datasets.load` before any ``ir_datasets.load`` (ir_datasets is imported
only after locent chose ``IR_DATASETS_HOME``). A malformed name (unknown part, fraction outside
(0, 1), the parent after the marker) raises ``ValueError`` naming the ID and the scheme.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache

MARKER = "locent-split"
PARTS = ("train", "test")
DEFAULT_TEST_FRACTION = 0.5
DEFAULT_SEED = 0
RULE = (
    "judged queries (>= 1 qrels row) ordered by (sha256('locent-split:<seed>:<query id>'), id); "
    "the first round(fraction * n) are test, the rest train"
)
SCHEME = f"<parent>/{MARKER}[-f<fraction>-s<seed>]/<train|test>"
_NAME = re.compile(
    rf"^(?P<parent>.+)/{MARKER}(?:-f(?P<fraction>[0-9]*\.?[0-9]+)-s(?P<seed>[0-9]+))?"
    r"/(?P<part>[^/]+)$"
)
#: what ir_datasets hands to :func:`_initialise`: any ID with a path segment starting with the
#: marker, so that a malformed one reaches the clear error below instead of a ``KeyError``
_PATTERN = rf"^(.*(?:^|/){MARKER}[^/]*(?:/.*)?)$"


@dataclass(frozen=True)
class SplitName:
    """A parsed split ID: parent dataset, part, test fraction and seed."""

    parent: str
    part: str
    fraction: float = DEFAULT_TEST_FRACTION
    seed: int = DEFAULT_SEED

    @property
    def dataset_id(self) -> str:
        return split_id(self.parent, self.part, self.fraction, self.seed)


def split_id(
    parent: str, part: str, fraction: float = DEFAULT_TEST_FRACTION, seed: int = DEFAULT_SEED
) -> str:
    """The ID of ``part`` of ``parent``'s split (the short form for the defaults)."""
    if part not in PARTS:
        raise ValueError(f"split part must be one of {PARTS}; got {part!r}")
    if not 0 < fraction < 1:
        raise ValueError(f"split test fraction must be in (0, 1); got {fraction!r}")
    if (fraction, seed) == (DEFAULT_TEST_FRACTION, DEFAULT_SEED):
        return f"{parent}/{MARKER}/{part}"
    return f"{parent}/{MARKER}-f{fraction:g}-s{int(seed)}/{part}"


def is_split(dataset_id) -> bool:
    """Whether ``dataset_id`` names a split (well-formed or not)."""
    return isinstance(dataset_id, str) and re.match(_PATTERN, dataset_id) is not None


def parse_split(dataset_id: str) -> SplitName:
    """The :class:`SplitName` of ``dataset_id``; ``ValueError`` naming the ID and the scheme."""
    match = _NAME.match(dataset_id) if isinstance(dataset_id, str) else None
    why = None
    if match is None:
        why = "not of the form"
    elif match["part"] not in PARTS:
        why = f"part {match['part']!r} is not one of {PARTS}; expected"
    elif MARKER in match["parent"].split("/")[-1]:
        why = "the marker appears twice; expected"
    if why:
        raise ValueError(f"malformed split ID {dataset_id!r}: {why} {SCHEME}")
    fraction = float(match["fraction"]) if match["fraction"] else DEFAULT_TEST_FRACTION
    if not 0 < fraction < 1:
        raise ValueError(
            f"malformed split ID {dataset_id!r}: test fraction {fraction} is not in (0, 1)"
        )
    seed = int(match["seed"]) if match["seed"] else DEFAULT_SEED
    return SplitName(match["parent"], match["part"], fraction, seed)


def _parent(dataset_id: str, parent: str):
    """The parent's ir_datasets dataset (read through ir_datasets itself: this module is imported
    by :mod:`locent.realdata.datasets`, so it does not import it back)."""
    import ir_datasets

    try:
        return ir_datasets.load(parent)
    except KeyError as err:
        raise ValueError(
            f"split ID {dataset_id!r}: parent {parent!r}: unknown ir_datasets ID (see "
            "https://ir-datasets.com for the catalogue)"
        ) from err


@cache
def _judged(parent: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """``(query ids in the parent's order, ids with at least one qrels row)``."""
    dataset = _parent(parent, parent)
    order = tuple(str(q.query_id) for q in dataset.queries_iter())
    return order, frozenset(str(q.query_id) for q in dataset.qrels_iter())


def _order_key(seed: int, query_id: str) -> tuple[str, str]:
    return hashlib.sha256(f"{MARKER}:{seed}:{query_id}".encode()).hexdigest(), query_id


@cache
def partition(
    parent: str, fraction: float = DEFAULT_TEST_FRACTION, seed: int = DEFAULT_SEED
) -> dict[str, tuple[str, ...]]:
    """``{"train": ids, "test": ids}``: the judged queries of ``parent`` split by the rule of the
    module doc, each part in the parent's query order. Raises ``ValueError`` when the parent has
    fewer than 2 judged queries (no disjoint non-empty parts)."""
    order, judged = _judged(parent)
    ids = [q for q in order if q in judged]
    n_test = int(round(fraction * len(ids)))
    if not 1 <= n_test <= len(ids) - 1:
        raise ValueError(
            f"split of {parent!r} with test fraction {fraction}: {len(ids)} judged queries give "
            f"{n_test} test and {len(ids) - n_test} training queries; both must be >= 1"
        )
    test = set(sorted(ids, key=lambda q: _order_key(seed, q))[:n_test])
    return {
        "train": tuple(q for q in ids if q not in test),
        "test": tuple(q for q in ids if q in test),
    }


def query_ids(dataset_id: str) -> tuple[str, ...]:
    """The query ids of the split ``dataset_id``."""
    name = parse_split(dataset_id)
    return partition(name.parent, name.fraction, name.seed)[name.part]


def split_record(dataset_id: str) -> dict:
    """The provenance of a split: its rule, parent, part, fraction, seed, the counts of both parts
    and the sha256 of each part's ids (newline-joined, in order)."""
    name = parse_split(dataset_id)
    parts = partition(name.parent, name.fraction, name.seed)
    judged = _judged(name.parent)[1]
    return {
        "dataset_id": dataset_id,
        "parent": name.parent,
        "part": name.part,
        "test_fraction": name.fraction,
        "seed": name.seed,
        "rule": RULE,
        **{f"n_{p}": len(ids) for p, ids in parts.items()},
        **{
            f"{p}_query_ids_sha256": hashlib.sha256("\n".join(ids).encode()).hexdigest()
            for p, ids in parts.items()
        },
        # qrels of query ids the parent's queries lack belong to neither part (counted)
        "n_judged_ids_without_query": len(judged - set(parts["train"]) - set(parts["test"])),
    }


def _initialise(dataset_id: str, _groups=()):
    """ir_datasets' pattern initialiser: the :class:`Dataset` of a split ID (lazy parts)."""
    name = parse_split(dataset_id)
    parent = _parent(dataset_id, name.parent)
    from locent.realdata.split_components import split_dataset

    return split_dataset(parent, lambda: frozenset(query_ids(dataset_id)), dataset_id)


@cache
def register() -> None:
    """Install the split pattern in ``ir_datasets.registry`` (once per process; call only after
    ``datasets.ensure_irds_home``)."""
    import ir_datasets

    ir_datasets.registry.register_pattern(_PATTERN, _initialise)
