"""Bounds as small objects with declared parameters and a canonical repr (the ir_measures way).

A bound object fixes the parameters a user chooses once (δ, η, τ, C, ...) and is evaluated on
the measured inputs with ``.value(**inputs)``::

    >>> RademacherBound(delta=0.05)
    RademacherBound(delta=0.05)
    >>> parse_bound("RademacherBound(delta=0.05)") == RademacherBound(delta=0.05)
    True

The repr lists every declared parameter in declared order, so equal objects print equally.
"""

from __future__ import annotations

import ast

from . import bounds as F
from ._validate import BOUND_RANGES, check_bound_argument, integer


class Bound:
    """Base class: ``PARAMS`` declares the parameters (name → default), ``INPUTS`` the inputs."""

    PARAMS: dict = {}
    INPUTS: tuple[str, ...] = ()
    statement: str = ""
    form: str | None = None  # "i" / "iii" for the forms with a vacuity question

    def __init__(self, **params):
        unknown = sorted(set(params) - set(self.PARAMS))
        if unknown:
            raise ValueError(
                f"{type(self).__name__}: unknown parameter(s) {unknown}; "
                f"declared: {list(self.PARAMS)}"
            )
        values = {**self.PARAMS, **params}
        for name, value in values.items():
            if value is None or name not in BOUND_RANGES:
                continue
            check_bound_argument(value, name)
        self.params = values

    def __getattr__(self, name):
        params = self.__dict__.get("params", {})
        if name in params:
            return params[name]
        raise AttributeError(name)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({inner})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.params == other.params

    def __hash__(self) -> int:
        return hash(repr(self))

    def _check_inputs(self, inputs: dict) -> None:
        missing = [k for k in self.INPUTS if k not in inputs]
        extra = sorted(set(inputs) - set(self.INPUTS))
        if missing or extra:
            raise ValueError(
                f"{self!r}.value: missing inputs {missing}, unexpected {extra}; "
                f"expected {list(self.INPUTS)}"
            )

    def value(self, **inputs):
        self._check_inputs(inputs)
        return self._value(**inputs)

    def _value(self, **inputs):  # pragma: no cover - abstract
        raise NotImplementedError

    def is_vacuous(self, loss_range, **inputs):
        """Whether the bound's value is at least the loss range B (see :func:`is_vacuous`).

        ``loss_range`` is also passed to :meth:`value` when the bound takes it as an input.
        """
        if "loss_range" in self.INPUTS:
            inputs["loss_range"] = loss_range
        return F.is_vacuous(self.value(**inputs), loss_range)


class MisorderingBound(Bound):
    """Lemma A: H/h(½+η) + R_RN/(2η²); ``eta=None`` minimises over η (:func:`optimal_eta`)."""

    PARAMS = {"eta": None}
    INPUTS = ("entropy", "kl_risk")
    statement = "Lemma A"

    def _value(self, entropy, kl_risk):
        if self.eta is None:
            return F.optimal_eta(entropy, kl_risk)[1]
        return F.misordering_bound(entropy, kl_risk, self.eta)


class MarginMSEMisorderingBound(Bound):
    """Lemma A, MarginMSE form: H/h(½+η) + R_MM/(τ logit(½+η))²."""

    PARAMS = {"eta": 0.25, "tau": 1.0}
    INPUTS = ("entropy", "mm_risk")
    statement = "Lemma A (MarginMSE)"

    def _value(self, entropy, mm_risk):
        return F.misordering_bound_margin_mse(entropy, mm_risk, self.eta, self.tau)


class EntropyFloor(Bound):
    """Lemma B: h(σ(L_g Δ/τ))."""

    PARAMS = {"tau": 1.0}
    INPUTS = ("teacher_lipschitz", "diameter")
    statement = "Lemma B"

    def _value(self, teacher_lipschitz, diameter):
        return F.entropy_floor(teacher_lipschitz, diameter, self.tau)


class LossRange(Bound):
    """Lemma C: the range B_φ of a distillation loss."""

    PARAMS = {"loss": "soft_ranknet", "tau": 1.0}
    INPUTS = ("student_lipschitz", "teacher_lipschitz", "diameter")
    statement = "Lemma C"

    def _value(self, student_lipschitz, teacher_lipschitz, diameter):
        return F.loss_range(self.loss, student_lipschitz, teacher_lipschitz, diameter, self.tau)


