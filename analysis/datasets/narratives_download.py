"""Download the files of the Narratives corpus (OpenNeuro ds002345) that an analysis needs.

Two sources, as the corpus is distributed:

- the **raw files** (``participants.tsv`` and the other top-level files, the authors'
  ``code/*.json``, each scan's ``_events.tsv`` and ``_bold.json``, the stimulus WAVs) come
  from the OpenNeuro bucket, ``$ANALYSIS_NARRATIVES_BASE_URL`` or :data:`BASE_URL`, with the
  machinery of Le Petit Prince's downloader (:mod:`analysis.datasets.download`: total size
  first, progress bar, ``Range`` resume of ``<name>.part``, size and MD5 checked before the
  rename, a host that does not resolve failing at once with one line);
- the **derivatives** (``afni-nosmooth`` fsaverage6 surface time series, FreeSurfer's
  fsaverage6 Destrieux labels) and the **Gentle word alignments** come from the corpus's
  DataLad release (:mod:`analysis.datasets.narratives_datalad`), whose subdatasets and files
  are fetched with ``datalad get`` for the files planned only; git-annex checks each file
  against its key.

The checksum list of the raw files, ``narratives_files.tsv.gz`` beside this module
(``path, size, md5``), is derived by :func:`write_index`
(``python -m analysis.datasets.narratives_download FILE_LISTING_annexed.tsv SHARED [OUT]``)
from two sources: the corpus's listing of its annexed files (``path, size_bytes, md5``, read
from their git-annex keys: the WAVs) and a folder of byte-identical copies of its small files
(whose size and MD5 are computed). Small files the copies lack (the events and sidecars of the
``milkyway`` and ``slumlordreach`` scans, which the listing's BOLD files say exist) are listed
with no size nor MD5: they are downloaded whole and checked against the server's
``Content-Length`` only, which the plan says. ``$ANALYSIS_NARRATIVES_INDEX`` points to another
list (the tests serve a miniature corpus with its own).
"""
from __future__ import annotations

import gzip
import logging
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.cache import md5sum
from analysis.config import data_home
from analysis.datasets import download, narratives
from analysis.datasets.download import UNKNOWN_SIZE, DownloadError, RemoteFile

log = logging.getLogger(__name__)

BASE_URL = "https://s3.amazonaws.com/openneuro.org/ds002345"
BASE_URL_VARIABLE = "ANALYSIS_NARRATIVES_BASE_URL"
INDEX_VARIABLE = "ANALYSIS_NARRATIVES_INDEX"
WHERE = f"--base-url / ${BASE_URL_VARIABLE}"
INDEX = Path(__file__).with_name("narratives_files.tsv.gz")
RAW_KINDS = ("top", "raw", "stimuli")  # from the bucket
DATALAD_KINDS = ("bold", "atlas", "alignments")  # from the DataLad release
KINDS = RAW_KINDS + DATALAD_KINDS
TOP_FILES = ("participants.tsv", "participants.json", "dataset_description.json", "README",
             "CHANGES", "code/task_meta.json", "code/scan_exclude.json",
             "code/event_meta.json")
SKIPPED_TASKS = ("notthefalllongscram", "notthefallshortscram", "schema")  # as the reader
# The WAVs and Gentle stories of a task, where they are not its name
TASK_AUDIO = {
    "milkyway": ("milkywayoriginal", "milkywayvodka", "milkywaysynonyms"),
    "schema": ("bigbang", "friends", "himym", "santa", "seinfeld", "shame", "upintheair",
               "vinny"),
}
TASK_STORIES = {**TASK_AUDIO, "slumlordreach": ("slumlord", "reach")}
ATLAS = tuple(f"derivatives/freesurfer/fsaverage6/label/{h}.aparc.a2009s.annot"
              for h in ("lh", "rh"))
_SCAN_FILE = re.compile(r"^(?P<participant>sub-\d+)/func/(?P=participant)_task-"
                        r"(?P<task>[a-z0-9]+)(?:_run-(?P<run>\d+))?_(?P<suffix>events\.tsv|"
                        r"bold\.json|bold\.nii\.gz)$")


@dataclass
class Plan:
    """What ``fetch narratives`` downloads: raw files (with sizes where the checksum list has
    them) and paths of the DataLad release (sizes known once its datasets are installed)."""

    raw: list[RemoteFile]
    derived: list[str] = field(default_factory=list)

    @property
    def unlisted(self) -> list[RemoteFile]:
        """Raw files with no size nor MD5 in the checksum list."""
        return [f for f in self.raw if f.size == UNKNOWN_SIZE]


def base_url() -> str:
    """The bucket's URL: ``$ANALYSIS_NARRATIVES_BASE_URL``, else the public bucket."""
    return os.environ.get(BASE_URL_VARIABLE, BASE_URL).rstrip("/")


def corpus_root(home: Path | None = None) -> Path:
    """Folder of the corpus inside the data home: ``<data home>/narratives``."""
    return Path(home or data_home()) / "narratives"


