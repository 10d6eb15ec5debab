"""locent: locality and entropy in ranking distillation, checked, simulated and tested on real data.

The parts live in their own top-level folders and are imported as ``locent.theory``,
``locent.simulate``, ``locent.realdata``, ``locent.figures`` and ``locent.paper_checks``. The
root package holds what crosses them: result paths and column names (``locent.results``),
provenance, progress, the app shell (``locent.cli``) and the pipeline of ``locent run``
(``locent.pipeline``).
"""

__version__ = "0.1.0"