class GeneralisationBound(Bound):
    """Theorem 2.1 (i): the estimation gap 2B(C√(d/n) + √(ln(2/δ)/(2n)))."""

    PARAMS = {"delta": 0.05, "C": 1.0}
    INPUTS = ("loss_range", "vc_dim", "n")
    statement = "Theorem 2.1 (i)"
    form = "i"

    def _value(self, loss_range, vc_dim, n):
        return F.generalisation_bound(loss_range, vc_dim, n, self.delta, self.C)

    def smallest_non_vacuous_n(self, loss_range, vc_dim):
        return F.smallest_non_vacuous_n(
            "i", loss_range=loss_range, delta=self.delta, vc_dim=vc_dim, C=self.C
        )


class MisorderingGeneralisationBound(Bound):
    """Theorem 2.1 (ii): H/h(½+η) + [R_RN(f*) + 2B(C√(d/n) + √(ln(2/δ)/(2n)))]/(2η²)."""

    PARAMS = {"delta": 0.05, "eta": 0.25, "C": 1.0}
    INPUTS = ("entropy", "best_risk", "loss_range", "vc_dim", "n")
    statement = "Theorem 2.1 (ii)"

    def _value(self, entropy, best_risk, loss_range, vc_dim, n):
        return F.misordering_generalisation_bound(
            entropy, best_risk, loss_range, vc_dim, n, self.delta, self.eta, self.C
        )


class RademacherBound(Bound):
    """Theorem 2.1 (iii): R̂ + 2ρWΛΔ/√n + B√(ln(1/δ)/(2n))."""

    PARAMS = {"delta": 0.05}
    INPUTS = (
        "empirical_risk",
        "rho",
        "weight_norm",
        "feature_lipschitz",
        "diameter",
        "n",
        "loss_range",
    )
    statement = "Theorem 2.1 (iii)"
    form = "iii"

    def _value(self, empirical_risk, rho, weight_norm, feature_lipschitz, diameter, n, loss_range):
        return F.rademacher_bound(
            empirical_risk, rho, weight_norm, feature_lipschitz, diameter, n, self.delta, loss_range
        )

    def smallest_non_vacuous_n(
        self, loss_range, rho, weight_norm, feature_lipschitz, diameter, empirical_risk=0.0
    ):
        return F.smallest_non_vacuous_n(
            "iii",
            loss_range=loss_range,
            delta=self.delta,
            empirical_risk=empirical_risk,
            rho=rho,
            weight_norm=weight_norm,
            feature_lipschitz=feature_lipschitz,
            diameter=diameter,
        )


class TransferBound(Bound):
    """Corollary 2.1: κ^group_size · R^ν."""

    PARAMS = {"group_size": 2}
    INPUTS = ("risk", "kappa")
    statement = "Corollary 2.1"

    def __init__(self, **params):
        super().__init__(**params)
        self.params["group_size"] = integer(self.params["group_size"], "group_size", 1)

    def _value(self, risk, kappa):
        return F.transfer_bound(risk, kappa, self.group_size)


BOUNDS: dict[str, type[Bound]] = {
    cls.__name__: cls
    for cls in (
        MisorderingBound,
        MarginMSEMisorderingBound,
        EntropyFloor,
        LossRange,
        GeneralisationBound,
        MisorderingGeneralisationBound,
        RademacherBound,
        TransferBound,
    )
}


def parse_bound(text: str) -> Bound:
    """Parse a canonical repr such as ``"RademacherBound(delta=0.05)"`` (literal keyword values)."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"cannot parse bound {text!r}: {exc.msg}") from exc
    if isinstance(node, ast.Name):
        name, kwargs = node.id, {}
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args:
        name = node.func.id
        try:
            kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
        except ValueError as exc:
            raise ValueError(f"cannot parse bound {text!r}: parameters must be literals") from exc
    else:
        raise ValueError(f"cannot parse bound {text!r}: expected Name(param=value, ...)")
    if name not in BOUNDS:
        raise ValueError(f"unknown bound {name!r}; known: {sorted(BOUNDS)}")
    return BOUNDS[name](**kwargs)


__all__ = ["BOUNDS", "Bound", "parse_bound", *BOUNDS]
