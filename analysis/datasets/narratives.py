"""Reader of the Narratives fMRI corpus (OpenNeuro ds002345), laid out as on the bucket, with
the ``afni-nosmooth`` derivatives and the Gentle alignments of its DataLad release beside it.

The corpus's rules and traps (``docs/narratives.md`` of the shared folder) handled here:

- scans are found by their ``_events.tsv`` (one per scan, raw data): a listener's scans are
  ``sub-<NNN>_task-<task>[_run-<k>]`` (``pieman`` has ``run-1``/``run-2`` for some listeners,
  ``schema`` four runs); a task of ``participants.tsv`` without a scan is logged, a scan
  without its task in ``participants.tsv`` is an error;
- tasks are not stories: the story heard is named by the events' ``stim_file``
  (``<story>_audio.wav``), except that the three versions of ``milkyway`` are told apart by
  the listener's ``condition`` (:data:`MILKYWAY_CONDITIONS`; a ``stim_file`` naming another
  version is an error), and ``slumlordreach`` holds two stories, ``slumlord`` then ``reach``
  (:data:`SPLIT_STORIES`), in one WAV;
- only ``story`` segments are kept: ``music`` clips (and ``schema``'s ``movie`` clips) are
  dropped; the scrambled ``notthefalllongscram``, ``notthefallshortscram`` and ``schema``
  (:data:`SKIPPED_TASKS`) are skipped by default, as the paper's authors did;
- onsets and durations are seconds from the scan's first kept volume; a WAV's t=0 is the
  onset of the first segment of that ``stim_file`` in the scan (music and story share one WAV
  in most tasks), so each segment's place in its WAV is ``audio_start``. Two scans of
  ``prettymouth`` (sub-038, sub-105, both excluded by the authors) have a story that starts
  before the music clip ends: their events contradict themselves, and the story's place in
  the WAV is taken from the task's other scans (a logged warning);
- ``participants.tsv`` holds comma-separated ``task, age, sex, condition, comprehension``
  aligned by position (:func:`read_participants` reads one row per listener and task);
- the TR is each scan's ``RepetitionTime`` (1.5 s, 1.52 s for 17 ``milkyway`` scans), read from
  its sidecar with BIDS inheritance (top-level ``task-<task>_bold.json`` first, then the
  participant's, then the scan's own);
- ``code/scan_exclude.json`` lists scans the authors excluded (26 listener-task entries, 27
  scans: sub-001's two ``pieman`` runs are one entry); the authors left out a listener's whole
  task when any of its scans is listed (``exclusion_unit="task"``, which gives the 319 of the
  345 listeners of narratives.md), or only the listed scans (``"scan"``).

Surface time series are expected at :func:`bold_paths` (fsaverage6, ``desc-clean``, both
hemispheres) and read by :func:`read_surface_bold` onto the book's fsaverage5 mesh
(:func:`to_fsaverage5`: FreeSurfer's icosahedral meshes are nested, fsaverage5's 10,242
vertices of a hemisphere being the first 10,242 of fsaverage6's 40,962, at the same places;
:func:`check_nested` verifies it on spheres), whose volumes must last until the scan's story
ends (:func:`check_covers`); word timings come from :func:`read_alignment`.
A file that breaks a rule raises :class:`~analysis.datasets.lpp.CorpusError` naming the file
and the rule.
"""
from __future__ import annotations

import csv
import json
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from analysis.datasets.lpp import CorpusError
from analysis.surface import N_VERTICES

log = logging.getLogger(__name__)

SKIPPED_TASKS = ("notthefalllongscram", "notthefallshortscram", "schema")
MILKYWAY_CONDITIONS = ("original", "vodka", "synonyms")
SPLIT_STORIES = {"slumlordreach": ("slumlord", "reach")}
KEPT_SEGMENTS = "story"
DROPPED_SEGMENTS = frozenset({"music", "movie"})
EXCLUSIONS = "code/scan_exclude.json"
EXCLUSION_UNITS = ("task", "scan")
PARTICIPANT_COLUMNS = ("task", "age", "sex", "condition", "comprehension")
DERIVATIVES = "derivatives/afni-nosmooth"
HEMISPHERES = ("L", "R")
COLUMNS = ["participant", "task", "run", "story", "condition", "audio_path", "audio_start",
           "onset", "duration", "tr", "bold_paths"]
