"""``locent theory`` runs every proof and check; ``locent theory bound``: is my setting vacuous?

``locent theory [--out DIR] [--json]`` runs :func:`run_theory` (the theory stage of ``locent
run`` too): the symbolic proofs (``locent.theory.symbolic``) and the numeric checks
(``locent.theory.checks``), written to ``<out>/theory/results.json`` (a list of ``{statement,
method, result, detail}``) with ``results.provenance.json`` beside it. The command prints a table
(result, statement, method) and exits 0 only if every statement PASSes (``locent run`` records a
FAIL as a finding and goes on). ``--json`` prints the list as JSON on stdout and nothing else.

``locent theory bound --form i|ii|iii|transfer ...`` evaluates one bound of THEORY.md for given
parameters, says whether it is vacuous (at least the loss range) and the smallest n that would
make it not.

Registration only declares arguments (the ``--loss`` choices are read from the loss registry);
the proofs (sympy) and checks are imported in the handlers.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import sys
import time

from locent.cli_types import (
    finite_float,
    float_in,
    nonneg_float,
    open_probability,
    positive_float,
    positive_int,
    writable_out_dir,
)
from locent.errors import UserError
from locent.results import DEFAULT_OUT, ResultPaths

FORMS = ("i", "ii", "iii", "transfer")
#: the largest pairwise entropy: h(1/2) = ln 2 nats (Definition 2.3)
MAX_PAIRWISE_ENTROPY = math.log(2.0)


def register(subparsers) -> None:
    from locent.theory import LOSSES

    # Lemma C's loss range B_φ is defined for the Bregman distillation losses of the registry
    range_losses = [name for name, spec in LOSSES.items() if spec.distillation]
    parser = subparsers.add_parser(
        "theory",
        help="check every statement of THEORY.md (sympy proofs + numeric checks)",
        description="Run the symbolic proofs and numeric checks of THEORY.md; print a table and "
        "write <out>/theory/results.json. Exit code 0 only when every statement PASSes.",
    )
    parser.add_argument(
        "--out",
        type=writable_out_dir,
        default=DEFAULT_OUT,
        help=f"output folder (default ./{DEFAULT_OUT})",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    parser.add_argument(
        "--seed", type=int, default=0, help="base seed of the random numeric checks (default 0)"
    )
    parser.set_defaults(func=_run_all)
    sub = parser.add_subparsers(dest="theory_command", metavar="SUBCOMMAND")
    bound = sub.add_parser(
        "bound",
        help="evaluate a bound for given parameters: vacuous? smallest non-vacuous n?",
        description="Evaluate Theorem 2.1 (i), (ii), (iii) or Corollary 2.1 for given parameters "
        "and say whether the bound is vacuous (>= the loss range) and the smallest n that makes "
        "it non-vacuous. The loss range B is taken from Lemma C for --loss unless --loss-range "
        "is given.",
    )
    bound.add_argument("--out", default=argparse.SUPPRESS, help="output folder (unused here)")
    bound.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    bound.add_argument("--form", required=True, choices=FORMS, help="which bound")
    # ranges a value can never leave are refused while parsing; --n and --entropy in the handler
    # (:func:`check_bound_args`), whose messages say why
    bound.add_argument("--n", type=finite_float, help="number of training queries (>= 1)")
    bound.add_argument(
        "--delta", type=open_probability, default=0.05, help="confidence (default 0.05)"
    )
    bound.add_argument("--diameter", type=nonneg_float, help="essential diameter Delta_Q")
    bound.add_argument("--loss", default="soft_ranknet", choices=range_losses)
    bound.add_argument("--tau", type=positive_float, default=1.0, help="label temperature")
    bound.add_argument("--student-lipschitz", type=nonneg_float, help="L (form i, ii)")
    bound.add_argument("--teacher-lipschitz", type=nonneg_float, default=1.0, help="L_g")
    bound.add_argument("--loss-range", type=positive_float, help="B; overrides Lemma C")
    bound.add_argument("--vc-dim", type=positive_float, help="pseudo-dimension d (form i, ii)")
    bound.add_argument(
        "--n-weights", type=positive_float, help="d = W layers ln W from network size"
    )
    bound.add_argument("--n-layers", type=positive_float, help="layers for --n-weights")
    bound.add_argument(
        "--C", type=positive_float, default=1.0, help="absolute constant of the VC bound"
    )
    bound.add_argument(
        "--entropy", type=finite_float, help="teacher entropy H(g) in nats, 0..ln 2 (form ii)"
    )
    bound.add_argument("--best-risk", type=nonneg_float, default=0.0, help="R_RN(f*) (form ii)")
    bound.add_argument("--eta", type=positive_float, default=0.25, help="margin eta (form ii)")
    bound.add_argument("--empirical-risk", type=nonneg_float, default=0.0, help="R_hat (form iii)")
    bound.add_argument("--weight-norm", type=nonneg_float, help="W (form iii)")
    bound.add_argument(
        "--feature-lipschitz", type=nonneg_float, default=1.0, help="Lambda (form iii)"
    )
    bound.add_argument("--risk", type=nonneg_float, help="sampler risk R^nu (transfer)")
    bound.add_argument(
        "--kappa",
        type=float_in(1.0, what="kappa"),
        help="density ratio kappa >= 1 (transfer; ess sup of dmu/dnu is at least 1)",
    )
    bound.add_argument("--group-size", type=positive_int, default=2, help="k of kappa^k (transfer)")
    bound.set_defaults(func=_run_bound)


# --------------------------------------------------------------------------- locent theory


def run_all(seed: int = 0) -> list[dict]:
    """Every proof and check as ``{statement, method, result, detail}`` dicts.

    The numeric checks that draw random samples get seed ``seed + their default seed`` (so
    ``seed=0`` reproduces the defaults and any other seed gives fresh, reproducible samples).
    """
    from locent.theory import checks, symbolic

    from locent.progress import progress

    def seeded(check):
        default = inspect.signature(check).parameters.get("seed")
        if default is None:
            return lambda: [check()]
        return lambda: [check(seed=seed + default.default)]

    jobs = [("symbolic proofs", symbolic.run_proofs)] + [
        (check.__name__, seeded(check)) for check in checks.CHECKS
    ]
    results = []
    for _, job in progress(jobs, desc="theory", unit="group", file=sys.stderr):
        results.extend(r.as_dict() for r in job())
    return results


def _table(results: list[dict]) -> str:
    lines = []
    for row in results:
        lines.append(f"{row['result']:<4}  {row['statement']}")
        lines.append(f"      method: {row['method']}")
        if row["result"] != "PASS":
            lines.append(f"      detail: {row['detail']}")
    return "\n".join(lines)


def run_theory(out: str | os.PathLike, seed: int = 0) -> list[dict]:
    """The theory stage: every proof and check (:func:`run_all`), written to
    ``<out>/theory/results.json`` with its provenance; returns the ``{statement, method, result,
    detail}`` dicts (a ``result`` other than PASS is a finding, not an error)."""
    from locent.provenance import atomic_write_json, provenance_path, provenance_record

    results = run_all(seed=seed)
    n_fail = sum(r["result"] != "PASS" for r in results)
    path = ResultPaths.locate(out).theory_results
    atomic_write_json(path, results)
    atomic_write_json(
        provenance_path(path),
        provenance_record(
            artefact=path.name,
            statements=len(results),
            passed=len(results) - n_fail,
            failed=n_fail,
            seed=seed,
            # no wall time here: evidence is byte-for-byte reproducible; the time of the theory
            # stage is in run_state.json (``locent run``) and printed by ``locent theory``
        ),
    )
    return results


def _run_all(args) -> int:
    start = time.perf_counter()
    results = run_theory(args.out, seed=args.seed)
    wall = time.perf_counter() - start
    n_fail = sum(r["result"] != "PASS" for r in results)
    path = ResultPaths.locate(args.out).theory_results
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        print(_table(results))
        print(
            f"\n{len(results)} statements: {len(results) - n_fail} PASS, {n_fail} FAIL "
            f"({wall:.1f} s); wrote {path}"
        )
    return 0 if n_fail == 0 else 1


# --------------------------------------------------------------------------- locent theory bound


def check_bound_args(args) -> None:
    """:class:`UserError` for a value no setting can have: n < 1 training queries, or an
    entropy outside [0, ln 2] (h(p) <= h(1/2) = ln 2 nats)."""
    if args.n is not None and args.n < 1:
        raise UserError(f"--n {args.n:g}: the number of training queries must be at least 1")
    if args.entropy is not None and not 0.0 <= args.entropy <= MAX_PAIRWISE_ENTROPY:
        raise UserError(
            f"--entropy {args.entropy:g}: the pairwise entropy H(g) lies in [0, ln 2] = "
            f"[0, {MAX_PAIRWISE_ENTROPY:.4f}] nats (Definition 2.3)"
        )


def _need(args, *names: str) -> None:
    missing = [f"--{n.replace('_', '-')}" for n in names if getattr(args, n) is None]
    if missing:
        raise ValueError(f"form {args.form!r} needs {', '.join(missing)}")


def _vc_dim(args) -> float:
    from locent.theory import vc_dim_network

    if args.vc_dim is not None:
        return args.vc_dim
    if args.n_weights is not None and args.n_layers is not None:
        return float(vc_dim_network(args.n_weights, args.n_layers))
    raise ValueError(f"form {args.form!r} needs --vc-dim (or --n-weights and --n-layers)")


def _range(args, student_lipschitz: float | None) -> float:
    from locent.theory import loss_range

    if args.loss_range is not None:
        return args.loss_range
    if student_lipschitz is None or args.diameter is None:
        raise ValueError(
            f"form {args.form!r} needs --loss-range, or --diameter and the student's Lipschitz "
            "constant for Lemma C"
        )
    return float(
        loss_range(args.loss, student_lipschitz, args.teacher_lipschitz, args.diameter, args.tau)
    )


def _smallest_n_by_search(bound_of_n, limit: float, ceiling: float = 1e30):
    """Smallest integer n with bound_of_n(n) < limit for a bound decreasing in n (proved by the
    monotonicity statements): doubling, then bisection. ``inf`` if none up to ``ceiling``."""
    if bound_of_n(ceiling) >= limit:
        return math.inf
    hi = 1.0
    while bound_of_n(hi) >= limit:
        hi *= 2
    lo = hi / 2 if hi > 1 else 0.0
    while hi - lo > 1:
        mid = math.floor((lo + hi) / 2)
        if bound_of_n(mid) < limit:
            hi = mid
        else:
            lo = mid
    return int(hi)


def evaluate_bound(args) -> dict:
    """The ``locent theory bound`` computation as a dict (also the ``--json`` output)."""
    from locent import theory as T

    form = args.form
    if form == "transfer":
        _need(args, "risk", "kappa")
        obj = T.TransferBound(group_size=args.group_size)
        value = float(obj.value(risk=args.risk, kappa=args.kappa))
        limit = args.loss_range if args.loss_range is not None else 1.0
        inputs = {"risk": args.risk, "kappa": args.kappa}
        smallest = None  # no n in Corollary 2.1
    elif form == "i":
        _need(args, "n")
        d = _vc_dim(args)
        limit = _range(args, args.student_lipschitz)
        obj = T.GeneralisationBound(delta=args.delta, C=args.C)
        inputs = {"loss_range": limit, "vc_dim": d, "n": args.n}
        value = float(obj.value(**inputs))
        smallest = obj.smallest_non_vacuous_n(loss_range=limit, vc_dim=d)
    elif form == "ii":
        _need(args, "n", "entropy")
        d = _vc_dim(args)
        b_rn = _range(args, args.student_lipschitz)
        obj = T.MisorderingGeneralisationBound(delta=args.delta, eta=args.eta, C=args.C)
        inputs = {
            "entropy": args.entropy,
            "best_risk": args.best_risk,
            "loss_range": b_rn,
            "vc_dim": d,
            "n": args.n,
        }
        value = float(obj.value(**inputs))
        limit = 1.0  # a misordering probability

        def at(n):
            return float(obj.value(**{**inputs, "n": n}))

        smallest = _smallest_n_by_search(at, limit)
    else:  # iii
        _need(args, "n", "diameter", "weight_norm")
        student_l = args.weight_norm * args.feature_lipschitz
        limit = _range(args, student_l)
        rho = float(
            T.rademacher_rho(
                args.loss,
                args.tau,
                args.weight_norm,
                args.feature_lipschitz,
                args.teacher_lipschitz,
                args.diameter,
            )
        )
        obj = T.RademacherBound(delta=args.delta)
        common = {
            "rho": rho,
            "weight_norm": args.weight_norm,
            "feature_lipschitz": args.feature_lipschitz,
            "diameter": args.diameter,
        }
        inputs = {"empirical_risk": args.empirical_risk, **common, "n": args.n, "loss_range": limit}
        value = float(obj.value(**inputs))
        smallest = obj.smallest_non_vacuous_n(
            loss_range=limit, empirical_risk=args.empirical_risk, **common
        )
    vacuous = bool(T.is_vacuous(value, limit))
    if smallest is not None and not isinstance(smallest, int):
        smallest = None if math.isinf(float(smallest)) else int(smallest)
    return {
        "form": form,
        "bound": repr(obj),
        "statement": obj.statement,
        "inputs": inputs,
        "value": value,
        "loss_range": limit,
        "vacuous": vacuous,
        "smallest_non_vacuous_n": smallest,
        "never_non_vacuous": form != "transfer" and smallest is None,
    }


def _run_bound(args) -> int:
    check_bound_args(args)
    try:
        out = evaluate_bound(args)
    except ValueError as err:  # a missing option or a range the bound function refuses
        raise UserError(str(err)) from err
    if getattr(args, "json", False):
        print(json.dumps(out, indent=1))
        return 0
    what = "gap R(f_hat) - R(f*)" if out["form"] == "i" else "risk bound"
    print(f"{out['statement']}: {out['bound']}")
    print("  inputs: " + ", ".join(f"{k}={v:g}" for k, v in out["inputs"].items()))
    print(f"  {what} = {out['value']:.6g}   range = {out['loss_range']:.6g}")
    verdict = "VACUOUS (>= the range)" if out["vacuous"] else "non-vacuous (< the range)"
    print(f"  {verdict}")
    if out["form"] != "transfer":
        if out["smallest_non_vacuous_n"] is None:
            print("  no n makes it non-vacuous (its n-independent part already reaches the range)")
        else:
            print(f"  smallest non-vacuous n = {out['smallest_non_vacuous_n']:,}")
    return 0
