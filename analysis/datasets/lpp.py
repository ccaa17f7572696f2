"""Reader of the Le Petit Prince fMRI corpus (OpenNeuro ds003643), laid out as on the bucket.

The corpus's rules and traps (see ``docs/lpp.md`` of the shared folder) are handled here:

- run labels are scanner series numbers for CN and EN: section k is the k-th preprocessed run
  in sorted order; FR runs 01-09 are sections 1-9. Aborted raw runs have no preprocessed
  version, so indexing the derivatives skips them;
- every participant has exactly 9 preprocessed runs, whose volume counts per section are
  fixed (:data:`VOLUMES`); t=0 is the audio onset, extra scans follow the audio;
- TextGrids are ASCII or UTF-16 big-endian with a byte-order mark: decoded by their BOM;
  Praat doubles a quote inside a label; silences are ``#`` (EN) or empty labels (FR); the
  tier of the words (EN ``TokensAlign``, FR ``text words``) is found by its content
  (:func:`word_tier`), not by its name;
- a WAV may outlast its scans by up to one TR (a logged warning), no more;
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

_PARTICIPANT = re.compile(r"^(?:SUB-)?((?:EN|FR|CN)\d{3})$")
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


def participant_id(participant: str, what: str = "participants") -> str:
    """``"EN057"``, ``"sub-EN057"`` (any case) -> ``"sub-EN057"``; a ValueError naming
    ``what`` (the parameter it came from) for anything else."""
    match = _PARTICIPANT.match(str(participant).strip().upper())
    if not match:
        raise ValueError(f"{what}: {participant!r} is not a participant id of the corpus; "
                         "write it like EN057 or sub-EN057 (EN, FR or CN and three digits).")
    return f"sub-{match[1]}"


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

    Audio up to one TR longer than the scans (e.g. a few ms more in Mandarin, which has no
    extra scan) is logged as a warning: its end falls in the last scan's repetition time.
    The audio must also reach the section's extra scans (``EXTRA_SCANS``) within one TR.

    Raises
    ------
    CorpusError
        naming the file when it cannot be read, when it outlasts the section's scans by
        more than one TR, or when it ends more than one TR before their extra scans (then it
        is not that section's audio, it was cut short, or the run is not whole).
    """
    import soundfile

    try:
        info = soundfile.info(str(path))
    except Exception as exc:
        raise CorpusError(f"{path}: cannot read it as audio ({exc}); delete it and fetch it "
                          "again (python -m analysis fetch lpp --kinds stimuli).") from exc
    lang, scans = language_code(language), expected_volumes(language, section)
    covered = scans * TR
    over = info.duration - covered
    if over > TR:
        raise CorpusError(
            f"{path}: {info.duration:.3f} s of audio, but the {scans} scans of section "
            f"{section} ({lang}) cover {covered:.0f} s from its onset: the audio outlasts them "
            f"by {over:.3f} s, more than one TR ({TR:g} s), so it is not the audio of these "
            "scans (another section's WAV, or a changed file?); delete it and fetch it again "
            "(python -m analysis fetch lpp --kinds stimuli).")
    speech_end = (scans - EXTRA_SCANS[lang]) * TR
    under = speech_end - info.duration
    if under > TR:
        raise CorpusError(
            f"{path}: {info.duration:.3f} s of audio, but the {scans} scans of section "
            f"{section} ({lang}) expect it to last until {speech_end:.0f} s (then "
            f"{EXTRA_SCANS[lang]} extra scans): it ends {under:.3f} s early, more than one TR "
            f"({TR:g} s), so it is cut short or it is another section's audio; delete it and "
            "fetch it again (python -m analysis fetch lpp --kinds stimuli).")
    if over > 0:
        log.warning("%s: %.3f s of audio, %.3f s more than the %d scans of section %d (%s) "
                    "cover (%.0f s); within one TR (%g s), so kept: its end falls in the last "
                    "scan's repetition time", path, info.duration, over, scans, section, lang,
                    covered, TR)
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


_FIELD = re.compile(r'^\s*(class|name|xmin|xmax|number|text|mark)\s*=\s*(.*?)\s*$')
BOUNDARY_TOLERANCE = 1e-3  # s: two tiers' boundaries closer than this are the same


def read_textgrid(path: str | Path, tier: str | None = None) -> pd.DataFrame:
    """Words of a Praat TextGrid (long text format), silences dropped.

    Parameters
    ----------
    path : a ``.TextGrid`` file, ASCII/UTF-8 or UTF-16 with a byte-order mark
    tier : name of the interval tier to read (default: the tier that holds the words, found
        by :func:`word_tier` without knowing its name)

    Returns
    -------
    DataFrame with columns ``word`` (str, Praat's doubled quotes undone), ``onset``,
    ``offset`` (float, seconds from the start of the section's audio), one row per non-silent
    interval, in time order.

    Raises
    ------
    CorpusError
        naming the file when it is not a TextGrid, has no tier called ``tier``, or when no
        tier or several could hold the words (the message lists the tiers).
    """
    tiers = read_tiers(path)
    intervals = {name: rows for name, (kind, rows) in tiers.items() if kind == "IntervalTier"}
    if tier is None:
        tier = word_tier(tiers, path)
    if tier not in intervals:
        raise CorpusError(f"{path}: no interval tier named {tier!r} (tiers: "
                          f"{_describe(tiers)}).")
    words = pd.DataFrame(intervals[tier], columns=["word", "onset", "offset"])
    return words[~words.word.str.strip().isin(SILENCES)].reset_index(drop=True)