FETCH = "python -m analysis fetch narratives"

_SCAN = re.compile(r"^(?P<participant>sub-\d+)_task-(?P<task>[a-z0-9]+)(?:_run-(?P<run>\d+))?$")
_EVENTS = re.compile(r"^(?P<scan>sub-\d+_task-[a-z0-9]+(?:_run-\d+)?)_events\.tsv$")
FSAVERAGE5_VERTICES = N_VERTICES // 2  # 10242 per hemisphere: icosahedron of order 5
FSAVERAGE6_VERTICES = 40962  # order 6; order k has 10 * 4**k + 2 vertices
NESTING_TOLERANCE = 1e-3  # unit sphere: ~0.1 mm on FreeSurfer's 100 mm sphere
_TIME_TOLERANCE = 1e-6  # s: segments closer than this do not overlap


def scan_name(participant: str, task: str, run: str | None = None) -> str:
    """``sub-001_task-pieman_run-1`` (``run`` None: no run label)."""
    return f"{participant}_task-{task}" + (f"_run-{run}" if run else "")


def bold_paths(root: str | Path, participant: str, task: str,
               run: str | None = None) -> tuple[Path, Path]:
    """Paths of a scan's cleaned fsaverage6 surface time series, left then right hemisphere:
    ``derivatives/afni-nosmooth/sub-<NNN>/func/<scan>_space-fsaverage6_hemi-{L,R}_desc-clean
    .func.gii`` under ``root`` (they need not exist yet)."""
    name = scan_name(participant, task, run)
    folder = Path(root) / DERIVATIVES / participant / "func"
    return tuple(folder / f"{name}_space-fsaverage6_hemi-{h}_desc-clean.func.gii"
                 for h in HEMISPHERES)


def audio_path(root: str | Path, story_file: str) -> Path:
    """Path of a stimulus WAV, e.g. ``audio_path(root, "pieman_audio.wav")``."""
    return Path(root) / "stimuli" / story_file


def alignment_path(root: str | Path, story: str) -> Path:
    """Path of a story's Gentle alignment, ``stimuli/gentle/<story>/align.json``."""
    return Path(root) / "stimuli" / "gentle" / story / "align.json"


def read_participants(root: str | Path) -> pd.DataFrame:
    """``participants.tsv`` with one row per listener and task.

    The file has one row per listener, whose ``task, age, sex, condition, comprehension``
    hold comma-separated values aligned by position (a listener of two tasks has two of each).

    Returns
    -------
    DataFrame with columns ``participant, task, age, sex, condition, comprehension`` (str;
    ``n/a`` is missing, ``pd.isna``), one row per listener and task, in the file's order.

    Raises
    ------
    CorpusError
        naming the file and the row when it is missing, lacks a column, or when a row's
        columns do not have one value per task.
    """
    path = Path(root) / "participants.tsv"
    if not path.exists():
        raise CorpusError(f"{path} is missing; run `{FETCH} --kinds top`.")
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    missing = {"participant_id", *PARTICIPANT_COLUMNS} - set(table)
    if missing:
        raise CorpusError(f"{path}: columns {sorted(missing)} are missing (columns: "
                          f"{list(table)}).")
    rows = []
    for line, row in enumerate(table.itertuples(index=False), 2):
        values = {c: str(getattr(row, c)).split(",") for c in PARTICIPANT_COLUMNS}
        tasks = values["task"]
        for column, items in values.items():
            if len(items) != len(tasks):
                raise CorpusError(
                    f"{path}, line {line} ({row.participant_id}): {len(tasks)} tasks "
                    f"({','.join(tasks)}) but {len(items)} values of {column} "
                    f"({getattr(row, column)!r}); every column holds one comma-separated "
                    "value per task, aligned by position (write n/a where unknown).")
        if len(set(tasks)) != len(tasks):
            raise CorpusError(f"{path}, line {line} ({row.participant_id}): task listed twice "
                              f"({','.join(tasks)}); a task appears once per listener, its "
                              "runs being scans of one entry.")
        for i, task in enumerate(tasks):
            rows.append({"participant": row.participant_id,
                         **{c: _missing(values[c][i]) for c in PARTICIPANT_COLUMNS}})
    return pd.DataFrame(rows, columns=["participant", *PARTICIPANT_COLUMNS])


