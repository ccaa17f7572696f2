"""The Narratives corpus (OpenNeuro ds002345) as a data source: its English listeners, each
story segment of a scan one run, read by :mod:`analysis.datasets.narratives` from the files
``python -m analysis fetch narratives`` put under the data home.

Registered as the source ``narratives`` (an entry point of :data:`analysis.plugins.SOURCES`),
merged with Le Petit Prince's listeners by profiles whose ``corpora`` name both (``paper``).

How a scan becomes runs (:func:`story_runs`):

- each kept story segment of a scan (:func:`~analysis.datasets.narratives.index_scans`) is one
  run of its listener, heard as one :class:`~analysis.datasets.Stimulus`: the segment's part of
  the WAV (``audio_start`` for ``duration`` seconds; a music clip before it, or the other
  story of ``slumlordreach``, is not part of it), its volumes at the scan's own TR;
- the run's volumes are those acquired while the story plays: from the first volume at or
  after the story's onset (``scan_start`` seconds after it, less than a TR) to the volume
  before the last one that starts within the story (dropping that last, partly covered, one
  lets a scan whose file ends up to one TR before the story ends, which
  :func:`~analysis.datasets.narratives.check_covers` allows, give every run of the story the
  same length);
- listeners of the same story, TR and timing share one Stimulus (so its activations are
  extracted once); a listener carries the stimuli it heard (``Participant.stimuli``), and
  the analyses fit each group of listeners of the same stimuli on their own designs
  (:meth:`analysis.datasets.Dataset.groups`);
- the BOLD of a run is the scan's fsaverage6 ``desc-clean`` series of both hemispheres on
  fsaverage5 (:func:`~analysis.datasets.narratives.read_surface_bold`), cut to the run's
  volumes and cached as ``.npy`` (array of shape (n_scans, 20484)) under
  ``<cache>/narratives``; each run is then cleaned like a Le Petit Prince run
  (:func:`analysis.scores.responses`);
- words: the story's Gentle alignment, its times moved to seconds from ``audio_start``
  (the alignments are of the whole ``<story>_audio.wav``; that ``slumlord`` and ``reach``
  are timed from the start of ``slumlordreach_audio.wav`` is assumed, not verified here).
"""
from __future__ import annotations

import logging
import math
import os
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from analysis.cache import atomic_write, key_digest
from analysis.config import Profile, cache_dir
from analysis.datasets import Dataset, Participant, Stimulus
from analysis.datasets import narratives_download as nd
from analysis.datasets.lpp import CorpusError
from analysis.datasets.narratives import (FETCH, alignment_path, check_covers, index_scans,
                                          read_alignment, read_surface_bold, scan_name)

log = logging.getLogger(__name__)

NAME = "narratives"
LANGUAGE = "en"  # every Narratives story is in English
SECTION = 1  # a story is one run: the section of every Narratives stimulus
_EPS = 1e-6  # s: onsets this close to a volume are at it


def load(profile: Profile, languages, n_participants: int) -> Dataset:
    """The ``narratives`` data source: :func:`load_narratives` of the first
    ``n_participants`` English listeners (0: all) under the corpus's default rules; empty
    when ``languages`` has no ``"en"``. The profile's ``sections`` name Le Petit Prince's
    sections: a Narratives story is one run, section 1, kept whatever they are."""
    return load_narratives(languages=languages, n_participants=n_participants)


