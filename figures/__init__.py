"""Figures of locent: one function per figure (results in, matplotlib Figure out).

- :mod:`locent.figures.paper_figures`: the paper's Figs. 2, 3 and 4 on the real-data grid.
- :mod:`locent.figures.theory_figures`: bound vs risk, misordering heatmap, locality–entropy
  coupling (simulation sweep, MS MARCO).
- :mod:`locent.figures.realdata_figures`: per-sampler violins, Table-1 analogue with CIs.
- :mod:`locent.figures.style`: deterministic output (``save_figure`` → PNG + PDF, no timestamps).
- :mod:`locent.figures.build`: ``build_figures(out)`` regenerates all from stored results
  (``locent figures``, declared in :mod:`locent.figures.cli`; a stage of ``locent run``).
- :mod:`locent.figures.tables`: required columns, trained conditions and baselines of a table.

Nothing here trains or measures; every number comes from a results file, read by the paths and
column names of :mod:`locent.results`.
"""
