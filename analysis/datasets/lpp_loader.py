"""Le Petit Prince as a data source: the files an analysis needs, fetched when missing, read
by :mod:`analysis.datasets.lpp`, each run projected onto fsaverage5 (:mod:`analysis.surface`).

Registered as the source ``lpp`` (an entry point of :data:`analysis.plugins.SOURCES`), used by
the ``lpp`` and ``paper`` profiles.
"""
from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import requests
from tqdm import tqdm

from analysis import surface
from analysis.config import Profile
from analysis.datasets import Dataset, Participant, Stimulus
from analysis.datasets import download as dl
from analysis.datasets.lpp import (N_SECTIONS, TR, CorpusError, check_audio, check_volumes,
                                   expected_volumes, index_paths, language_code, read_textgrid,
                                   stimulus_path, textgrid_path)

log = logging.getLogger(__name__)


def load(profile: Profile, languages, n_participants: int) -> Dataset:
    """The ``lpp`` data source: :func:`load_lpp` of ``languages``, the first
    ``n_participants`` of each (0: all) once the profile's ``excluded`` participants are
    left out (``paper``: CN018 and CN019, so 33 Mandarin listeners), the profile's
    sections."""
    return load_lpp(languages=languages, n_participants=n_participants,
                    sections=profile.sections, excluded=profile.excluded)


def load_lpp(root: str | Path | None = None, languages=("en", "fr", "cn"),
             n_participants: int = 3, participants=None, sections=None,
             download: bool = True, url: str | None = None, excluded=()):
    """Le Petit Prince as a :class:`analysis.datasets.Dataset`, fetched when missing.

    Parameters
    ----------
    root : the corpus folder (default ``<data home>/lpp``)
    languages : languages whose stimuli and participants are loaded
    n_participants : the first ``n`` participants of each language (0: all), unless
        ``participants`` names them (``sub-EN057`` or ``EN057``)
    sections : story sections (default: all nine)
    download : fetch missing files from ``url`` (default ``$ANALYSIS_LPP_BASE_URL`` or the
        OpenNeuro bucket); when False, or when the server cannot be reached (its name does
        not resolve, or it does not answer), fail at once saying which command downloads them
    excluded : participant ids (``CN018`` or ``sub-CN018``) left out before the first
        ``n_participants`` are chosen; participants named in ``participants`` are kept

    Returns
    -------
    Dataset whose stimuli hold each section's WAV, volume count and TextGrid words (read on
    first access of ``words``: brain scores never need them), and whose participants'
    ``bold_paths`` are the cached surface projections, one ``.npy`` per section of shape
    (n_scans, 20484).

    Raises
    ------
    CorpusError
        naming the files missing and the command that downloads them (no download, or no
        network), or a file that breaks a rule of the corpus.
    """
    root = Path(root) if root else dl.corpus_root()
    sections = sorted(sections or range(1, N_SECTIONS + 1))
    langs = [language_code(language).lower() for language in languages]
    plan = dl.plan_lpp(langs, participants, n_participants, sections,
                       kinds=("bold", "stimuli", "annotations"), excluded=excluded)
    absent = dl.missing(plan, root)
    if absent:
        _fetch_or_explain(absent, root, langs, plan, sections, download, url)
    wanted = {str(Path(f.path)) for f in plan}
    # sections are mapped from the checksum list, which has every run of every participant
    # (a local tree may hold only the sections asked for)
    runs = index_paths(dl.read_index().path, root=root)
    runs = runs[[str(Path(p).relative_to(root)) in wanted for p in runs.bold_path]]
    for lang in langs:
        for k in sections:
            check_audio(root / stimulus_path(lang, k), lang, k)
    stimuli = {lang: [Stimulus(language=lang, section=k, audio_path=root / stimulus_path(lang, k),
                               words_loader=partial(read_textgrid,
                                                    root / textgrid_path(lang, k)),
                               n_scans=expected_volumes(lang, k), tr=TR) for k in sections]
               for lang in langs}
    people = []
    progress = tqdm(total=len(runs), desc="projecting runs to the surface", unit="run")
    for pid, rows in runs.groupby("participant", sort=True):
        paths = []
        for row in rows.sort_values("section").itertuples():
            check_volumes(row.bold_path, row.language, row.section)
            paths.append(surface.projected_run(row.bold_path, name=f"{pid}_run-{row.run}"))
            progress.update()
        people.append(Participant(pid, rows.language.iloc[0], tuple(paths)))
    progress.close()
    order = {lang: i for i, lang in enumerate(langs)}
    people.sort(key=lambda p: (order[p.language], p.id))
    return Dataset("lpp", stimuli, people, simulated=False)


def _fetch_or_explain(absent, root: Path, langs, plan, sections, download: bool,
                      url: str | None) -> None:
    """Download the ``absent`` files, or raise a CorpusError saying how to."""
    ids = sorted({Path(f.path).parts[1] for f in plan if f.path.startswith("derivatives/")})
    command = (f"python -m analysis fetch lpp --languages {' '.join(langs)} --participants "
               f"{' '.join(ids)} --sections {' '.join(map(str, sections))}"
               f" --data-home {root.parent}")
    size = dl.human_size(sum(f.size for f in absent))
    url = (url or dl.base_url()).rstrip("/")
    if not download:
        raise CorpusError(f"{len(absent)} files ({size}) are missing under {root}, e.g. "
                          f"{absent[0].path}; download them with `{command}`.")
    try:  # fail at once, not after a round of retries, when the bucket is out of reach
        dl.probe(url)
    except dl.OfflineError as exc:
        raise CorpusError(f"{len(absent)} files ({size}) are missing under {root} and "
                          f"{exc.host} cannot be resolved: no network? On a machine with "
                          f"internet run `{command}`, or use profile='demo' offline.") from exc
    try:
        requests.head(f"{url}/{absent[0].path}", timeout=(5, 10), allow_redirects=True)
    except requests.RequestException as exc:
        raise CorpusError(f"{len(absent)} files ({size}) are missing under {root} and {url} "
                          f"cannot be reached ({type(exc).__name__}); on a machine with "
                          f"internet run `{command}`, or use profile='demo' offline.") from exc
    log.info("fetching %d missing files (%s) into %s", len(absent), size, root)
    dl.fetch(absent, root, url)