def load_narratives(root: str | Path | None = None, languages=(LANGUAGE,),
                    n_participants: int = 3, participants=None, **rules) -> Dataset:
    """The Narratives corpus as a :class:`analysis.datasets.Dataset`.

    Parameters
    ----------
    root : the corpus folder (default ``<data home>/narratives``, where ``fetch narratives``
        puts it)
    languages : languages asked for; the corpus is English only, so without ``"en"`` the
        data set is empty
    n_participants : the first ``n`` listeners in id order (0: all) kept by the rules,
        unless ``participants`` names them (``sub-001`` or ``001``)
    **rules : ``skip_scrambled``, ``apply_exclusions``, ``exclusion_unit`` of
        :func:`~analysis.datasets.narratives.index_scans`

    Returns
    -------
    Dataset named ``narratives`` whose ``stimuli["en"]`` holds each story heard once per
    timing (:func:`story_runs`) and whose participants carry the stimuli they heard, one
    per run, with ``bold_paths`` the cached runs, arrays of shape (n_scans, 20484).

    Raises
    ------
    CorpusError
        naming the files missing and the command that fetches them, or a file that breaks a
        rule of the corpus.
    """
    if LANGUAGE not in languages:
        return Dataset(NAME, {}, [], simulated=False)
    root = Path(root) if root else nd.corpus_root()
    index = select(_index(root, rules), n_participants, participants)
    runs = story_runs(index)
    _check_present(root, runs)
    stimuli: dict[tuple, Stimulus] = {}
    for row in runs.itertuples():
        key = (row.story, row.audio_start, row.duration, row.tr, row.scan_start, row.n_scans)
        if key not in stimuli:
            stimuli[key] = Stimulus(
                language=LANGUAGE, section=SECTION, audio_path=Path(row.audio_path),
                words_loader=partial(story_words, alignment_path(root, row.story),
                                     row.audio_start, row.duration),
                n_scans=int(row.n_scans), tr=float(row.tr), name=row.story,
                audio_start=row.audio_start, audio_duration=row.duration,
                scan_start=row.scan_start)
    people = []
    progress = tqdm(total=runs.scan.nunique(), desc="cutting Narratives scans into runs",
                    unit="scan")
    for participant, rows in runs.groupby("participant", sort=True):
        paths, heard = [], []
        for _, scan_rows in rows.groupby("scan", sort=False):
            paths += cut_runs(scan_rows)
            heard += [stimuli[(r.story, r.audio_start, r.duration, r.tr, r.scan_start,
                               r.n_scans)] for r in scan_rows.itertuples()]
            progress.update()
        people.append(Participant(participant, LANGUAGE, tuple(paths), tuple(heard), NAME))
    progress.close()
    ordered = sorted(stimuli.values(), key=lambda s: (s.name, s.tr, s.audio_start))
    return Dataset(NAME, {LANGUAGE: ordered}, people, simulated=False)


def _index(root: Path, rules: dict) -> pd.DataFrame:
    """:func:`index_scans`, or a CorpusError saying how to fetch the raw files."""
    if not (root / "participants.tsv").exists():
        raise CorpusError(f"{root / 'participants.tsv'} is missing: the Narratives corpus is "
                          f"not under {root}; fetch it with `{FETCH} --profile lpp` (a few "
                          f"listeners per story) or `{FETCH} --profile paper` (all), then run "
                          "again.")
    return index_scans(root, **rules)


def select(index: pd.DataFrame, n_participants: int = 0, participants=None) -> pd.DataFrame:
    """The rows of ``index`` of the listeners chosen: those named (``sub-001`` or ``001``),
    else the first ``n_participants`` in id order (0: all).

    Raises
    ------
    ValueError
        naming the ids of ``participants`` that have no kept story segment.
    """
    if participants is not None:
        ids = [nd.participant_id(p) for p in participants]
        unknown = sorted(set(ids) - set(index.participant))
        if unknown:
            raise ValueError(f"participants: {', '.join(unknown)} have no story segment kept "
                             "by the corpus's rules (or no events file under the corpus "
                             "folder).")
        return index[index.participant.isin(ids)]
    if n_participants:
        chosen = sorted(set(index.participant))[:n_participants]
        return index[index.participant.isin(chosen)]
    return index


