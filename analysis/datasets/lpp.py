"""Reader of the Le Petit Prince fMRI corpus (OpenNeuro ds003643), laid out as on the bucket.

The corpus's rules and traps (see ``docs/lpp.md`` of the shared folder) are handled here:

- run labels are scanner series numbers for CN and EN: section k is the k-th preprocessed run
  in sorted order; FR runs 01-09 are sections 1-9. Aborted raw runs have no preprocessed
  version, so indexing the derivatives skips them;
- every participant has exactly 9 preprocessed runs, whose volume counts per section are
  fixed (:data:`VOLUMES`); t=0 is the audio onset, extra scans follow the audio;
- TextGrids are ASCII or UTF-16 big-endian with a byte-order mark: decoded by their BOM;
  Praat doubles a quote inside a label; silences are ``#`` (EN) or empty labels (FR);
- ``participants.tsv`` starts with a UTF-8 BOM, has no final newline and ``n/a`` values;
- ``lppEN_word_information.csv`` has three known bad rows and 31 empty words ("n't").

A file that breaks a rule raises :class:`CorpusError`, naming the file and the rule.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.datasets import read_audio

log = logging.getLogger(__name__)

LANGUAGES = ("EN", "FR", "CN")
TR = 2.0
N_SECTIONS = 9
VOLUMES: dict[str, tuple[int, ...]] = {  # preprocessed volumes per section
    "EN": (282, 298, 340, 303, 265, 343, 325, 292, 368),
    "FR": (309, 326, 354, 315, 293, 378, 332, 294, 336),
    "CN": (283, 322, 322, 307, 293, 392, 364, 293, 401),
}
EXTRA_SCANS = {"EN": 4, "FR": 2, "CN": 0}  # scans after the audio ends
KNOWN_BAD_WORDS = {"EN": (3919, 6775, 6781)}  # rows of lpp{L}_word_information.csv
SILENCES = frozenset({"", "#"})
TIERS = ("TokensAlign", "text words")  # word tiers of EN and FR TextGrids

_BOLD = re.compile(r"derivatives/sub-(?P<participant>(?P<language>[A-Z]{2})\d{3})/func/"
                   r"sub-(?P=participant)_task-lpp(?P=language)_run-(?P<run>\d+)"
                   r"_space-MNIColin27_desc-preproc_bold\.nii\.gz$")


class CorpusError(ValueError):
    """A file of the corpus breaks one of its rules, or is missing."""


def language_code(language: str) -> str:
    """``"en"`` or ``"EN"`` -> ``"EN"``; a ValueError for anything else."""
    code = str(language).upper()
    if code not in LANGUAGES:
        raise ValueError(f"language={language!r} is not a language of the corpus; choose one "
                         f"of {', '.join(c.lower() for c in LANGUAGES)}.")
    return code


def bold_path(participant: str, run: str) -> str:
    """Relative path of a preprocessed run, e.g. ``bold_path("EN057", "15")``."""
    lang = participant[:2]
    return (f"derivatives/sub-{participant}/func/sub-{participant}_task-lpp{lang}_run-{run}"
            f"_space-MNIColin27_desc-preproc_bold.nii.gz")


def stimulus_path(language: str, section: int) -> str:
    """Relative path of a section's WAV (EN uses a hyphen, CN and FR an underscore)."""
    lang = language_code(language)
    sep = "-" if lang == "EN" else "_"
    return f"stimuli/task-lpp{lang}_section{sep}{section}.wav"


def textgrid_path(language: str, section: int) -> str:
    """Relative path of a section's TextGrid."""
    lang = language_code(language)
    return f"annotation/{lang}/lpp{lang}_section{section}.TextGrid"


def word_table_path(language: str) -> str:
    """Relative path of a language's word table."""
    lang = language_code(language)
    return f"annotation/{lang}/lpp{lang}_word_information.csv"


