"""Where the files of the Narratives corpus (OpenNeuro ds002345) lie: the raw BIDS tree as on
the bucket, the ``afni-nosmooth`` derivatives and the Gentle alignments of its DataLad release
beside it, and the command that fetches them (named in every error about a missing file).
"""
from __future__ import annotations

from pathlib import Path

DERIVATIVES = "derivatives/afni-nosmooth"
HEMISPHERES = ("L", "R")
FETCH = "python -m analysis fetch narratives"


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
