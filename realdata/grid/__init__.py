"""The training grid: student × loss × sampler × entropy subset × seed, trained, evaluated, tabled.

One module per job (import the one you need; this package module imports none of them):

- :mod:`.presets`: conditions (the record that identifies a trained model) and presets;
- :mod:`.inputs`: what a grid reads (:class:`~.inputs.GridInputs`, test sets), from the real
  store; :mod:`.synthetic`: a small synthetic world with the same shapes (tests, smoke runs);
- :mod:`.state`: the working state built once per grid (splits, resolved test sets, rates);
- :mod:`.lr_selection`: learning rates chosen on held-out training queries;
- :mod:`.cells`: one condition × seed trained, measured and evaluated;
- :mod:`.baselines`: BM25, the teacher, the encoder's cosine, shipped runs;
- :mod:`.tables`: the grid tables assembled from the cells;
- :mod:`.run`: :func:`~.run.run_grid`, the whole grid, resumable.
"""