def story_runs(index: pd.DataFrame) -> pd.DataFrame:
    """Each story segment of ``index`` (:func:`~analysis.datasets.narratives.index_scans`) as
    a run: the volumes kept and their time after the story's onset.

    Returns
    -------
    ``index`` with columns ``scan`` (``sub-001_task-pieman_run-1``), ``first_volume`` (index
    in the scan of the run's first volume: the first at or after the onset), ``n_scans``
    (volumes kept: those starting within the story, less the last) and ``scan_start``
    (s from the story's onset to the first volume kept, in [0, tr)).

    Raises
    ------
    CorpusError
        naming a scan whose story lasts less than two TRs (no volume to keep).
    """
    runs = index.copy()
    runs["scan"] = [scan_name(p, t, r if isinstance(r, str) else None)
                    for p, t, r in zip(runs.participant, runs.task, runs.run)]
    first = [math.ceil(onset / tr - _EPS) for onset, tr in zip(runs.onset, runs.tr)]
    last = [math.floor((onset + duration) / tr + _EPS) - 1
            for onset, duration, tr in zip(runs.onset, runs.duration, runs.tr)]
    runs["first_volume"] = first
    runs["n_scans"] = [b - a for a, b in zip(first, last)]
    runs["scan_start"] = [round(a * tr - onset, 6)
                          for a, tr, onset in zip(first, runs.tr, runs.onset)]
    short = runs[runs.n_scans < 1]
    if len(short):
        row = short.iloc[0]
        raise CorpusError(f"{row.scan}: its {row.story} segment lasts {row.duration:g} s, less "
                          f"than two TRs of {row.tr:g} s; no volume can be kept.")
    return runs.reset_index(drop=True)


def _check_present(root: Path, runs: pd.DataFrame) -> None:
    """Raise a CorpusError naming the missing files of ``runs`` and the command fetching
    them."""
    wanted = {Path(p) for paths in runs.bold_paths for p in paths} | set(
        map(Path, runs.audio_path))
    absent = sorted(p for p in wanted if not p.exists())
    if absent:
        ids = " ".join(sorted(set(runs.participant)))
        raise CorpusError(f"{len(absent)} files of the Narratives listeners chosen are missing "
                          f"under {root}, e.g. {absent[0]}; fetch them with `{FETCH} "
                          f"--participants {ids} --data-home {root.parent}`.")


def cut_runs(scan_rows: pd.DataFrame, cache_root: Path | None = None) -> list[Path]:
    """The runs of one scan (rows of :func:`story_runs`), cached: one ``.npy`` per story
    segment holding an array of shape (n_scans, 20484), float32; the scan's GIFTI files are
    read only when a run is not cached.

    Raises
    ------
    CorpusError
        naming the scan's file when its volumes end before the story does.
    """
    first = scan_rows.iloc[0]
    sources = [Path(p) for p in first.bold_paths]
    folder = Path(cache_root or cache_dir()) / NAME
    outs = []
    for row in scan_rows.itertuples():
        key = {"stage": "narratives_run", "sources": [_identity(p) for p in sources],
               "first_volume": int(row.first_volume), "n_scans": int(row.n_scans),
               "mesh": "fsaverage5"}
        outs.append(folder / f"{row.scan}_{row.story}_{key_digest(key)}.npy")
    if all(out.exists() for out in outs):
        return outs
    bold = read_surface_bold(tuple(sources))
    story_end = float((scan_rows.onset + scan_rows.duration).max())
    check_covers(sources[0], len(bold), float(first.tr), story_end)
    for row, out in zip(scan_rows.itertuples(), outs):
        stop = row.first_volume + row.n_scans
        if stop > len(bold):
            raise CorpusError(f"{sources[0]}: {len(bold)} volumes, but the {row.story} run "
                              f"needs volumes {row.first_volume} to {stop - 1}; delete the "
                              f"file and fetch it again (`{FETCH} --kinds bold`).")
        part = np.ascontiguousarray(bold[row.first_volume:stop], dtype=np.float32)
        atomic_write(out, lambda tmp, a=part: _save(tmp, a))
    return outs


def _identity(path: Path) -> str:
    """What a cached run depends on of its GIFTI file: its git-annex key where it is a link
    into an annex (the key holds the content's checksum), else its size and time."""
    if path.is_symlink():
        return Path(os.path.realpath(path)).name
    stat = path.stat()
    return f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}"


def _save(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, array)


def story_words(path: Path, audio_start: float, duration: float) -> pd.DataFrame:
    """The words of a story segment: its Gentle alignment (:func:`read_alignment`) in seconds
    from ``audio_start``, the words within the segment's ``duration``.

    Returns
    -------
    DataFrame with columns ``word, onset, offset``
    """
    words = read_alignment(path)
    words[["onset", "offset"]] -= audio_start
    return words[(words.onset >= -_EPS) & (words.onset < duration)].reset_index(drop=True)