def kind_of(path: str) -> str | None:
    """The kind of a raw file's relative path (one of :data:`RAW_KINDS`), or None."""
    if path in TOP_FILES:
        return "top"
    if path.startswith("stimuli/") and path.endswith("_audio.wav") and path.count("/") == 1:
        return "stimuli"
    match = _SCAN_FILE.match(path)
    if match and match["suffix"] != "bold.nii.gz":
        return "raw"
    return None


def write_index(listing: str | Path, copies: str | Path, out: str | Path = INDEX) -> int:
    """Write the checksum list of the raw files an analysis can need; return its row count.

    Parameters
    ----------
    listing : the corpus's ``FILE_LISTING_annexed.tsv`` (columns ``path, size_bytes, md5``):
        the WAVs' sizes and MD5s, and the scans (one ``_bold.nii.gz`` each)
    copies : a folder of byte-identical copies of the corpus's small files (top-level files,
        ``code/*.json``, events and sidecars): their size and MD5 are computed
    out : the list to write (gzip, no name nor time inside: the same inputs give the same
        bytes)

    Raises
    ------
    DownloadError
        naming ``listing`` when it lacks a column, or ``copies`` when it is not a folder.
    """
    listing, copies = Path(listing), Path(copies)
    table = pd.read_csv(listing, sep="\t", dtype=str, keep_default_na=False)
    if {"path", "size_bytes", "md5"} - set(table):
        raise DownloadError(f"{listing}: columns path, size_bytes, md5 expected, found "
                            f"{list(table)}.")
    if not copies.is_dir():
        raise DownloadError(f"{copies} is not a folder of copies of the corpus's small files.")
    rows = {p: (s, m) for p, s, m in zip(table.path, table.size_bytes, table.md5)
            if kind_of(p) is not None}
    for path in sorted(copies.rglob("*")):
        relative = path.relative_to(copies).as_posix()
        if path.is_file() and kind_of(relative) is not None and relative not in rows:
            rows[relative] = (str(path.stat().st_size), md5sum(path))
    for path in table.path:  # every scan has events and a sidecar, copied or not
        match = _SCAN_FILE.match(path)
        if match and match["suffix"] == "bold.nii.gz":
            stem = path.removesuffix("_bold.nii.gz")
            for name in (f"{stem}_events.tsv", f"{stem}_bold.json"):
                rows.setdefault(name, (str(UNKNOWN_SIZE), ""))
    lines = ["path\tsize\tmd5"] + [f"{p}\t{s}\t{m}" for p, (s, m) in sorted(rows.items())]
    with open(out, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb",
                                                 mtime=0) as handle:
        handle.write(("\n".join(lines) + "\n").encode())
    return len(lines) - 1


def read_index(path: str | Path | None = None) -> pd.DataFrame:
    """The checksum list: DataFrame with columns ``path, size, md5, kind`` (``size``
    :data:`~analysis.datasets.download.UNKNOWN_SIZE` and ``md5`` empty where unknown).

    ``path`` defaults to ``$ANALYSIS_NARRATIVES_INDEX``, else the list shipped with the
    package.
    """
    path = Path(path or os.environ.get(INDEX_VARIABLE) or INDEX)
    if not path.exists():
        raise DownloadError(f"the checksum list {path} does not exist ({INDEX_VARIABLE}).")
    table = pd.read_csv(path, sep="\t", dtype={"path": str, "size": "int64", "md5": str},
                        keep_default_na=False)
    table["kind"] = [kind_of(p) for p in table.path]
    return table


def scans(index: pd.DataFrame) -> pd.DataFrame:
    """The scans of the checksum list (one ``_events.tsv`` each): ``participant, task, run``
    (``run`` None where the scan has none), in path order."""
    rows = []
    for path in index.path:
        match = _SCAN_FILE.match(path)
        if match and match["suffix"] == "events.tsv":
            rows.append((match["participant"], match["task"], match["run"]))
    return pd.DataFrame(rows, columns=["participant", "task", "run"])


def participant_id(name: str, option: str = "participants") -> str:
    """``"7"``, ``"007"`` or ``"sub-007"`` -> ``"sub-007"``.

    Raises
    ------
    ValueError
        naming ``option`` when ``name`` is not a number with or without ``sub-``.
    """
    digits = str(name).removeprefix("sub-")
    if not digits.isdigit():
        raise ValueError(f"{option}: {name!r} is not a participant id (e.g. 001 or sub-001).")
    return f"sub-{int(digits):03d}"


def excluded_tasks(root: str | Path) -> set[tuple[str, str]] | None:
    """``(participant, task)`` pairs of which the corpus's authors excluded a scan
    (``<root>/code/scan_exclude.json``, read by the reader; a listener's whole task is left
    out, as the reader does by default), or None when that file is not there yet."""
    if not (Path(root) / narratives.EXCLUSIONS).exists():
        return None
    table = narratives.read_exclusions(root)
    return set(zip(table.participant, table.task))


