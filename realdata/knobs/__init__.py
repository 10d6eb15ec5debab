"""Locality and entropy as knobs on real data (issue 13, items 1–2).

- :mod:`.locality`: the parametrised samplers ``dense@d``, ``bm25@d``, ``ball@r`` (array logic);
- :mod:`.entropy`: teacher variants (temperature, score noise, mixtures with weaker scorers);
- :mod:`.build`: their groups and pools on disk (``prepare --knobs``);
- :mod:`.table`: the knob table ``realdata/measure/knobs.csv`` (``measure --knobs``).
"""