def index_paths(paths: Iterable[str | Path], root: Path | None = None) -> pd.DataFrame:
    """Map preprocessed runs to sections, from relative paths alone.

    Parameters
    ----------
    paths : relative paths of the corpus (anything that is not a preprocessed run is ignored)
    root : folder the paths are relative to; ``bold_path`` and ``stimulus_path`` are joined
        to it when given

    Returns
    -------
    DataFrame with one row per participant and section, sorted by participant and section:
    ``participant, language, section, run, bold_path, stimulus_path``.

    Raises
    ------
    CorpusError
        when a participant does not have exactly 9 preprocessed runs, or a FR participant's
        runs are not 01-09.
    """
    runs: dict[str, list[tuple[str, str]]] = {}
    for path in paths:
        match = _BOLD.search(Path(path).as_posix())
        if match:
            runs.setdefault(match["participant"], []).append((match["run"], str(path)))
    rows = []
    for participant in sorted(runs):
        lang = participant[:2]
        ordered = sorted(runs[participant], key=lambda item: int(item[0]))
        labels = [run for run, _ in ordered]
        if len(ordered) != N_SECTIONS:
            raise CorpusError(
                f"derivatives/sub-{participant}/func: {len(ordered)} preprocessed runs "
                f"({', '.join(labels)}), but every participant has exactly {N_SECTIONS}; "
                "download the missing runs (python -m analysis fetch lpp --kinds bold).")
        if lang == "FR" and [int(r) for r in labels] != list(range(1, N_SECTIONS + 1)):
            raise CorpusError(f"derivatives/sub-{participant}/func: FR runs must be 01-09 "
                              f"(run k is section k), found {', '.join(labels)}.")
        for section, (run, path) in enumerate(ordered, 1):  # k-th run in sorted order
            stim = stimulus_path(lang, section)
            rows.append({"participant": f"sub-{participant}", "language": lang.lower(),
                         "section": section, "run": run,
                         "bold_path": Path(root) / path if root else Path(path),
                         "stimulus_path": Path(root) / stim if root else Path(stim)})
    columns = ["participant", "language", "section", "run", "bold_path", "stimulus_path"]
    return pd.DataFrame(rows, columns=columns)


def index_runs(root: str | Path) -> pd.DataFrame:
    """Runs of every participant found under ``root``, mapped to sections.

    Returns the DataFrame of :func:`index_paths` with absolute paths (``bold_path`` and
    ``stimulus_path`` under ``root``; the stimulus need not exist yet).
    """
    root = Path(root)
    found = [p.relative_to(root).as_posix()
             for p in (root / "derivatives").glob("sub-*/func/*_desc-preproc_bold.nii.gz")]
    return index_paths(found, root=root)


def expected_volumes(language: str, section: int) -> int:
    """Volumes of a preprocessed run of ``section`` in ``language``."""
    return VOLUMES[language_code(language)][section - 1]


def frame_times(language: str, section: int) -> np.ndarray:
    """Acquisition time of each volume of a section (t=0 at the audio onset), seconds:
    array of shape (n_volumes,)."""
    return np.arange(expected_volumes(language, section)) * TR


def check_audio(path: str | Path, language: str, section: int) -> float:
    """Duration of a section's WAV (s), checked against its run: the scans of a section
    cover its audio (t=0 at the audio onset, extra scans only after it).

    Raises
    ------
    CorpusError
        naming the file when it cannot be read or lasts longer than the section's scans.
    """
    import soundfile

    try:
        info = soundfile.info(str(path))
    except Exception as exc:
        raise CorpusError(f"{path}: cannot read it as audio ({exc}); delete it and fetch it "
                          "again (python -m analysis fetch lpp --kinds stimuli).") from exc
    covered = expected_volumes(language, section) * TR
    if info.duration > covered:
        raise CorpusError(f"{path}: {info.duration:.1f} s of audio, but the "
                          f"{expected_volumes(language, section)} scans of section {section} "
                          f"({language_code(language)}) cover {covered:.0f} s from its onset.")
    return info.duration


def check_volumes(path: str | Path, language: str, section: int) -> int:
    """Number of volumes of a preprocessed run, checked against the section's.

    Raises
    ------
    CorpusError
        naming the file when it cannot be read or has the wrong number of volumes.
    """
    import nibabel

    try:
        shape = nibabel.load(path).shape
    except Exception as exc:
        raise CorpusError(f"{path}: cannot read it as NIfTI ({exc}); delete it and fetch it "
                          "again (python -m analysis fetch lpp).") from exc
    expected = expected_volumes(language, section)
    n = shape[3] if len(shape) == 4 else 1
    if n != expected:
        raise CorpusError(f"{path}: {n} volumes, but a preprocessed run of section {section} "
                          f"({language_code(language)}) has {expected} (volumes per section "
                          f"{VOLUMES[language_code(language)]}).")
    return n


def decode(data: bytes, path: str | Path = "?") -> str:
    """Text of a corpus file, decoded by its byte-order mark (UTF-16 BE/LE, UTF-8), else as
    UTF-8 (which covers ASCII)."""
    for bom, codec in ((b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"),
                       (b"\xef\xbb\xbf", "utf-8")):
        if data.startswith(bom):
            return data[len(bom):].decode(codec)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path}: no byte-order mark and not UTF-8 ({exc}).") from exc


_FIELD = re.compile(r'^\s*(class|name|xmin|xmax|text)\s*=\s*(.*?)\s*$')


