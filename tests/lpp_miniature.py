"""A faithful miniature of the Le Petit Prince corpus, and a local bucket serving it.

The miniature has the corpus's real file names and run labels (read from the shared
``FILE_LISTING.tsv``), the real TR and volume counts per section, preprocessed runs on a
coarse grid with an MNI affine (so the surface projection samples the cortex), short 44.1 kHz
16-bit WAVs, the real annotation and top-level files where the shared folder has them (the
English ones) and synthetic ones in the corpus's encodings elsewhere (FR TextGrids UTF-16 BE
with a BOM and empty silences), and its own checksum list (``path, size, md5``).

:class:`LocalBucket` serves a folder over HTTP on 127.0.0.1, as the S3 bucket would: Range
requests, 404s, and faults injected per file (a connection closed mid-file, altered bytes).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.datasets import lpp

SHARED = Path(os.environ.get("ANALYSIS_SHARED_LPP",
                             Path(__file__).resolve().parents[2] / "shared" / "lpp"))
LISTING = SHARED / "FILE_LISTING.tsv"
PARTICIPANTS = ("EN057", "EN061", "FR001", "FR002", "CN001", "CN032")
TOP = ("participants.tsv", "participants.json", "dataset_description.json", "README", "CHANGES")
ORIGIN = np.array([-72.0, -108.0, -60.0])  # MNI corner of the grid, mm
SPAN = np.array([144.0, 180.0, 144.0])


def build_miniature(root: Path, participants=PARTICIPANTS, audio_seconds: float | None = None,
                    voxel: float = 16.0, seed: int = 0) -> Path:
    """Write the miniature under ``root``; return the path of its checksum list (beside it).

    Parameters
    ----------
    participants : ids without ``sub-``; their run labels come from the real listing
    audio_seconds : length of every section's WAV; None: as long as the real one (until the
        section's extra scans, less half a second), at a low sample rate to keep it small
    voxel : voxel size of the preprocessed runs (mm); the grid spans the MNI brain
    """
    rng = np.random.default_rng(seed)
    listing = pd.read_csv(LISTING, sep="\t", dtype=str)
    root.mkdir(parents=True, exist_ok=True)
    languages = sorted({p[:2] for p in participants})
    for name in TOP:
        if (SHARED / name).exists():
            shutil.copy2(SHARED / name, root / name)
    for lang in languages:
        for section in range(1, 10):
            seconds = audio_seconds or real_audio_seconds(lang, section)
            _write_wav(root / lpp.stimulus_path(lang, section), seconds, rng)
            _annotation(root, lpp.textgrid_path(lang, section), lang, section, seconds)
        _annotation(root, lpp.word_table_path(lang), lang, 0, audio_seconds or 4.0)
    runs = lpp.index_paths(listing.path)
    for participant in participants:
        rows = runs[runs.participant == f"sub-{participant}"]
        if len(rows) != 9:
            raise ValueError(f"{participant} is not a participant of {LISTING}.")
        for section, path in zip(rows.section, rows.bold_path):
            n = lpp.expected_volumes(participant[:2], section)
            write_run(root / path, n, voxel, rng)
    index = root.parent / f"{root.name}_files.tsv"
    files = sorted(p for p in root.rglob("*") if p.is_file())
    pd.DataFrame({"path": [p.relative_to(root).as_posix() for p in files],
                  "size": [p.stat().st_size for p in files],
                  "md5": [hashlib.md5(p.read_bytes()).hexdigest() for p in files]}
                 ).to_csv(index, sep="\t", index=False)
    return index


def write_run(path: Path, n_volumes: int, voxel: float = 16.0, rng=None) -> None:
    """A preprocessed run: zero outside an ellipsoidal brain, a baseline plus three slow
    components and noise inside; int16 with the real TR (2 s) in the header."""
    import nibabel

    rng = rng or np.random.default_rng(0)
    shape = tuple(int(s) for s in np.ceil(SPAN / voxel).astype(int) + 1)
    affine = np.diag([voxel, voxel, voxel, 1.0])
    affine[:3, 3] = ORIGIN
    ijk = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1)
    xyz = ijk * voxel + ORIGIN
    inside = (((xyz - [0, -18, 12]) / [76, 100, 84]) ** 2).sum(-1) <= 1
    components = np.cumsum(rng.standard_normal((n_volumes, 3)), axis=0)
    weights = rng.standard_normal((int(inside.sum()), 3))
    data = np.zeros(shape + (n_volumes,), dtype=np.int16)
    series = 1000 + 3 * weights @ components.T + rng.normal(0, 5, (len(weights), n_volumes))
    data[inside] = np.round(series).astype(np.int16)
    img = nibabel.Nifti1Image(data, affine)
    img.header.set_zooms((voxel, voxel, voxel, lpp.TR))
    img.header.set_xyzt_units("mm", "sec")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.to_filename(path)


def real_audio_seconds(lang: str, section: int) -> float:
    """About the length of a section's real audio: its scans less the extra scans after it,
    less half a second."""
    volumes = lpp.expected_volumes(lang, section) - lpp.EXTRA_SCANS[lang.upper()]
    return volumes * lpp.TR - 0.5


def _write_wav(path: Path, seconds: float, rng) -> None:
    import soundfile

    rate = 1000  # Hz: enough for the tone below, and ten minutes take 1.2 MB
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.2 * np.sin(2 * np.pi * rng.uniform(120, 300) * t) * (1 + np.sin(2 * np.pi * t))
    audio = tone + 0.02 * rng.standard_normal(len(t))
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, audio.astype(np.float32), rate, subtype="PCM_16")


def _annotation(root: Path, relative: str, lang: str, section: int, seconds: float) -> None:
    """Copy a real annotation file when the shared folder has it, else write a synthetic one
    in that language's conventions."""
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if (SHARED / relative).exists():
        shutil.copy2(SHARED / relative, target)
    elif relative.endswith(".TextGrid"):
        silence = "#" if lang == "EN" else ""
        target.write_bytes(textgrid([(silence, 0, 0.5), ("le", 0.5, 1.0), ("\"petit\"", 1.0, 2),
                                     (silence, 2, seconds)], "text words",
                                    utf16=lang == "FR"))
    else:
        target.write_text(",word,lemma,onset,offset,logfreq,pos,section\n" + "".join(
            f"{9 * i + k},mot{k},mot,{k * 0.5},{k * 0.5 + 0.4},1.0,NOUN,{i + 1}\n"
            for i in range(9) for k in range(3)))


