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

The files' places are in :mod:`~analysis.datasets.narratives_layout`; the surface time series
(fsaverage6 GIFTI onto fsaverage5) are read by :mod:`~analysis.datasets.narratives_surface`,
the word timings by :mod:`~analysis.datasets.narratives_words` (their public names are also
importable from here). A file that breaks a rule raises
:class:`~analysis.datasets.lpp.CorpusError` naming the file and the rule.
"""
from __future__ import annotations

import csv
import json
import logging
import re
from pathlib import Path

import pandas as pd

from analysis.datasets.lpp import CorpusError
from analysis.datasets.narratives_layout import (DERIVATIVES, FETCH, HEMISPHERES,  # noqa: F401
                                                 alignment_path, audio_path, bold_paths,
                                                 scan_name)
from analysis.datasets.narratives_surface import (FSAVERAGE5_VERTICES,  # noqa: F401
                                                  FSAVERAGE6_VERTICES, NESTING_TOLERANCE,
                                                  check_covers, check_nested,
                                                  read_gifti_series, read_surface_bold,
                                                  to_fsaverage5)
from analysis.datasets.narratives_words import read_alignment  # noqa: F401

log = logging.getLogger(__name__)

SKIPPED_TASKS = ("notthefalllongscram", "notthefallshortscram", "schema")
MILKYWAY_CONDITIONS = ("original", "vodka", "synonyms")
SPLIT_STORIES = {"slumlordreach": ("slumlord", "reach")}
KEPT_SEGMENTS = "story"
DROPPED_SEGMENTS = frozenset({"music", "movie"})
EXCLUSIONS = "code/scan_exclude.json"
EXCLUSION_UNITS = ("task", "scan")
PARTICIPANT_COLUMNS = ("task", "age", "sex", "condition", "comprehension")
COLUMNS = ["participant", "task", "run", "story", "condition", "audio_path", "audio_start",
           "onset", "duration", "tr", "bold_paths"]

_SCAN = re.compile(r"^(?P<participant>sub-\d+)_task-(?P<task>[a-z0-9]+)(?:_run-(?P<run>\d+))?$")
_EVENTS = re.compile(r"^(?P<scan>sub-\d+_task-[a-z0-9]+(?:_run-\d+)?)_events\.tsv$")
_TIME_TOLERANCE = 1e-6  # s: segments closer than this do not overlap


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
