"""The result contracts every part shares: one column name per THEORY.md quantity.

Simulation and real data write these names; figures and checks read exactly these names (no
alternative spellings). A newcomer finds every use of a quantity by grepping its constant or
its column string. Units: distances are chordal (``[0, 2]``), entropies in nats.

This module imports nothing of the parts (it sits at the bottom of the layers, beside
``locent.provenance``), so theory, simulate, realdata, figures and checks can all import it.
"""

from __future__ import annotations

#: default output folder of every command (``--out``)
DEFAULT_OUT = "locent-out"

# --- locality (THEORY.md §1, §6): essential diameter --------------------------------------
#: Δ̂_q(0.99) of one group (per-query tables)
DIAMETER_99 = "diameter_99"
#: Δ̂_q(1), the empirical diameter of one group
DIAMETER_100 = "diameter_100"
#: Δ̂_Q(0.99): 0.99-quantile over queries of Δ̂_q(0.99)
DIAMETER_Q_99 = "diameter_Q_99"
#: Δ̂_Q(1): max over queries of Δ̂_q(1)
DIAMETER_Q_100 = "diameter_Q_100"
#: mean over queries of Δ̂_q(0.99)
DIAMETER_MEAN_99 = "diameter_mean_99"

# --- entropy (Definitions 2.3/2.4) ---------------------------------------------------------
#: H(g): mean over queries of the teacher's pairwise entropy H_q(g) (nats)
PAIRWISE_ENTROPY = "pairwise_entropy"
#: pairwise entropy on the training sample (simulation)
PAIRWISE_ENTROPY_TRAIN = "pairwise_entropy_train"
#: listwise entropy of softmax(t/τ) over the group (nats)
LISTWISE_ENTROPY = "listwise_entropy"

# --- density ratio (Corollary 2.1) ---------------------------------------------------------
#: κ_Q: sup over queries of κ_q (∞ when μ is not ≪ ν)
KAPPA_Q = "kappa_Q"
#: κ_q of one query
KAPPA = "kappa"
#: mean over queries of κ_q
KAPPA_MEAN = "kappa_mean"

# --- risks and bounds (Definition 2.1, Theorem 2.1) ----------------------------------------
#: misordering against the teacher under the sampler measure ν (held-out, simulation)
MISORDERING_NU = "misordering_nu"
#: misordering against the teacher under the target measure μ (simulation)
MISORDERING_MU = "misordering_mu"
#: misordering against the teacher on the test candidates (real data)
MISORDERING = "misordering"
#: population Bregman risk R^ν_φ(f̂) (simulation, exact under ν)
POPULATION_RISK = "population_risk"
#: empirical Bregman risk R̂_φ(f̂) on the real test candidates
BREGMAN_RISK = "bregman_risk"
#: R^ν(f̂) − R̂(f̂): the estimation gap
ESTIMATION_GAP = "estimation_gap"
#: B_φ at Δ_Q (Lemma C)
LOSS_RANGE_Q = "loss_range_Q"
#: Theorem 2.1 (ii) right-hand side
BOUND_II = "bound_ii"
#: Theorem 2.1 (iii) right-hand side
BOUND_III = "bound_iii"
#: whether (iii) exceeds the loss range
BOUND_III_VACUOUS = "bound_iii_vacuous"
#: teacher Lipschitz constant L_g
TEACHER_LIPSCHITZ = "teacher_lipschitz"
#: label temperature τ
TAU = "tau"

# --- the condition record (one column each, never parsed from a string) -------------------
STUDENT = "student"
ARCH = "arch"
LOSS = "loss"
SAMPLER = "sampler"
SUBSET = "subset"
SEED = "seed"
DATASET = "dataset"
QUERY_ID = "query_id"
#: the columns that identify a trained condition × seed in every grid table
CONDITION_COLUMNS = (STUDENT, ARCH, LOSS, SAMPLER, SUBSET, SEED)
