"""Word timings of the Narratives stories: the Gentle forced alignments of the corpus's DataLad
release (``stimuli/gentle/<story>/align.json``, see
:func:`~analysis.datasets.narratives_layout.alignment_path`).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from analysis.datasets.lpp import CorpusError
from analysis.datasets.narratives_layout import FETCH

log = logging.getLogger(__name__)


def read_alignment(path: str | Path) -> pd.DataFrame:
    """Word timings of a Gentle forced alignment (``stimuli/gentle/<story>/align.json``).

    Words whose ``case`` is not ``success`` (``not-found-in-audio``) have no times: they are
    kept out of the table and counted in a log line.

    Returns
    -------
    DataFrame with columns ``word`` (str, as in the transcript), ``onset``, ``offset``
    (float, seconds from the start of the story's WAV), one row per aligned word, in the
    order of the transcript.

    Raises
    ------
    CorpusError
        naming the file when it is missing, not JSON, has no ``words`` list, or an aligned
        word lacks ``start``/``end`` or ends before it starts.
    """
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"{path} is missing; run `{FETCH} --kinds alignments`.")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{path}: not JSON ({exc}); is the file complete?") from exc
    words = data.get("words") if isinstance(data, dict) else None
    if not isinstance(words, list):
        raise CorpusError(f"{path}: no 'words' list; a Gentle alignment is "
                          "{'transcript': ..., 'words': [{'word', 'case', 'start', 'end'}]}.")
    rows, unaligned = [], 0
    for i, item in enumerate(words):
        if item.get("case") != "success":
            unaligned += 1
            continue
        start, end = item.get("start"), item.get("end")
        if not isinstance(start, (int, float)) or not isinstance(end, (int, float)) \
                or end < start:
            raise CorpusError(f"{path}: word {i} ({item.get('word')!r}) is aligned (case "
                              f"success) but has start={start!r}, end={end!r}; an aligned "
                              "word has numeric times with end >= start.")
        rows.append({"word": str(item.get("word", "")), "onset": float(start),
                     "offset": float(end)})
    log.info("%s: %d words aligned, %d unaligned (not found in the audio) left out", path,
             len(rows), unaligned)
    return pd.DataFrame(rows, columns=["word", "onset", "offset"])
