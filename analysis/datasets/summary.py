"""What a data set holds: participants per language, hours of speech, sentences and words.

:func:`summarize` describes any :class:`~analysis.datasets.Dataset` (what an analysis uses);
:func:`corpus_participants` counts the participants of the whole corpus it comes from (Le
Petit Prince's ``participants.tsv``, fetched when missing; the demo world's own listeners).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.datasets import Dataset, lpp
from analysis.datasets import download as dl

log = logging.getLogger(__name__)


def audio_seconds(path: str | Path) -> float:
    """Duration of an audio file in seconds, read from its header."""
    import soundfile

    try:
        return float(soundfile.info(str(path)).duration)
    except Exception as exc:
        raise ValueError(f"{path}: cannot read the audio header ({exc}); is the file "
                         "complete?") from exc


def summarize(dataset: Dataset) -> pd.DataFrame:
    """One row per language of ``dataset``.

    Returns
    -------
    DataFrame indexed by language (``en``, ``fr``, ``cn``) with columns ``participants``
    (listeners of that language in the data set), ``sections``, ``hours`` (of stimulus
    audio), ``words`` (annotated words, silences excluded) and ``sentences`` (NaN when the
    annotations carry no sentence index, as Le Petit Prince's TextGrids do not)
    """
    rows = []
    for language, stimuli in dataset.stimuli.items():
        sentences = np.nan
        if stimuli and all("sentence" in s.words for s in stimuli):
            sentences = sum(int(s.words["sentence"].nunique()) for s in stimuli)
        rows.append({"language": language,
                     "participants": len(dataset.participants_of(language)),
                     "sections": len(stimuli),
                     "hours": sum(audio_seconds(s.audio_path) for s in stimuli) / 3600,
                     "words": sum(len(s.words) for s in stimuli),
                     "sentences": sentences})
    return pd.DataFrame(rows).set_index("language")


def corpus_participants(dataset: Dataset, root: str | Path | None = None,
                        download: bool = True) -> pd.Series:
    """Participants per language in the whole corpus ``dataset`` was drawn from.

    For Le Petit Prince (``dataset.name == "lpp"``), the rows of ``participants.tsv`` under
    ``root`` (default ``<data home>/lpp``), downloaded with the corpus's other top-level
    files when missing (unless ``download`` is False); for the demo world, its listeners.

    Returns
    -------
    Series of counts indexed by language, in the data set's language order first
    """
    if dataset.name != "lpp":
        counts = pd.Series({lang: len(dataset.participants_of(lang))
                            for lang in dataset.stimuli}, dtype=int)
        return counts.rename("participants")
    root = Path(root) if root else dl.corpus_root()
    if not (root / "participants.tsv").exists():
        if not download:
            raise lpp.CorpusError(f"{root / 'participants.tsv'} is missing; run `python -m "
                                  f"analysis fetch lpp --kinds top --data-home {root.parent}`.")
        log.info("fetching the corpus's top-level files into %s", root)
        files = dl.select(dl.read_index(), kinds=("top",))
        dl.fetch(dl.missing(files, root), root)
    counts = lpp.read_participants(root).language.value_counts()
    order = [lang for lang in dataset.stimuli if lang in counts.index]
    order += sorted(set(counts.index) - set(order))
    return counts.reindex(order).astype(int).rename("participants")
