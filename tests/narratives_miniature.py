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


# The miniature served on 127.0.0.1 and its DataLad release (tests of the downloader)
BUCKET_PARTICIPANTS = ("sub-001", "sub-016", "sub-023")  # pieman runs, tunnel; slumlordreach,
# notthefall (intact, scrambled); prettymouth, milkyway (vodka)
LONG_WAV = "stimuli/tunnel_audio.wav"
# nested, as a release may nest them: `derivatives` holds two subdatasets of its own
RELEASE_SUBDATASETS = ("derivatives", "derivatives/afni-nosmooth", "derivatives/freesurfer",
                       "stimuli/gentle")


def write_wav(path: Path, seconds: float = 0.25, rate: int = 8000, seed: int = 0) -> None:
    """A short mono WAV of noise (a stimulus of the miniature)."""
    import numpy as np
    import soundfile

    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, rng.uniform(-0.1, 0.1, int(seconds * rate)), rate, subtype="PCM_16")


def build_bucket(root: Path, out: Path) -> tuple[Path, Path, Path]:
    """The raw files of :data:`BUCKET_PARTICIPANTS` as the bucket serves them (the built tree
    plus a short WAV per stimulus of the real listing), their annexed-file listing (WAVs and
    the real listing's BOLD files of those participants) and the checksum list derived from
    both by the package's command; returns ``(root, listing, index)``."""
    import hashlib

    from analysis.datasets import narratives_download

    build_tree(root, set(BUCKET_PARTICIPANTS))
    for events in root.glob("sub-*/func/*_events.tsv"):  # every real scan has its sidecar
        sidecar = events.with_name(events.name.replace("_events.tsv", "_bold.json"))
        if not sidecar.exists():
            task = events.name.split("_task-")[1].split("_")[0]
            sidecar.write_text((root / f"task-{task}_bold.json").read_text())
    real = pd.read_csv(LISTING, sep="\t")
    rows = []
    for i, path in enumerate(real.path):
        if path.startswith("stimuli/"):
            # tunnel's lasts 10 s (160 kB): a cut connection leaves more than a read's worth
            write_wav(root / path, seconds=10.0 if path == LONG_WAV else 0.25, seed=i)
            data = (root / path).read_bytes()
            rows.append((path, len(data), hashlib.md5(data).hexdigest()))
    kept = real[real.path.str.split("/").str[0].isin(BUCKET_PARTICIPANTS)
                & real.path.str.endswith("_bold.nii.gz")]
    rows += list(zip(kept.path, kept.size_bytes, kept.md5))
    out.mkdir(parents=True, exist_ok=True)
    listing = out / "FILE_LISTING_annexed.tsv"
    pd.DataFrame(rows, columns=["path", "size_bytes", "md5"]).to_csv(listing, sep="\t",
                                                                     index=False)
    index = out / "narratives_files.tsv.gz"
    narratives_download.write_index(listing, root, index)
    return root, listing, index


def release_files(raw: Path) -> dict[str, bytes]:
    """The files of the miniature's DataLad release, ``{relative path: content}``: a
    (stand-in) fsaverage6 GIFTI per hemisphere of each scan of the raw tree ``raw``, the two
    Destrieux annotations, a Gentle alignment per story. Each content is unique, so that no
    two files share a git-annex key."""
    from analysis.datasets import narratives_download as nd

    files: dict[str, bytes] = {}
    for events in sorted(raw.glob("sub-*/func/*_events.tsv")):
        scan = events.name.removesuffix("_events.tsv")
        for hemi in ("L", "R"):
            path = (f"derivatives/afni-nosmooth/{events.parts[-3]}/func/{scan}_space-"
                    f"fsaverage6_hemi-{hemi}_desc-clean.func.gii")
            files[path] = f"GIFTI stand-in of {path}\n".encode() * 50
    for path in nd.ATLAS:
        files[path] = f"annot stand-in of {path}\n".encode() * 20
    for folder in sorted((raw / "stimuli" / "gentle").iterdir()):
        align = json.loads((folder / "align.json").read_text())
        align["transcript"] += f" ({folder.name})"
        files[f"stimuli/gentle/{folder.name}/align.json"] = json.dumps(align).encode()
    return files


def build_release(root: Path, files: dict[str, bytes]) -> Path:
    """A DataLad superdataset at ``root`` whose subdatasets :data:`RELEASE_SUBDATASETS` hold
    ``files`` (annexed), as the corpus's release is laid out; returns ``root``."""
    import datalad.api as dl

    dl.create(path=str(root), result_renderer="disabled")
    for sub in RELEASE_SUBDATASETS:
        parents = [p for p in RELEASE_SUBDATASETS if sub.startswith(p + "/")]
        parent = root / max(parents, key=len) if parents else root
        dl.create(dataset=str(parent), path=str(root / sub), result_renderer="disabled")
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    dl.save(dataset=str(root), recursive=True, message="miniature release",
            result_renderer="disabled")
    return root


# Scan data for the loader: surfaces and audio of the real lengths the events give
FSAVERAGE6, FSAVERAGE5 = 40962, 10242


def write_scan_data(root: Path, rate: int = 2000, seed: int = 0) -> dict[str, float]:
    """Write what the loader reads for every scan of the tree ``root``: a ``desc-clean``
    fsaverage6 GIFTI per hemisphere (as many volumes as the scan's events last, at its TR from
    the sidecars; noise on fsaverage5's vertices, the first 10,242, zeros elsewhere, so the
    files compress) and a mono WAV per ``stim_file`` as long as its segments last in the
    events (t=0 at its first segment); returns ``{stim_file: seconds}``.

    A low sample ``rate`` keeps the WAVs small; they are read at 16 kHz like any other.
    """
    import math

    import nibabel
    import numpy as np

    from analysis.datasets import narratives

    rng = np.random.default_rng(seed)
    lengths: dict[str, float] = {}
    for events_path in sorted(root.glob("sub-*/func/*_events.tsv")):
        scan = events_path.name.removesuffix("_events.tsv")
        participant, rest = scan.split("_task-")
        task, _, run = rest.partition("_run-")
        events = narratives.read_events(events_path)
        end = float((events.onset + events.duration).max())
        tr = narratives.repetition_time(root, participant, task, run or None)
        n_volumes = math.ceil(end / tr)
        for path in narratives.bold_paths(root, participant, task, run or None):
            data = np.zeros((n_volumes, FSAVERAGE6), dtype=np.float32)
            data[:, :FSAVERAGE5] = rng.standard_normal((n_volumes, FSAVERAGE5))
            arrays = [nibabel.gifti.GiftiDataArray(row, intent="NIFTI_INTENT_TIME_SERIES",
                                                   datatype="NIFTI_TYPE_FLOAT32")
                      for row in data]
            path.parent.mkdir(parents=True, exist_ok=True)
            nibabel.save(nibabel.gifti.GiftiImage(darrays=arrays), path)
        for stim_file, rows in events.dropna(subset=["stim_file"]).groupby("stim_file"):
            seconds = float((rows.onset + rows.duration).max() - rows.onset.min())
            lengths[stim_file] = max(seconds, lengths.get(stim_file, 0.0))
    for i, (stim_file, seconds) in enumerate(sorted(lengths.items())):
        write_wav(root / "stimuli" / stim_file, seconds=seconds, rate=rate, seed=seed + i)
    return lengths