def _missing(value: str) -> str | None:
    """A value of ``participants.tsv``, stripped; None for ``n/a`` or nothing."""
    value = value.strip()
    return None if value in ("n/a", "") else value


def read_exclusions(root: str | Path) -> pd.DataFrame:
    """``code/scan_exclude.json``: the scans the corpus's authors excluded.

    Returns
    -------
    DataFrame with columns ``participant, task, run, scan`` (``run`` missing where the scan
    has no run label), one row per scan listed.

    Raises
    ------
    CorpusError
        naming the file when it is missing, not ``{task: {participant: [scan, ...]}}``, or
        when a scan listed is not one of that task and participant.
    """
    path = Path(root) / EXCLUSIONS
    if not path.exists():
        raise CorpusError(f"{path} is missing; run `{FETCH} --kinds top`, or pass "
                          "apply_exclusions=False to keep every scan.")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{path}: not JSON ({exc}).") from exc
    rows = []
    shape = "{task: {participant: [scan name, ...]}}"
    if not isinstance(data, dict):
        raise CorpusError(f"{path}: must be {shape}, found a {type(data).__name__}.")
    for task, listeners in data.items():
        if not isinstance(listeners, dict):
            raise CorpusError(f"{path}: {task!r} must map participants to scans ({shape}).")
        for participant, scans in listeners.items():
            for scan in scans if isinstance(scans, list) else [scans]:
                match = _SCAN.match(str(scan))
                if not match or (match["participant"], match["task"]) != (participant, task):
                    raise CorpusError(
                        f"{path}: {task} / {participant} lists {scan!r}, which is not a scan "
                        f"of that task and participant (expected {participant}_task-{task} "
                        "with an optional _run-<k>).")
                rows.append({"participant": participant, "task": task, "run": match["run"],
                             "scan": scan})
    return pd.DataFrame(rows, columns=["participant", "task", "run", "scan"])


def read_sidecar(root: str | Path, participant: str, task: str,
                 run: str | None = None) -> tuple[dict, list[Path]]:
    """A scan's BOLD metadata, with BIDS inheritance.

    The sidecars that apply, from the least to the most specific, are merged, a more
    specific one overriding: ``task-<task>_bold.json`` (top level), then
    ``task-<task>_run-<k>_bold.json`` (top level), then the same two under ``sub-<NNN>/``,
    then the scan's own ``sub-<NNN>/func/<scan>_bold.json``.

    Returns
    -------
    (metadata, paths of the sidecars read, least specific first)
    """
    root = Path(root)
    names = [f"task-{task}_bold.json"] + ([f"task-{task}_run-{run}_bold.json"] if run else [])
    candidates = [root / n for n in names]
    candidates += [root / participant / f"{participant}_{n}" for n in names]
    candidates.append(root / participant / "func" / f"{scan_name(participant, task, run)}"
                                                    "_bold.json")
    meta, read = {}, []
    for path in candidates:
        if path.exists():
            try:
                meta.update(json.loads(path.read_text()))
            except json.JSONDecodeError as exc:
                raise CorpusError(f"{path}: not JSON ({exc}).") from exc
            read.append(path)
    return meta, read


def repetition_time(root: str | Path, participant: str, task: str,
                    run: str | None = None) -> float:
    """A scan's ``RepetitionTime`` (s), from its sidecars (:func:`read_sidecar`).

    Raises
    ------
    CorpusError
        naming the sidecars looked at when none gives a positive ``RepetitionTime``.
    """
    meta, read = read_sidecar(root, participant, task, run)
    tr = meta.get("RepetitionTime")
    if not isinstance(tr, (int, float)) or isinstance(tr, bool) or not tr > 0:
        where = ", ".join(map(str, read)) or (
            f"no sidecar ({Path(root) / participant / 'func' / scan_name(participant, task, run)}"
            f"_bold.json nor task-{task}_bold.json at the top level)")
        raise CorpusError(f"{scan_name(participant, task, run)}: no positive RepetitionTime in "
                          f"its BOLD sidecars ({where}; found {tr!r}); every scan's TR is read "
                          f"from them: run `{FETCH} --kinds raw`.")
    return float(tr)


