"""Your own data: training files in any common layout, teachers as files, local collections.

One module per job:

- :mod:`.training_file`: :class:`TrainingFile`, the record every reader returns, and
  :meth:`TrainingFile.to_groups` → the :class:`~locent.realdata.store.Groups` samplers produce
  (inclusion probabilities NaN, stated ``"unknown"`` in provenance); :func:`text_id` for texts
  without ids.
- :mod:`.read`: :func:`read_training_file` (format recognised by content) over the readers
  :mod:`.authors`, :mod:`.sentence_transformers`, :mod:`.tevatron`, :mod:`.ranked` (TREC runs,
  PyTerrier frames).
- :mod:`.teacher_files`: :func:`read_teacher_file` (``mode="score"|"rank"``) and
  :func:`teacher_coverage`, the check to run before encoding or training;
  :func:`covered_mask`, the pairs of a candidate matrix a teacher file scores.
- :mod:`.local_collection`: :func:`register_local_collection` → ``local/<name>`` in ir_datasets,
  from :mod:`.collection_files` (TSV/JSONL + TREC qrels) or :mod:`.classic` (``.ALL/.QRY/.REL``);
  the ir_datasets handlers are in :mod:`.irds_components` (imported only at registration).
- :mod:`.sniff`: what a file is, from its bytes.
"""

# Imported on first use (PEP 562): reading a training file should not import ir_datasets.
_WHERE = {
    "LocalCollection": "local_collection",
    "register_local_collection": "local_collection",
    "TRAINING_FORMATS": "read",
    "read_training_file": "read",
    "CoverageReport": "teacher_files",
    "TeacherTable": "teacher_files",
    "covered_mask": "teacher_files",
    "read_teacher_file": "teacher_files",
    "teacher_coverage": "teacher_files",
    "TEXT_ID_SCHEME": "training_file",
    "TrainingFile": "training_file",
    "text_id": "training_file",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
