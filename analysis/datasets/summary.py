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


COUNT_SOURCES = {"lpp": "participants.tsv of OpenNeuro ds003643"}  # source name -> origin


def count_source(dataset: Dataset) -> str:
    """Where :func:`corpus_participants` counts the listeners of ``dataset``'s corpus, e.g.
    ``"participants.tsv of OpenNeuro ds003643"`` for Le Petit Prince, ``"the listeners of the
    demo data set"`` for a source without a participants table."""
    return COUNT_SOURCES.get(dataset.name, f"the listeners of the {dataset.name} data set")


def corpus_participants(dataset: Dataset, root: str | Path | None = None,
                        download: bool = True, excluded=()) -> pd.Series:
    """Participants per language in the whole corpus ``dataset`` was drawn from.

    For Le Petit Prince (``dataset.name == "lpp"``), the rows of ``participants.tsv`` under
    ``root`` (default ``<data home>/lpp``), downloaded with the corpus's other top-level
    files when missing (unless ``download`` is False); for the demo world, its listeners.

    Parameters
    ----------
    dataset : the data set an analysis uses
    root : the corpus folder (Le Petit Prince only)
    download : fetch ``participants.tsv`` when it is missing
    excluded : participant ids left out of the counts (``CN018`` or ``sub-CN018``), e.g. a
        profile's ``excluded``: ``corpus_participants(dataset, excluded=profile.excluded)``
        counts 33 Mandarin listeners under ``paper``, 35 without it

    Returns
    -------
    Series of counts indexed by language, in the data set's language order first, named
    ``participants``; ``attrs["source"]`` is :func:`count_source` and ``attrs["excluded"]``
    the ids left out that were counted otherwise (sorted).

    Raises
    ------
    ValueError
        naming an id of ``excluded`` that is not a participant id (Le Petit Prince).
    CorpusError
        when ``participants.tsv`` is missing and ``download`` is False.
    """
    if dataset.name != "lpp":
        left_out = {p if str(p).startswith("sub-") else f"sub-{p}" for p in excluded}
        people = [p for p in dataset.participants if p.id not in left_out]
        counts = pd.Series({lang: sum(p.language == lang for p in people)
                            for lang in dataset.stimuli}, dtype=int).rename("participants")
        dropped = sorted({p.id for p in dataset.participants} & left_out)
    else:
        left_out = {lpp.participant_id(p, "excluded") for p in excluded}
        root = Path(root) if root else dl.corpus_root()
        if not (root / "participants.tsv").exists():
            if not download:
                raise lpp.CorpusError(f"{root / 'participants.tsv'} is missing; run `python "
                                      f"-m analysis fetch lpp --kinds top --data-home "
                                      f"{root.parent}`.")
            log.info("fetching the corpus's top-level files into %s", root)
            files = dl.select(dl.read_index(), kinds=("top",))
            dl.fetch(dl.missing(files, root), root)
        table = lpp.read_participants(root)
        dropped = sorted(set(table.index) & left_out)
        if len(dropped) < len(left_out):
            log.warning("excluded: %s are not in %s; nothing to leave out for them",
                        ", ".join(sorted(left_out - set(dropped))), root / "participants.tsv")
        counts = table.drop(index=dropped).language.value_counts()
        order = [lang for lang in dataset.stimuli if lang in counts.index]
        order += sorted(set(counts.index) - set(order))
        counts = counts.reindex(order).astype(int).rename("participants")
    counts.attrs.update(source=count_source(dataset), excluded=dropped)
    return counts