def textgrid(intervals, tier: str, utf16: bool = False) -> bytes:
    """A TextGrid in Praat's long text format (quotes doubled), ASCII or UTF-16 BE + BOM."""
    end = intervals[-1][2]
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "xmin = 0 ",
             f"xmax = {end} ", "tiers? <exists> ", "size = 1 ", "item []: ", "    item [1]:",
             '        class = "IntervalTier" ', f'        name = "{tier}" ', "        xmin = 0 ",
             f"        xmax = {end} ", f"        intervals: size = {len(intervals)} "]
    for i, (label, start, stop) in enumerate(intervals, 1):
        label = label.replace('"', '""')
        lines += [f"        intervals [{i}]:", f"            xmin = {start} ",
                  f"            xmax = {stop} ", f'            text = "{label}" ']
    text = "\n".join(lines) + "\n"
    return b"\xfe\xff" + text.encode("utf-16-be") if utf16 else text.encode("ascii")


class LocalBucket:
    """Serve ``root`` on 127.0.0.1 as the corpus's bucket, in a background thread.

    Attributes
    ----------
    url : base URL of the bucket
    faults : ``{relative path: [fault, ...]}``, each request of that path consuming the next
        fault: ``"cut"`` (send half the bytes then close), ``"corrupt"`` (alter a byte)
    requests : ``{relative path: [Range header or None, ...]}``, every request received
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.faults: dict[str, list[str]] = defaultdict(list)
        self.requests: dict[str, list[str | None]] = defaultdict(list)
        bucket = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                bucket._serve(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _serve(self, handler) -> None:
        relative = handler.path.lstrip("/").split("?")[0]
        rng = handler.headers.get("Range")
        self.requests[relative].append(rng)
        path = self.root / relative
        if not path.is_file():
            handler.send_error(404)
            return
        data = path.read_bytes()
        start = int(rng.split("=")[1].split("-")[0]) if rng else 0
        if start >= len(data):
            handler.send_error(416)
            return
        body = data[start:]
        fault = self.faults[relative].pop(0) if self.faults[relative] else None
        if fault == "corrupt":
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        handler.send_response(206 if rng else 200)
        handler.send_header("Content-Length", str(len(body)))
        if rng:
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        handler.end_headers()
        if fault == "cut":
            handler.wfile.write(body[:len(body) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            return
        handler.wfile.write(body)
