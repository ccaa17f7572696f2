"""Benchmark: download throughput from a local bucket, and projection time of a real-size run.

Run from the project root (prints figures; not a test)::

    python tests/bench_lpp_io.py [--files 4] [--megabytes 64] [--volumes 282]

- download: ``--files`` files of ``--megabytes`` MB each (the size of preprocessed runs),
  served by :class:`lpp_miniature.LocalBucket` on 127.0.0.1, fetched with
  :func:`analysis.datasets.download.fetch` (verification included);
- projection: one run on the corpus's grid (2 mm, about 73 x 91 x 73 voxels, zero outside
  the brain) with ``--volumes`` volumes, written as .nii.gz, loaded and projected onto
  fsaverage5 by :func:`analysis.surface.project`, as :func:`analysis.surface.projected_run`
  does on first use.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from lpp_miniature import LocalBucket, write_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=4, help="files to download")
    parser.add_argument("--megabytes", type=int, default=64, help="size of each file (MB)")
    parser.add_argument("--volumes", type=int, default=282, help="volumes of the run")
    args = parser.parse_args()
    from analysis.datasets import download
    from analysis import surface

    with tempfile.TemporaryDirectory() as tmp:
        bucket_root, dest = Path(tmp) / "bucket", Path(tmp) / "dest"
        bucket_root.mkdir()
        files = []
        rng = np.random.default_rng(0)
        for i in range(args.files):
            data = rng.integers(0, 256, args.megabytes * 2**20, dtype=np.uint8).tobytes()
            (bucket_root / f"file{i}.bin").write_bytes(data)
            files.append(download.RemoteFile(f"file{i}.bin", len(data),
                                             hashlib.md5(data).hexdigest()))
        total = sum(f.size for f in files)
        with LocalBucket(bucket_root) as bucket:
            started = time.perf_counter()
            download.fetch(files, dest, bucket.url, progress=False)
            elapsed = time.perf_counter() - started
        print(f"download: {total / 2**20:.0f} MiB in {args.files} files in {elapsed:.2f} s = "
              f"{total / 2**20 / elapsed:.0f} MiB/s (size and MD5 verified, local server)")
        for f in files:
            (bucket_root / f.path).unlink()
            (dest / f.path).unlink()

        run = Path(tmp) / "sub-EN999_task-lppEN_run-01_space-MNIColin27_desc-preproc_bold.nii.gz"
        write_run(run, args.volumes, voxel=2.0, rng=rng)
        import nibabel

        shape = nibabel.load(run).shape
        print(f"run: shape {shape}, {run.stat().st_size / 2**20:.0f} MiB compressed")
        started = time.perf_counter()
        surface._meshes(surface.MESH)
        print(f"fsaverage5 meshes loaded in {time.perf_counter() - started:.1f} s (once per "
              "process)")
        started = time.perf_counter()
        img = nibabel.load(run)
        img = nibabel.Nifti1Image(img.get_fdata(dtype=np.float32), img.affine)
        loaded = time.perf_counter() - started
        texture, n_dead = surface.project(img)
        elapsed = time.perf_counter() - started
        print(f"projection: {elapsed:.1f} s for one run of {args.volumes} volumes: "
              f"{loaded:.1f} s to read the .nii.gz, {elapsed - loaded:.1f} s to mask and "
              f"project; {n_dead} of {texture.shape[1]} vertices NaN ({os.cpu_count()} CPUs)")

if __name__ == "__main__":
    main()
