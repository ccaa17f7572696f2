"""On-disk cache of stage products, keyed by their inputs, written atomically, verified on read.

Each product is a dict of numpy arrays stored as ``<root>/<stage>/<digest>.npz`` beside a
``<digest>.json`` receipt holding the key and the SHA-256 of the ``.npz``. The receipt is
written last, so a product without one was never finished. On read the checksum is verified:
a corrupted or truncated file is logged, deleted and recomputed, never taken for whole.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

Arrays = dict[str, np.ndarray]


def key_digest(key: Mapping) -> str:
    """Stable short hash of a JSON-serialisable mapping (numbers, strings, lists)."""
    text = json.dumps(key, sort_keys=True, default=_jsonable)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def array_digest(array: np.ndarray) -> str:
    """SHA-256 (short) of an array's bytes in C order: an in-memory array's identity in cache
    keys (a design built on the fly, a planted signal)."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:20]


def file_digest(path: str | os.PathLike, chunk: int = 1 << 22, algorithm: str = "sha256") -> str:
    """Hash (SHA-256, or ``algorithm`` of :mod:`hashlib`) of a file's bytes, hex."""
    sha = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            sha.update(block)
    return sha.hexdigest()


def md5sum(path: str | os.PathLike) -> str:
    """MD5 of a file, hex (the checksums data sets publish)."""
    return file_digest(path, algorithm="md5")


def source_digest(*modules) -> str:
    """SHA-256 (short) of the source files of ``modules``: code a product depends on, so that
    changing it invalidates the product."""
    sha = hashlib.sha256()
    for module in modules:
        sha.update(Path(module.__file__).read_bytes())
    return sha.hexdigest()[:20]


def manifest_verified(manifest: Path) -> bool:
    """Whether a folder's JSON manifest exists, parses, and every file its ``files`` mapping
    lists (path relative to the manifest's folder: SHA-256) has that checksum."""
    try:
        files = json.loads(Path(manifest).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    folder = Path(manifest).parent
    return all((folder / name).exists() and file_digest(folder / name) == sha
               for name, sha in files.items())


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        tmp_path.chmod(0o644)
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


class Cache:
    """Products of the pipeline's stages under one root folder.

    Parameters
    ----------
    root : folder of the cache (created on first write).
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def paths(self, stage: str, key: Mapping) -> tuple[Path, Path]:
        """The ``(.npz, .json)`` paths of the product of ``stage`` for ``key``."""
        digest = key_digest(key)
        folder = self.root / stage
        return folder / f"{digest}.npz", folder / f"{digest}.json"

    def load(self, stage: str, key: Mapping) -> Arrays | None:
        """The stored product, or None when absent, unfinished or corrupted."""
        data_path, receipt_path = self.paths(stage, key)
        if not receipt_path.exists() or not data_path.exists():
            return None
        try:
            receipt = json.loads(receipt_path.read_text())
            if file_digest(data_path) != receipt["sha256"]:
                raise ValueError("checksum mismatch")
            with np.load(data_path, allow_pickle=False) as npz:
                return {name: npz[name] for name in npz.files}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:  # never trusted
            log.warning("cache: %s is corrupted (%s); recomputing it", data_path, exc)
            data_path.unlink(missing_ok=True)
            receipt_path.unlink(missing_ok=True)
            return None

    def save(self, stage: str, key: Mapping, arrays: Arrays) -> None:
        """Store ``arrays`` atomically: data first, receipt last."""
        data_path, receipt_path = self.paths(stage, key)
        atomic_write(data_path, lambda tmp: _save_npz(tmp, arrays))
        receipt = {"stage": stage, "key": key, "sha256": file_digest(data_path)}
        text = json.dumps(receipt, sort_keys=True, indent=1, default=_jsonable)
        atomic_write(receipt_path, lambda tmp: tmp.write_text(text))

    def get(self, stage: str, key: Mapping, compute: Callable[[], Arrays]) -> Arrays:
        """Return the stored product of ``stage`` for ``key``, computing and storing it if needed."""
        arrays = self.load(stage, key)
        if arrays is None:
            log.info("%s: computing %s", stage, key_digest(key))
            arrays = {name: np.asarray(value) for name, value in compute().items()}
            self.save(stage, key, arrays)
        else:
            log.info("%s: reusing cached %s", stage, key_digest(key))
        return arrays


def _save_npz(path: Path, arrays: Arrays) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def _jsonable(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cache key holds {type(value).__name__}, which is not JSON-serialisable")
