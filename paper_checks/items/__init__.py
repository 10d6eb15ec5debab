"""The checks of THEORY.md §7, one module per prediction (items 5–8) or group of them (items
1–4 read the simulation). Each module holds a pure ``judge_*`` function: data in, verdict out."""
