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
  :func:`teacher_coverage`, the check to run before encoding or training.
- :mod:`.local_collection`: :func:`register_local_collection` → ``local/<name>`` in ir_datasets,
  from :mod:`.collection_files` (TSV/JSONL + TREC qrels) or :mod:`.classic` (``.ALL/.QRY/.REL``).
- :mod:`.sniff`: what a file is, from its bytes.
"""

from locent.realdata.formats.local_collection import LocalCollection, register_local_collection
from locent.realdata.formats.read import TRAINING_FORMATS, read_training_file
from locent.realdata.formats.teacher_files import (
    CoverageReport,
    TeacherTable,
    read_teacher_file,
    teacher_coverage,
)
from locent.realdata.formats.training_file import TEXT_ID_SCHEME, TrainingFile, text_id

__all__ = [
    "TEXT_ID_SCHEME",
    "TRAINING_FORMATS",
    "CoverageReport",
    "LocalCollection",
    "TeacherTable",
    "TrainingFile",
    "read_teacher_file",
    "read_training_file",
    "register_local_collection",
    "teacher_coverage",
    "text_id",
]