def select_scans(index: pd.DataFrame, participants=None, tasks=None,
                 n_participants: int = 0, excluded=None) -> pd.DataFrame:
    """The scans to fetch.

    Parameters
    ----------
    participants : ids (``sub-001``, ``001``); None: the first ``n_participants`` listeners
        (0: all) of each task, in id order, once ``excluded`` are left out
    tasks : task labels (None: every task but :data:`SKIPPED_TASKS`, or, when
        ``participants`` are named, every task of theirs)
    excluded : ``(participant, task)`` pairs left out before choosing (:func:`excluded_tasks`);
        the scans of participants named are kept

    Raises
    ------
    ValueError
        naming a task or participant that is not in the checksum list.
    """
    table = scans(index)
    if tasks is not None:
        unknown = sorted(set(tasks) - set(table.task))
        if unknown:
            raise ValueError(f"tasks: {', '.join(unknown)} are not tasks of the checksum "
                             f"list ({', '.join(sorted(set(table.task)))}).")
        table = table[table.task.isin(tasks)]
    elif participants is None:
        table = table[~table.task.isin(SKIPPED_TASKS)]
    if participants is not None:
        ids = [participant_id(p) for p in participants]
        unknown = sorted(set(ids) - set(table.participant))
        if unknown:
            raise ValueError(f"participants: {', '.join(unknown)} have no scan "
                             f"{'of ' + ', '.join(tasks) + ' ' if tasks else ''}in the "
                             "checksum list.")
        return table[table.participant.isin(ids)].reset_index(drop=True)
    if excluded:
        table = table[[(p, t) not in excluded for p, t in zip(table.participant, table.task)]]
    if n_participants:
        chosen = {(t, p) for t, group in table.groupby("task")
                  for p in sorted(set(group.participant))[:n_participants]}
        table = table[[(t, p) in chosen for t, p in zip(table.task, table.participant)]]
    return table.reset_index(drop=True)


def stories_of(task: str) -> tuple[str, ...]:
    """The Gentle stories of a task: its name, or those of :data:`TASK_STORIES`."""
    return TASK_STORIES.get(task, (task,))


def plan(participants=None, tasks=None, n_participants: int = 3, kinds=KINDS,
         index: pd.DataFrame | None = None, excluded=None) -> Plan:
    """The files an analysis of those scans needs (:func:`select_scans`), by kind.

    Raises
    ------
    ValueError
        naming a kind, task or participant that is not known.
    """
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"kinds: {kind!r} is not one of {', '.join(KINDS)}.")
    index = read_index() if index is None else index
    chosen = select_scans(index, participants, tasks, n_participants, excluded)
    wanted: set[str] = set()
    derived: list[str] = []
    task_set = sorted(set(chosen.task))
    if "top" in kinds:
        wanted |= set(TOP_FILES)
    if "stimuli" in kinds:
        wanted |= {f"stimuli/{name}_audio.wav" for task in task_set
                   for name in TASK_AUDIO.get(task, (task,))}
    for scan in chosen.itertuples():
        stem = (f"{scan.participant}/func/{scan.participant}_task-{scan.task}"
                + (f"_run-{scan.run}" if isinstance(scan.run, str) else ""))
        if "raw" in kinds:
            wanted |= {f"{stem}_events.tsv", f"{stem}_bold.json"}
        if "bold" in kinds:
            name = stem.split("/")[-1]
            derived += [f"derivatives/afni-nosmooth/{scan.participant}/func/{name}_space-"
                        f"fsaverage6_hemi-{h}_desc-clean.func.gii" for h in ("L", "R")]
    if "atlas" in kinds:
        derived += list(ATLAS)
    if "alignments" in kinds:
        derived += [f"stimuli/gentle/{story}/align.json" for task in task_set
                    for story in stories_of(task)]
    rows = index[index.path.isin(wanted)]
    absent = sorted(wanted - set(rows.path) - {p for p in wanted if kind_of(p) == "top"})
    if absent:
        log.warning("not in the checksum list, not fetched: %s", ", ".join(absent))
    raw = [RemoteFile(p, int(s), m) for p, s, m in zip(rows.path, rows["size"], rows.md5)]
    return Plan(raw, derived)


def fetch_raw(files: list[RemoteFile], dest: str | Path, url: str | None = None,
              **options) -> list[Path]:
    """:func:`analysis.datasets.download.fetch` of raw files from the Narratives bucket
    (``url``: default :func:`base_url`); ``options`` are those of that function."""
    return download.fetch(files, dest, url or base_url(), where=WHERE, **options)


if __name__ == "__main__":  # python -m analysis.datasets.narratives_download LISTING COPIES [OUT]
    logging.basicConfig(level=logging.INFO)
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: python -m analysis.datasets.narratives_download "
                 "FILE_LISTING_annexed.tsv COPIES_FOLDER [OUT]")
    n = write_index(*sys.argv[1:4])
    log.info("wrote %d files to %s", n, sys.argv[3] if len(sys.argv) > 3 else INDEX)
