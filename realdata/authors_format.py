"""Moved to :mod:`locent.realdata.formats.authors`; this name stays for existing imports."""

from locent.realdata.formats.authors import (  # noqa: F401
    groups_from_authors,
    read_jsonl,
    read_score_file,
    scores_of,
    write_jsonl,
    write_score_file,
)
