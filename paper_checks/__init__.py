"""Predictions of THEORY.md section 7 as computed checks, the report, and the ``locent`` CLI."""