def read_events(path: str | Path) -> pd.DataFrame:
    """A scan's ``_events.tsv``: ``onset, duration, trial_type, stim_file`` (``n/a`` missing).

    Raises
    ------
    CorpusError
        naming the file when a column is missing, a time is not a number, an onset is
        negative or a duration not positive, a ``trial_type`` is not ``story``, ``music`` or
        ``movie``, or a story segment has no ``stim_file``.
    """
    return pd.DataFrame(_event_rows(Path(path)),
                        columns=["onset", "duration", "trial_type", "stim_file"])


def _event_rows(path: Path) -> list[dict]:
    """The rows of :func:`read_events` as dictionaries (read without pandas: the corpus has
    hundreds of two-line files)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        rows, header = list(reader), reader.fieldnames or []
    missing = {"onset", "duration", "trial_type", "stim_file"} - set(header)
    if missing:
        raise CorpusError(f"{path}: columns {sorted(missing)} are missing (columns: "
                          f"{list(header)}).")
    for line, row in enumerate(rows, 2):
        for column in ("onset", "duration"):
            try:
                row[column] = float(row[column])
            except (TypeError, ValueError):
                raise CorpusError(f"{path}, line {line}: {column} must be a number of seconds, "
                                  f"found {row[column]!r}.") from None
        if row["onset"] < 0 or row["duration"] <= 0:
            raise CorpusError(f"{path}, line {line}: onset {row['onset']:g}, duration "
                              f"{row['duration']:g}; onsets must be >= 0 and durations > 0 "
                              "(seconds from the scan's first volume).")
        if row["trial_type"] not in {KEPT_SEGMENTS, *DROPPED_SEGMENTS}:
            raise CorpusError(f"{path}, line {line}: trial_type {row['trial_type']!r} unknown; "
                              f"the corpus has {KEPT_SEGMENTS}, "
                              f"{', '.join(sorted(DROPPED_SEGMENTS))}.")
        if row["stim_file"] in ("", "n/a"):
            row["stim_file"] = None
            if row["trial_type"] == KEPT_SEGMENTS:
                raise CorpusError(f"{path}, line {line}: a story segment without stim_file; "
                                  "each names its WAV.")
    return rows


def _stories(path: Path, task: str, condition: str | None, events: list[dict],
             participants_path: Path) -> list[dict]:
    """The story segments of one scan's events (:func:`_event_rows`): ``story, stim_file,
    audio_start, onset, duration, overlap`` (``overlap``: it starts before the previous
    segment of its WAV ends)."""
    first: dict[str, float] = {}
    for row in events:
        if row["stim_file"]:
            first[row["stim_file"]] = min(row["onset"], first.get(row["stim_file"], row["onset"]))
    segments = []
    for row in events:
        if row["trial_type"] != KEPT_SEGMENTS:
            continue
        if not row["stim_file"].endswith("_audio.wav"):
            raise CorpusError(f"{path}: stim_file {row['stim_file']!r} is not "
                              "<story>_audio.wav.")
        ends = [e["onset"] + e["duration"] for e in events
                if e["stim_file"] == row["stim_file"] and e["onset"] < row["onset"]]
        segments.append({"story": row["stim_file"].removesuffix("_audio.wav"),
                         "stim_file": row["stim_file"],
                         "audio_start": row["onset"] - first[row["stim_file"]],
                         "onset": row["onset"], "duration": row["duration"],
                         "overlap": bool(ends) and max(ends) > row["onset"] + _TIME_TOLERANCE})
    if task == "milkyway":
        if condition not in MILKYWAY_CONDITIONS:
            raise CorpusError(
                f"{participants_path}: {path.name.split('_task')[0]}'s condition for milkyway "
                f"is {condition or 'n/a'}; it must be one of "
                f"{', '.join(MILKYWAY_CONDITIONS)} (the version of the story heard).")
        story = f"milkyway{condition}"
        for segment in segments:
            if segment["story"] not in ("milkyway", story):
                raise CorpusError(
                    f"{path}: stim_file {segment['stim_file']} but {participants_path} says "
                    f"the listener heard {story} (condition {condition}); the events and the "
                    "condition must name the same version of milkyway.")
            segment.update(story=story, stim_file=f"{story}_audio.wav")
    if task in SPLIT_STORIES:
        names = SPLIT_STORIES[task]
        if len(segments) != len(names):
            raise CorpusError(f"{path}: {len(segments)} story segments, but {task} holds "
                              f"{len(names)} stories in order ({', '.join(names)}).")
        for segment, name in zip(sorted(segments, key=lambda s: s["onset"]), names):
            segment["story"] = name
    if not segments:
        raise CorpusError(f"{path}: no story segment (trial_type {KEPT_SEGMENTS!r}); every "
                          "scan of the corpus has at least one.")
    return segments


def index_scans(root: str | Path, *, skip_scrambled: bool = True, apply_exclusions: bool = True,
                exclusion_unit: str = "task") -> pd.DataFrame:
    """Story segments of every scan found under ``root``, by the corpus's rules.

    Parameters
    ----------
    root : the corpus folder (raw BIDS data; derivatives beside it need not exist yet)
    skip_scrambled : skip :data:`SKIPPED_TASKS` (scrambled ``notthefall`` and ``schema``)
    apply_exclusions : leave out the scans of ``code/scan_exclude.json``
    exclusion_unit : ``"task"`` leaves out every scan of a listener's task when one of them
        is listed (as the paper's authors read the file); ``"scan"`` only the scans listed

    Returns
    -------
    DataFrame with one row per kept story segment of a scan, sorted by participant, task, run
    and onset: ``participant`` (``sub-001``), ``task``, ``run`` (str; missing, ``pd.isna``,
    without a run label), ``story`` (the audio heard: ``milkywayvodka``, ``slumlord``...),
    ``condition`` (from ``participants.tsv``; missing for n/a), ``audio_path`` (the WAV,
    which need not exist yet), ``audio_start`` (s into the WAV where the segment starts),
    ``onset`` and ``duration`` (s from the scan's first volume), ``tr`` (s, from the scan's
    sidecars), ``bold_paths`` (:func:`bold_paths`, left and right).

    Raises
    ------
    CorpusError
        naming the file and the rule it breaks (see the module's rules).
    """
    if exclusion_unit not in EXCLUSION_UNITS:
        raise ValueError(f"exclusion_unit={exclusion_unit!r}; choose one of "
                         f"{', '.join(EXCLUSION_UNITS)}.")
    root = Path(root)
    participants = read_participants(root)
    participants_path = root / "participants.tsv"
    conditions = {key: value if isinstance(value, str) else None for key, value in
                  participants.set_index(["participant", "task"]).condition.items()}
    scans = []
    for path in sorted(root.glob("sub-*/func/*_events.tsv")):
        match = _EVENTS.match(path.name)
        scan = _SCAN.match(match["scan"]) if match else None
        if scan is None or scan["participant"] != path.parent.parent.name:
            raise CorpusError(f"{path}: not an events file name of the corpus "
                              "(sub-<NNN>_task-<task>[_run-<k>]_events.tsv in sub-<NNN>/func).")
        scans.append((scan["participant"], scan["task"], scan["run"], path))
    if not scans:
        raise CorpusError(f"{root}: no sub-*/func/*_events.tsv; run `{FETCH} --kinds raw`.")
    found = {(p, t) for p, t, _, _ in scans}
    for participant, task in sorted(set(conditions) - found):
        log.info("%s lists task %s for %s, which has no scan of it (no events file): skipped",
                 participants_path, task, participant)
    excluded: set = set()
    if apply_exclusions:
        table = read_exclusions(root)
        excluded = (set(zip(table.participant, table.task)) if exclusion_unit == "task"
                    else set(table.scan))
    rows, dropped = [], {"skipped": 0, "excluded": 0}
    for participant, task, run, path in scans:
        if (participant, task) not in conditions:
            raise CorpusError(f"{path}: a scan of task {task}, but {participants_path} does not "
                              f"list {task} for {participant}; every scan's task is in the "
                              "listener's task column.")
        if skip_scrambled and task in SKIPPED_TASKS:
            dropped["skipped"] += 1
            continue
        key = (participant, task) if exclusion_unit == "task" else scan_name(participant, task,
                                                                              run)
        if key in excluded:
            dropped["excluded"] += 1
            continue
        condition = conditions[participant, task]
        tr = repetition_time(root, participant, task, run)
        left_right = bold_paths(root, participant, task, run)
        events = _event_rows(path)
        for segment in _stories(path, task, condition, events, participants_path):
            rows.append({"participant": participant, "task": task, "run": run,
                         "condition": condition, "tr": tr, "bold_paths": left_right,
                         "events": path, **segment})
    log.info("%s: %d scans read, %d of skipped tasks, %d excluded (%s)", root, len(scans),
             dropped["skipped"], dropped["excluded"],
             f"by {exclusion_unit}" if apply_exclusions else "exclusions not applied")
    index = pd.DataFrame(rows)
    if index.empty:
        return pd.DataFrame(columns=COLUMNS)
    index = _place_contradictory_segments(index)
    index["audio_path"] = [audio_path(root, f) for f in index.stim_file]
    index = index.sort_values(["participant", "task", "run", "onset"], na_position="first")
    return index[COLUMNS].reset_index(drop=True)


def _place_contradictory_segments(index: pd.DataFrame) -> pd.DataFrame:
    """Segments starting before the previous segment of their WAV ends (their events
    contradict themselves) take their place in the WAV from the same story's other scans
    (the most common ``audio_start`` there), with a warning naming the events file."""
    index = index.copy()
    for row in index[index.overlap].itertuples():
        others = index[(index.story == row.story) & ~index.overlap]
        if others.empty:
            raise CorpusError(f"{row.events}: the {row.story} segment at {row.onset:g} s starts "
                              "before the previous segment of its WAV ends, and no other scan "
                              "of the story says where it starts in the WAV.")
        start = float(others.audio_start.round(3).mode().iloc[0])
        log.warning("%s: the %s segment at %g s starts before the previous segment of its WAV "
                    "ends; its place in %s is taken from the other scans of the story: %g s "
                    "(not %g s)", row.events, row.story, row.onset, row.stim_file, start,
                    row.audio_start)
        index.loc[row.Index, "audio_start"] = start
    return index


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


def check_nested(coarse: np.ndarray, fine: np.ndarray,
                 tolerance: float = NESTING_TOLERANCE) -> float:
    """Check that a fine icosahedral sphere extends a coarse one, vertices in order.

    FreeSurfer's icosahedral meshes are built by subdivision: the mesh of order k + 1 keeps
    the vertices of order k first, in their order, then adds one vertex per edge, at its
    midpoint pushed onto the sphere. So the first ``len(coarse)`` vertices of ``fine`` are
    ``coarse``'s, and every later one is the normalised midpoint of its two nearest coarse
    vertices (an edge's ends are the two coarse vertices nearest its midpoint).

    Parameters
    ----------
    coarse : vertex coordinates of a sphere of order k, array of shape (n_k, 3), any radius
    fine : vertex coordinates of a sphere of order k + 1, array of shape (n_(k+1), 3)
    tolerance : largest distance allowed, on the unit sphere

    Returns
    -------
    The largest distance found (unit sphere).

    Raises
    ------
    ValueError
        when the vertex counts are not those of consecutive orders (``10 * 4**k + 2``), or a
        vertex is farther than ``tolerance`` from where the subdivision puts it (the message
        names the rule and the vertex).
    """
    coarse = np.asarray(coarse, dtype=float)
    fine = np.asarray(fine, dtype=float)
    n_coarse, n_fine = len(coarse), len(fine)
    if n_fine != 4 * n_coarse - 6:
        raise ValueError(f"{n_coarse} and {n_fine} vertices are not icosahedral spheres of "
                         "consecutive orders (10 * 4**k + 2 vertices: 10242 for fsaverage5, "
                         "40962 for fsaverage6).")
    coarse = coarse / np.linalg.norm(coarse, axis=1, keepdims=True)
    fine = fine / np.linalg.norm(fine, axis=1, keepdims=True)
    kept = np.linalg.norm(fine[:n_coarse] - coarse, axis=1)
    if kept.max() > tolerance:
        v = int(kept.argmax())
        raise ValueError(f"vertex {v} of the fine sphere is {kept.max():.2e} from vertex {v} of "
                         f"the coarse one (tolerance {tolerance:g}): the first {n_coarse} "
                         "vertices of the fine mesh are not the coarse mesh's, in order.")
    _, ends = cKDTree(coarse).query(fine[n_coarse:], k=2)
    middle = coarse[ends[:, 0]] + coarse[ends[:, 1]]
    middle /= np.linalg.norm(middle, axis=1, keepdims=True)
    added = np.linalg.norm(fine[n_coarse:] - middle, axis=1)
    if added.max() > tolerance:
        v = n_coarse + int(added.argmax())
        raise ValueError(f"vertex {v} of the fine sphere is {added.max():.2e} from the midpoint "
                         f"of its two nearest coarse vertices (tolerance {tolerance:g}): the "
                         f"vertices after the first {n_coarse} are not the subdivision's.")
    return float(max(kept.max(), added.max()))


def to_fsaverage5(data: np.ndarray, path: str | Path = "?") -> np.ndarray:
    """One hemisphere's fsaverage6 time series on fsaverage5: its first 10,242 vertices.

    The two meshes share those vertices (:func:`check_nested`), so this samples the
    fsaverage6 data where fsaverage5 has its vertices, without interpolation (nor smoothing:
    the three quarters of fsaverage6's vertices between them are left out).

    Parameters
    ----------
    data : array of shape (n_scans, 40962)
    path : the file it came from, named in errors

    Returns
    -------
    array of shape (n_scans, 10242), a view of ``data``
    """
    if data.ndim != 2 or data.shape[1] != FSAVERAGE6_VERTICES:
        raise CorpusError(f"{path}: {data.shape} values, but a hemisphere of fsaverage6 has "
                          f"{FSAVERAGE6_VERTICES} vertices (array of shape (n_scans, "
                          f"{FSAVERAGE6_VERTICES})); is it another mesh's file?")
    return data[:, :FSAVERAGE5_VERTICES]


def read_gifti_series(path: str | Path) -> np.ndarray:
    """A GIFTI time series (``.func.gii``, one data array per volume): array of shape
    (n_scans, n_vertices), float32.

    Raises
    ------
    CorpusError
        naming the file when it is missing, cannot be read, or its arrays differ in length.
    """
    import nibabel

    path = Path(path)
    if not path.exists():
        raise CorpusError(f"{path} is missing; run `{FETCH} --kinds bold`.")
    try:
        arrays = [np.asarray(d.data) for d in nibabel.load(path).darrays]
    except Exception as exc:
        raise CorpusError(f"{path}: cannot read it as GIFTI ({exc}); delete it and fetch it "
                          f"again (`{FETCH} --kinds bold`).") from exc
    if not arrays or len({a.shape for a in arrays}) != 1 or arrays[0].ndim != 1:
        raise CorpusError(f"{path}: {len(arrays)} data arrays of shapes "
                          f"{sorted({a.shape for a in arrays})}; a surface time series has one "
                          "array of one value per vertex for each volume.")
    return np.vstack(arrays).astype(np.float32)


def read_surface_bold(paths: tuple[str | Path, str | Path]) -> np.ndarray:
    """A scan's cleaned fsaverage6 time series of both hemispheres on the book's fsaverage5
    mesh, left then right (as :mod:`analysis.surface` orders them).

    Parameters
    ----------
    paths : the left and right ``.func.gii`` files (:func:`bold_paths`)

    Returns
    -------
    array of shape (n_scans, 20484), float32

    Raises
    ------
    CorpusError
        naming the file when one cannot be read or is not on fsaverage6, or naming both when
        the hemispheres have different numbers of volumes.
    """
    left, right = (to_fsaverage5(read_gifti_series(p), p) for p in paths)
    if len(left) != len(right):
        raise CorpusError(f"{paths[0]} has {len(left)} volumes but {paths[1]} has "
                          f"{len(right)}; the two hemispheres of a scan have the same.")
    return np.hstack([left, right])


def check_covers(path: str | Path, n_volumes: int, tr: float, story_end: float) -> None:
    """Check that a scan's volumes last until the end of its last story segment.

    Parameters
    ----------
    path : the scan's file, named in errors
    n_volumes : volumes of the scan (rows of :func:`read_surface_bold`)
    tr : its repetition time (s)
    story_end : ``onset + duration`` of its last story segment (s from the first volume)

    Raises
    ------
    CorpusError
        when the volumes end more than one TR before the story (the last volume's repetition
        time may hold the story's end): then the file is cut short, or another scan's.
    """
    covered = n_volumes * tr
    if story_end - covered > tr:
        raise CorpusError(f"{path}: {n_volumes} volumes of {tr:g} s cover {covered:g} s, but the "
                          f"scan's story ends at {story_end:g} s (its events): more than one TR "
                          "short, so the file is cut short or another scan's; delete it and "
                          f"fetch it again (`{FETCH} --kinds bold`).")
