"""A tree of the Narratives corpus (ds002345) built from every real file of the shared folder.

The shared folder (``../shared/narratives``) holds byte-identical copies of the raw data
set's small files (top-level files, every ``_events.tsv`` and ``_bold.json`` but those of the
``milkyway`` and ``slumlordreach`` scans, anatomical sidecars, ``sub-*_scans.tsv``, the
``code/*.json`` of the authors). :func:`build_tree` copies them all (writable), then writes
what the shared folder lacks, in the corpus's documented form:

- the events of the ``milkyway`` and ``slumlordreach`` scans (the scans are those of
  ``FILE_LISTING_annexed.tsv``), as the authors' events script of snastase/narratives writes
  them: ``milkyway`` music 0-18 s then story 21-425 s of ``milkyway<condition>_audio.wav``
  (the listener's condition in ``participants.tsv``); ``slumlordreach`` music 4.5-26.5 s,
  story 29.5-932.5 s, music 944.5-966.5 s, story 969.5-1794.5 s of one WAV;
- their TR through BIDS inheritance: top-level ``task-milkyway_bold.json`` and
  ``task-slumlordreach_bold.json`` with ``RepetitionTime`` 1.5 s, and a scan sidecar of 1.52 s
  for 17 ``milkyway`` scans (:data:`MILKYWAY_SLOW`; which 17 scans of the real corpus have
  1.52 s is not known here, so the miniature takes the first 17 in participant order);
- a Gentle ``align.json`` per story (:func:`gentle_alignment`): a few words, one of them not
  found in the audio.

No image, audio or derivative is written: :func:`~analysis.datasets.narratives.index_scans`
reads the raw events and sidecars only.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd

SHARED = Path(os.environ.get("ANALYSIS_SHARED_NARRATIVES",
                             Path(__file__).resolve().parents[2] / "shared" / "narratives"))
LISTING = SHARED / "FILE_LISTING_annexed.tsv"
BUILT_TASKS = ("milkyway", "slumlordreach")  # tasks whose events and sidecars are built
MILKYWAY_EVENTS = [(0.0, 18.0, "music"), (21.0, 404.0, "story")]
SLUMLORDREACH_EVENTS = [(4.5, 22.0, "music"), (29.5, 903.0, "story"), (944.5, 22.0, "music"),
                        (969.5, 825.0, "story")]
N_SLOW = 17
SLOW_TR, TR = 1.52, 1.5
GENTLE_WORDS = [("Once", 0.50, 0.81, "success"), ("upon", 0.81, 1.02, "success"),
                ("a", 1.02, 1.10, "success"), ("time", 1.10, 1.52, "success"),
                ("Mmm", None, None, "not-found-in-audio"), ("there", 2.00, 2.31, "success")]


def listing_scans() -> pd.DataFrame:
    """The raw BOLD scans of ``FILE_LISTING_annexed.tsv``: ``participant, task, run, path``."""
    listing = pd.read_csv(LISTING, sep="\t")
    bold = listing.path[listing.path.str.endswith("_bold.nii.gz")]
    scans = bold.str.extract(r"^(?P<participant>sub-\d+)/func/(?P=participant)"
                             r"_task-(?P<task>[a-z0-9]+)(?:_run-(?P<run>\d+))?_bold\.nii\.gz$")
    scans["path"] = bold
    return scans.dropna(subset=["participant"]).reset_index(drop=True)


def milkyway_slow() -> list[str]:
    """The 17 ``milkyway`` listeners given a TR of 1.52 s in the miniature."""
    scans = listing_scans()
    return sorted(scans.participant[scans.task == "milkyway"])[:N_SLOW]


def copy_shared(root: Path, participants=None) -> None:
    """Copy every file of the shared folder under ``root`` (writable; ``participants``: only
    those ``sub-*`` folders, all by default)."""
    for path in sorted(SHARED.rglob("*")):
        relative = path.relative_to(SHARED)
        top = relative.parts[0]
        if path.is_dir() or (participants is not None and top.startswith("sub-")
                             and top not in participants):
            continue
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def write_events(path: Path, rows, stim_file: str) -> None:
    """An ``_events.tsv`` with the corpus's columns (``onset, duration, trial_type,
    stim_file``)."""
    table = pd.DataFrame(rows, columns=["onset", "duration", "trial_type"])
    table["stim_file"] = stim_file
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, sep="\t", index=False)


def gentle_alignment(words=GENTLE_WORDS) -> dict:
    """A Gentle alignment in its documented form: ``transcript`` and ``words``, each with
    ``word``, ``alignedWord``, ``case``, and ``start``/``end`` when aligned."""
    items = []
    for word, start, end, case in words:
        item = {"word": word, "case": case}
        if case == "success":
            item.update(alignedWord=word.lower(), start=start, end=end, phones=[])
        items.append(item)
    return {"transcript": " ".join(w for w, *_ in words), "words": items}


def build_tree(root: Path, participants=None) -> Path:
    """Write the tree under ``root`` and return it (``participants``: ``sub-*`` ids to keep,
    all by default; ``participants.tsv`` is copied whole)."""
    root.mkdir(parents=True, exist_ok=True)
    copy_shared(root, participants)
    table = pd.read_csv(root / "participants.tsv", sep="\t", dtype=str,
                        keep_default_na=False).set_index("participant_id")
    slow = set(milkyway_slow())
    (root / "task-milkyway_bold.json").write_text(json.dumps(
        {"RepetitionTime": TR, "TaskName": "milkyway"}, indent=2))
    (root / "task-slumlordreach_bold.json").write_text(json.dumps(
        {"RepetitionTime": TR, "TaskName": "slumlordreach"}, indent=2))
    scans = listing_scans()
    for scan in scans[scans.task.isin(BUILT_TASKS)].itertuples():
        if participants is not None and scan.participant not in participants:
            continue
        func = root / scan.participant / "func"
        name = f"{scan.participant}_task-{scan.task}"
        if scan.task == "milkyway":
            row = table.loc[scan.participant]
            condition = dict(zip(row.task.split(","), row.condition.split(",")))["milkyway"]
            write_events(func / f"{name}_events.tsv", MILKYWAY_EVENTS,
                         f"milkyway{condition}_audio.wav")
            if scan.participant in slow:
                (func / f"{name}_bold.json").write_text(json.dumps(
                    {"RepetitionTime": SLOW_TR, "TaskName": "milkyway"}, indent=2))
        else:
            write_events(func / f"{name}_events.tsv", SLUMLORDREACH_EVENTS,
                         "slumlordreach_audio.wav")
    stories = {f.name.removesuffix("_audio.wav") for f in
               (Path(p) for p in pd.read_csv(LISTING, sep="\t").path)
               if f.parent.name == "stimuli"} | {"slumlord", "reach"}
    for story in sorted(stories):
        folder = root / "stimuli" / "gentle" / story
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "align.json").write_text(json.dumps(gentle_alignment(), indent=2))
    return root