def read_textgrid(path: str | Path, tier: str | None = None) -> pd.DataFrame:
    """Words of a Praat TextGrid (long text format), silences dropped.

    Parameters
    ----------
    path : a ``.TextGrid`` file, ASCII/UTF-8 or UTF-16 with a byte-order mark
    tier : name of the interval tier to read (default: the only interval tier, else the one
        named ``TokensAlign`` or ``text words``, else the one whose name has "word" or
        "token" in it)

    Returns
    -------
    DataFrame with columns ``word`` (str, Praat's doubled quotes undone), ``onset``,
    ``offset`` (float, seconds from the start of the section's audio), one row per non-silent
    interval, in time order.
    """
    text = decode(Path(path).read_bytes(), path)
    if '"ooTextFile"' not in text.split("\n", 1)[0] or "item []" not in text:
        raise CorpusError(f"{path}: not a TextGrid in Praat's long text format.")
    tiers: dict[str, list[tuple[str, float, float]]] = {}
    current, interval = None, {}
    for line in text.splitlines():
        match = _FIELD.match(line)
        if not match:
            continue
        key, value = match.groups()
        if key == "class":
            current = None if value.strip('"') != "IntervalTier" else ""
        elif key == "name" and current == "":
            current = value[1:-1].replace('""', '"')
            tiers[current] = []
        elif current and key in ("xmin", "xmax"):
            interval[key] = float(value)
        elif current and key == "text":
            if not (value.startswith('"') and value.endswith('"')):
                raise CorpusError(f"{path}: a label spans several lines ({value!r}).")
            label = value[1:-1].replace('""', '"')
            tiers[current].append((label, interval["xmin"], interval["xmax"]))
    names = list(tiers)
    if tier is None:
        known = [n for n in names if n in TIERS] or [
            n for n in names if "word" in n.lower() or "token" in n.lower()]
        if len(names) != 1 and len(known) != 1:
            raise CorpusError(f"{path}: interval tiers {names}; say which holds the words "
                              "(tier=...).")
        tier = names[0] if len(names) == 1 else known[0]
    if tier not in tiers:
        raise CorpusError(f"{path}: no interval tier named {tier!r} (tiers: {names}).")
    words = pd.DataFrame(tiers[tier], columns=["word", "onset", "offset"])
    return words[~words.word.str.strip().isin(SILENCES)].reset_index(drop=True)


def read_participants(root: str | Path) -> pd.DataFrame:
    """``participants.tsv``: one row per participant, ``n/a`` read as missing.

    Returns a DataFrame indexed by ``participant_id`` (e.g. ``sub-EN057``), with a
    ``language`` column added (``en``, ``fr``, ``cn``).
    """
    path = Path(root) / "participants.tsv"
    if not path.exists():
        raise CorpusError(f"{path} is missing; run `python -m analysis fetch lpp --kinds top`.")
    table = pd.read_csv(path, sep="\t", encoding="utf-8-sig", na_values=["n/a"],
                        keep_default_na=False, dtype={"participant_id": str})
    if "participant_id" not in table:
        raise CorpusError(f"{path}: no participant_id column (columns: {list(table)}).")
    table["language"] = table.participant_id.str[4:6].str.lower()
    return table.set_index("participant_id")


def read_word_table(root: str | Path, language: str, drop_bad: bool = True) -> pd.DataFrame:
    """Word table of a language (``annotation/<L>/lpp<L>_word_information.csv``).

    Parameters
    ----------
    root : the corpus folder
    language : ``en``, ``fr`` or ``cn``
    drop_bad : drop the rows known to be wrong (EN: 3919 duplicated, 6775 and 6781 do not
        match the text)

    Returns
    -------
    DataFrame indexed by the file's row number, with at least ``word, onset, offset,
    section`` (onsets in seconds from the start of the section's WAV); empty EN words, all
    the clitic "n't", are filled in.
    """
    lang = language_code(language)
    path = Path(root) / word_table_path(lang)
    if not path.exists():
        raise CorpusError(f"{path} is missing; run `python -m analysis fetch lpp --languages "
                          f"{lang.lower()} --kinds annotations`.")
    table = pd.read_csv(path, index_col=0, keep_default_na=False)
    missing = {"word", "onset", "offset", "section"} - set(table)
    if missing:
        raise CorpusError(f"{path}: columns {sorted(missing)} are missing.")
    if lang == "EN":
        table.loc[table.word == "", "word"] = "n't"  # 31 rows, lemmas not/will/would
    if drop_bad:
        table = table.drop(index=[i for i in KNOWN_BAD_WORDS.get(lang, ()) if i in table.index])
    return table


def read_stimulus(root: str | Path, language: str, section: int) -> np.ndarray:
    """A section's audio, mono float32 at 16 kHz: array of shape (n_samples,)."""
    path = Path(root) / stimulus_path(language, section)
    if not path.exists():
        raise CorpusError(f"{path} is missing; run `python -m analysis fetch lpp --languages "
                          f"{language.lower()} --kinds stimuli`.")
    return read_audio(path)
