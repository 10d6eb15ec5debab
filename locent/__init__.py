"""locent: locality and entropy in ranking distillation, checked, simulated and tested on real data.

The parts live in their own top-level folders and are imported as ``locent.theory``,
``locent.simulate``, ``locent.realdata``, ``locent.figures`` and ``locent.paper_checks``.
"""

__version__ = "0.1.0"
