"""What a data set holds: participants per language, hours of speech, sentences and words.

:func:`summarize` describes any :class:`~analysis.datasets.Dataset` (what an analysis uses);
:func:`corpus_participants` counts the participants of the whole corpora it comes from (Le
Petit Prince's ``participants.tsv``, fetched when missing; the Narratives listeners kept by
the corpus's rules; the demo world's own listeners); :func:`participants_per_corpus` gives
both counts per corpus and language (Figure 1).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.datasets import Dataset, lpp, narratives
from analysis.datasets import download as dl
from analysis.datasets import narratives_download as nd

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
                     "hours": sum(heard_seconds(s) for s in stimuli) / 3600,
                     "words": sum(len(s.words) for s in stimuli),
                     "sentences": sentences})
    return pd.DataFrame(rows).set_index("language")


def heard_seconds(stimulus) -> float:
    """Seconds of audio a stimulus holds: its ``audio_duration`` (a Narratives story segment),
    else its whole file's."""
    if stimulus.audio_duration is not None:
        return float(stimulus.audio_duration)
    return audio_seconds(stimulus.audio_path) - stimulus.audio_start


COUNT_SOURCES = {"lpp": "participants.tsv of OpenNeuro ds003643",  # source name -> origin
                 "narratives": "the listeners of OpenNeuro ds002345 kept by its default rules"}


def corpora_of(dataset: Dataset) -> list[str]:
    """The corpora ``dataset`` merges (:func:`analysis.datasets.merge` names it
    ``lpp+narratives``), in order."""
    return dataset.name.split("+")


def participants_per_corpus(dataset: Dataset, excluded=(), narratives_root=None,
                            download: bool = True) -> pd.DataFrame:
    """Participants per corpus and language: analysed here, and in the whole corpus.

    Parameters
    ----------
    dataset : the data set an analysis uses (one corpus, or several merged)
    excluded : participant ids left out of the corpus counts (see :func:`corpus_participants`)
    narratives_root : the Narratives folder (default ``<data home>/narratives``)
    download : fetch Le Petit Prince's ``participants.tsv`` when it is missing

    Returns
    -------
    DataFrame with columns ``corpus, language, analysed, in the corpus`` (int), one row per
    corpus and language with listeners, in the data set's order.
    """
    rows = []
    for corpus in corpora_of(dataset):
        mine = [p for p in dataset.participants if (p.corpus or dataset.name) == corpus]
        whole = _corpus_counts(corpus, mine, dataset, excluded, narratives_root, download)
        languages = list(dict.fromkeys([p.language for p in mine] + list(whole.index)))
        for language in languages:
            rows.append({"corpus": corpus, "language": language,
                         "analysed": sum(p.language == language for p in mine),
                         "in the corpus": int(whole.get(language, 0))})
    return pd.DataFrame(rows, columns=["corpus", "language", "analysed", "in the corpus"])


def _corpus_counts(corpus: str, people, dataset: Dataset, excluded, narratives_root,
                   download: bool) -> pd.Series:
    """Listeners per language in the whole of one corpus."""
    if corpus == "lpp":
        return corpus_participants(Dataset("lpp", dataset.stimuli, people, False),
                                   download=download, excluded=excluded)
    if corpus == "narratives":
        root = Path(narratives_root) if narratives_root else nd.corpus_root()
        index = narratives.index_scans(root)
        return pd.Series({"en": index.participant.nunique()}, name="participants")
    if dataset.corpus_size is not None:
        return pd.Series(dataset.corpus_size, name="participants")
    return pd.Series(pd.Series([p.language for p in people], dtype=object).value_counts(),
                     name="participants")


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
    if len(corpora_of(dataset)) > 1 or dataset.name == "narratives":
        # each corpus counted as its own, and summed per language
        parts = [_corpus_counts(c, [p for p in dataset.participants if p.corpus == c],
                                dataset, excluded, None, download)
                 for c in corpora_of(dataset)]
        counts = pd.concat(parts).groupby(level=0, sort=False).sum()
        order = [lang for lang in dataset.stimuli if lang in counts.index]
        counts = counts.reindex(order + sorted(set(counts.index) - set(order)))
        counts = counts.astype(int).rename("participants")
        counts.attrs.update(source=" + ".join(COUNT_SOURCES.get(c, c)
                                              for c in corpora_of(dataset)),
                            excluded=sorted(x for part in parts
                                            for x in part.attrs.get("excluded", [])))
        return counts
    if dataset.name != "lpp":
        left_out = {p if str(p).startswith("sub-") else f"sub-{p}" for p in excluded}
        people = [p for p in dataset.participants if p.id not in left_out]
        held = {lang: sum(p.language == lang for p in people) for lang in dataset.stimuli}
        if dataset.corpus_size is not None:  # listeners held out of the data set count too
            held = {lang: dataset.corpus_size.get(lang, 0) - sum(
                p.language == lang for p in dataset.participants if p.id in left_out)
                for lang in dataset.stimuli}
        counts = pd.Series(held, dtype=int).rename("participants")
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
