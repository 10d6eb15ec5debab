"""``locent diagnose FILE [FILE ...]``: argument declarations and the thin handler.

The work is :func:`locent.realdata.diagnose.diagnose`; this module only parses, registers a local
collection when ``--collection`` names one, and prints the side-by-side table and where the files
went (``<out>/diagnose/``). Any mistake in an input file ends as
``locent diagnose: error: <file>: <what>`` with exit 2.
"""

from __future__ import annotations

from pathlib import Path

from locent.cli_types import (
    comma_choices,
    existing_file,
    nonneg_float,
    open_probability,
    positive_float,
    positive_int,
    writable_out_dir,
)
from locent.errors import UserError
from locent.results import DEFAULT_OUT

REFERENCES = ("bm25", "random", "dense")
TRAINING_FORMATS = (
    "auto",
    "trec_run",
    "authors",
    "tevatron",
    "pyterrier",
    "st_hard_negatives",
    "st_pairs",
)


def references(text: str) -> tuple[str, ...] | str:
    """``--references``: ``auto``, ``none`` or a comma-separated list among bm25,random,dense."""
    if text in ("auto", "none"):
        return text
    return comma_choices(REFERENCES, "reference sampler")(text)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "diagnose",
        help="Δ̂, H(g), κ, Lemma B floor and Theorem 2.1 (iii) of your training files",
        description="Diagnose training files (authors' JSONL, sentence-transformers tables, "
        "Tevatron JSONL, TREC runs, PyTerrier tables; recognised by content): locality, teacher "
        "entropy, kappa against a stated test-time run, the Lemma B entropy floor and Theorem "
        "2.1 (iii) for a stated linear student class; side by side with locent's reference "
        "samplers when the collection is known. Writes <out>/diagnose/ (CSV, JSON, HTML).",
    )
    p.add_argument("files", nargs="+", type=existing_file, metavar="FILE", help="training files")
    p.add_argument("--format", default="auto", choices=TRAINING_FORMATS, help="default: by content")
    p.add_argument("--scores", type=existing_file, help="the authors' score file for their JSONL")
    p.add_argument(
        "--mode",
        default="score",
        choices=("score", "rank"),
        help="runs as training files: "
        "their score column, or g = -rank (a listwise re-ranker's permutation)",
    )
    p.add_argument("--k", type=positive_int, help="keep the first k items of each group")
    p.add_argument("--drop-short", action="store_true", help="drop (and count) groups below k")
    p.add_argument(
        "--teacher",
        help="teacher file (TREC run, score JSON, PyTerrier table; by content) or "
        "model name; default: the files' own scores",
    )
    p.add_argument("--teacher-mode", default="score", choices=("score", "rank"))
    p.add_argument(
        "--dataset",
        help="ir_datasets ID the ids come from (or local/<name>); needed for ids "
        "without texts and for the reference samplers",
    )
    p.add_argument(
        "--collection",
        type=Path,
        metavar="FOLDER",
        help="a local collection (docs/queries/"
        "qrels files or .ALL/.QRY/.REL) registered as local/<folder name>, used as --dataset",
    )
    p.add_argument("--encoder", default=None, help="locality encoder (default all-MiniLM-L6-v2)")
    p.add_argument("--target", type=existing_file, help="test-time run: mu_q = its top-k")
    p.add_argument("--target-k", type=positive_int, default=100, help="default 100")
    p.add_argument(
        "--references",
        type=references,
        default="auto",
        help="bm25,random,dense | none | "
        "auto (all three when --dataset and a teacher model are given)",
    )
    p.add_argument("--tau", type=positive_float, default=1.0, help="teacher temperature")
    student = p.add_argument_group("student class (Theorem 2.1 (iii), linear students)")
    student.add_argument("--weight-norm", type=nonneg_float, help="W: ||w|| <= W")
    student.add_argument("--feature-lipschitz", type=nonneg_float, help="Lambda of phi")
    student.add_argument("--loss", default="soft_ranknet", choices=("soft_ranknet", "margin_mse"))
    student.add_argument("--delta", type=open_probability, default=0.05, help="default 0.05")
    p.add_argument("--out", type=writable_out_dir, default=DEFAULT_OUT, help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    p.set_defaults(func=_diagnose)


def _diagnose(args) -> int:
    from locent.realdata.diagnose import StudentClass, diagnose, side_by_side
    from locent.realdata.encoders import DEFAULT_ENCODER

    from locent.resources import resolve_device

    try:
        dataset = args.dataset
        if args.collection is not None:
            from locent.realdata.formats import register_local_collection

            if dataset is not None:
                raise UserError("give --dataset or --collection, not both")
            dataset = register_local_collection(args.collection).dataset_id
        if (args.weight_norm is None) != (args.feature_lipschitz is None):
            raise UserError("a student class needs both --weight-norm and --feature-lipschitz")
        student = (
            None
            if args.weight_norm is None
            else StudentClass(args.weight_norm, args.feature_lipschitz, args.loss, args.delta)
        )
        refs = args.references
        if refs == "auto":
            from locent.realdata.diagnose_inputs import is_teacher_file

            model = args.teacher is not None and not is_teacher_file(args.teacher)
            refs = REFERENCES if dataset is not None and model else ()
        elif refs == "none":
            refs = ()
        table = diagnose(
            [str(f) for f in args.files],
            dataset=dataset,
            format=args.format,
            scores=args.scores,
            mode=args.mode,
            k=args.k,
            drop_short=args.drop_short,
            teacher=args.teacher,
            teacher_mode=args.teacher_mode,
            encoder=args.encoder or DEFAULT_ENCODER,
            target=args.target,
            target_k=args.target_k,
            student=student,
            references=refs,
            tau=args.tau,
            out=args.out,
            device=str(resolve_device(args.device)),
            seed=args.seed,
        )
    except (ValueError, KeyError) as err:  # the inputs' mistakes: message names file and field
        raise UserError(str(err).strip("'\"")) from err
    print(side_by_side(table))
    folder = Path(args.out) / "diagnose"
    print(f"written: {folder / 'diagnose.csv'}, diagnose.json, per_query.csv, diagnose.html")
    return 0
