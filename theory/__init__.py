"""locent.theory: every definition, lemma, theorem and corollary of THEORY.md in code.

Scores ``(..., k)``, embeddings ``(..., k, D)``, results ``(...)``; numpy in → numpy out, torch in →
torch out (device and dtype kept, autograd kept for the losses). Bad input raises ValueError naming
the argument and the group index. The symbolic proofs live in ``locent.theory.symbolic`` (not
imported here: sympy is slow to import).
"""

from .bound_objects import (
    BOUNDS,
    Bound,
    EntropyFloor,
    GeneralisationBound,
    LossRange,
    MarginMSEMisorderingBound,
    MisorderingBound,
    MisorderingGeneralisationBound,
    RademacherBound,
    TransferBound,
    parse_bound,
)
from .bounds import (
    entropy_floor,
    generalisation_bound,
    is_vacuous,
    loss_range,
    misordering_bound,
    misordering_bound_margin_mse,
    misordering_generalisation_bound,
    optimal_eta,
    rademacher_bound,
    rademacher_rho,
    smallest_non_vacuous_n,
    transfer_bound,
    vc_dim_network,
)
from .bregman import (
    LOGSUMEXP,
    NEG_ENTROPY,
    POTENTIALS,
    SOFTPLUS,
    SQUARE,
    Potential,
    bregman_divergence,
    get_potential,
    potential_value,
)
from .entropy import binary_entropy, listwise_entropy, pairwise_entropy
from .geometry import aggregate_diameter, density_ratio, essential_diameter, quantile_linear
from .losses import (
    LOSSES,
    LossSpec,
    get_loss,
    hard_ranknet,
    lce,
    listwise_kl,
    margin_mse,
    soft_ranknet,
)
from .pairs import pair_index, pair_margins
from .risk import misordering_counts, misordering_rate, pairwise_risk

__all__ = [
    "BOUNDS",
    "Bound",
    "EntropyFloor",
    "GeneralisationBound",
    "LOGSUMEXP",
    "LOSSES",
    "LossRange",
    "LossSpec",
    "MarginMSEMisorderingBound",
    "MisorderingBound",
    "MisorderingGeneralisationBound",
    "NEG_ENTROPY",
    "POTENTIALS",
    "Potential",
    "RademacherBound",
    "SOFTPLUS",
    "SQUARE",
    "TransferBound",
    "aggregate_diameter",
    "binary_entropy",
    "bregman_divergence",
    "density_ratio",
    "entropy_floor",
    "essential_diameter",
    "generalisation_bound",
    "get_loss",
    "get_potential",
    "hard_ranknet",
    "is_vacuous",
    "lce",
    "listwise_entropy",
    "listwise_kl",
    "loss_range",
    "margin_mse",
    "misordering_bound",
    "misordering_bound_margin_mse",
    "misordering_counts",
    "misordering_generalisation_bound",
    "misordering_rate",
    "optimal_eta",
    "pair_index",
    "pair_margins",
    "pairwise_entropy",
    "pairwise_risk",
    "parse_bound",
    "potential_value",
    "quantile_linear",
    "rademacher_bound",
    "rademacher_rho",
    "smallest_non_vacuous_n",
    "soft_ranknet",
    "transfer_bound",
    "vc_dim_network",
]
