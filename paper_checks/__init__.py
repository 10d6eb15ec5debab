"""Predictions of THEORY.md section 7 as computed checks (:mod:`.checks`, one module per prediction
in :mod:`.items`) and the report (:mod:`.report`); ``locent checks`` is declared in :mod:`.cli`."""