def word_tier(tiers: dict[str, tuple[str, list]], path: str | Path = "?") -> str:
    """Name of the tier of a TextGrid that holds the words, without knowing its name.

    The rule: the candidates are the interval tiers with at least one non-silent label
    (silences: :data:`SILENCES`); a single candidate is the words (all the corpus's EN and FR
    TextGrids have one). Among several, two kinds are set aside:

    - sentence-like tiers, whose typical (median) label has several words or is 12
      characters or longer;
    - subdivisions, e.g. phones or syllables: a tier with more labelled intervals than
      another candidate, holding at least 95 % of that tier's boundaries (within
      :data:`BOUNDARY_TOLERANCE`), i.e. cutting its intervals into smaller ones.

    The one candidate left is the words.

    Parameters
    ----------
    tiers : ``{name: (kind, rows)}`` as :func:`read_tiers` returns them: kind
        ``"IntervalTier"`` with rows ``(label, xmin, xmax)``, or ``"TextTier"`` with rows
        ``(mark, time)``
    path : the file, named in errors

    Raises
    ------
    CorpusError
        naming the file and listing its tiers (name, kind, labelled intervals of all), when
        no tier or several qualify.
    """
    labelled = {name: [(x0, x1) for label, x0, x1 in rows if label.strip() not in SILENCES]
                for name, (kind, rows) in tiers.items() if kind == "IntervalTier"}
    candidates = [name for name, spans in labelled.items() if spans]
    if len(candidates) > 1:
        texts = {name: [label.strip() for label, *_ in tiers[name][1]
                        if label.strip() not in SILENCES] for name in candidates}
        candidates = [name for name in candidates
                      if np.median([len(t.split()) for t in texts[name]]) < 2
                      and np.median([len(t) for t in texts[name]]) < 12]
        edges = {name: np.unique(np.ravel(labelled[name])) for name in candidates}
        candidates = [name for name in candidates if not any(
            len(labelled[name]) > len(labelled[other])
            and _share(edges[other], edges[name]) >= 0.95
            for other in candidates if other != name)]
    if len(candidates) != 1:
        problem = ("none qualifies: it needs non-silent labels of one word each and must "
                   "not cut another tier's intervals" if not candidates else
                   f"{', '.join(map(repr, candidates))} could each hold the words")
        raise CorpusError(f"{path}: cannot tell which tier holds the words ({problem}; tiers: "
                          f"{_describe(tiers)}); pass tier='NAME' to read_textgrid.")
    return candidates[0]


def _share(coarse: np.ndarray, fine: np.ndarray) -> float:
    """Fraction of the ``coarse`` boundaries that are also ``fine`` ones, within
    :data:`BOUNDARY_TOLERANCE`: arrays of shape (n,) and (m,), seconds, sorted."""
    if not len(coarse) or not len(fine):
        return 0.0
    i = np.searchsorted(fine, coarse)
    left, right = fine[np.clip(i - 1, 0, len(fine) - 1)], fine[np.clip(i, 0, len(fine) - 1)]
    nearest = np.minimum(np.abs(coarse - left), np.abs(right - coarse))
    return float(np.mean(nearest <= BOUNDARY_TOLERANCE))


def _describe(tiers: dict[str, tuple[str, list]]) -> str:
    """``'phones' (IntervalTier, 5210 intervals, 4800 labelled), ...``"""
    parts = []
    for name, (kind, rows) in tiers.items():
        if kind == "IntervalTier":
            n = sum(label.strip() not in SILENCES for label, *_ in rows)
            parts.append(f"{name!r} ({kind}, {len(rows)} intervals, {n} labelled)")
        else:
            parts.append(f"{name!r} ({kind}, {len(rows)} points)")
    return ", ".join(parts) or "none"


def read_tiers(path: str | Path) -> dict[str, tuple[str, list]]:
    """Every tier of a TextGrid in Praat's long text format: ``{name: (kind, rows)}``, rows
    ``(label, xmin, xmax)`` of an ``IntervalTier`` or ``(mark, time)`` of a ``TextTier``."""
    text = decode(Path(path).read_bytes(), path)
    if '"ooTextFile"' not in text.split("\n", 1)[0] or "item []" not in text:
        raise CorpusError(f"{path}: not a TextGrid in Praat's long text format.")
    tiers: dict[str, tuple[str, list]] = {}
    kind, rows, interval = None, None, {}
    for line in text.splitlines():
        match = _FIELD.match(line)
        if not match:
            continue
        key, value = match.groups()
        if key == "class":
            kind, rows = value.strip('"'), None
        elif key == "name" and kind and rows is None:
            name = value[1:-1].replace('""', '"')
            if name in tiers:
                raise CorpusError(f"{path}: two tiers are named {name!r}; rename one in Praat.")
            rows = []
            tiers[name] = (kind, rows)
        elif rows is not None and key in ("xmin", "xmax", "number"):
            interval[key] = float(value)
        elif rows is not None and key in ("text", "mark"):
            if not (value.startswith('"') and value.endswith('"') and len(value) > 1):
                raise CorpusError(f"{path}: a label spans several lines ({value!r}).")
            label = value[1:-1].replace('""', '"')
            if kind == "IntervalTier" and key == "text":
                rows.append((label, interval["xmin"], interval["xmax"]))
            elif key == "mark":
                rows.append((label, interval.get("number", np.nan)))
    return tiers


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
