"""Fetch files of the Narratives corpus's DataLad release: derivatives and word alignments.

The corpus's derivatives (``derivatives/afni-nosmooth``, ``derivatives/freesurfer``...) and
its Gentle alignments (``stimuli/gentle``) are subdatasets of the DataLad superdataset
``///labs/hasson/narratives`` (``$ANALYSIS_NARRATIVES_DATALAD`` names another source: a URL or
a local dataset, as the tests use). Nothing lists them, nor their checksums, outside DataLad:
git-annex checks each file against its key (which holds its size and hash) when it gets it.

The superdataset is cloned (metadata only) into ``<data home>/narratives-datalad``; the
subdatasets that hold the planned files are installed, then ``datalad get`` fetches the
content of those files only, in batches, with a progress bar over their sizes (read from
their keys before anything is downloaded). git-annex writes each file under
``.git/annex/tmp`` and moves it into place once its checksum matches, and resumes a transfer
left there by an interrupted run; a file that cannot be got (absent from every remote,
corrupted, no network) fails naming it. The corpus's folder
``<data home>/narratives`` links ``derivatives`` and ``stimuli/gentle`` to the clone's, so the
reader (:mod:`analysis.datasets.narratives`) finds raw files and derivatives under one root.

DataLad (PyPI ``datalad``, the ``narratives`` extra of this package) and git-annex (a system
package: ``apt-get install git-annex``, ``brew install git-annex`` or ``conda install -c
conda-forge git-annex``) are needed here only: :func:`check_tools` says what to install.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from tqdm import tqdm

from analysis.config import data_home
from analysis.datasets.download import DownloadError, human_size, probe

log = logging.getLogger(__name__)

SOURCE = "///labs/hasson/narratives"
SOURCE_VARIABLE = "ANALYSIS_NARRATIVES_DATALAD"
WHERE = f"--datalad-source / ${SOURCE_VARIABLE}"
DATALAD_VERSION = "1.7.1"  # as requirements.lock pins it
INSTALL = (f"install DataLad (pip install 'datalad=={DATALAD_VERSION}', or "
           "pip install -e '.[narratives]') and git-annex (apt-get install git-annex, brew "
           "install git-annex, or conda install -c conda-forge git-annex); `make setup "
           "PROFILE=lpp` installs both where it can")
LINKED = ("derivatives", "stimuli/gentle")  # folders of the clone linked into the corpus root
BATCH = 16  # files per `datalad get`: one progress step each
_KEY_SIZE = re.compile(r"-s(\d+)(?:-[^-]*)*--")


class ToolMissing(DownloadError):
    """DataLad or git-annex is not installed; the message says what to install."""


def source() -> str:
    """Where the release is cloned from: ``$ANALYSIS_NARRATIVES_DATALAD``, else
    :data:`SOURCE`."""
    return os.environ.get(SOURCE_VARIABLE, SOURCE)


def clone_root(home: Path | None = None) -> Path:
    """Folder of the clone of the release: ``<data home>/narratives-datalad``."""
    return Path(home or data_home()) / "narratives-datalad"


def check_tools():
    """DataLad's Python API, once DataLad and git-annex are found.

    Raises
    ------
    ToolMissing
        naming what is missing and how to install it.
    """
    missing = []
    try:
        # deferred: an optional, heavy dependency that only this download needs
        import datalad.api as dl
    except ImportError:
        dl = None
        missing.append("datalad (Python package)")
    if shutil.which("git-annex") is None:
        missing.append("git-annex (program on PATH)")
    if missing:
        raise ToolMissing(f"the Narratives derivatives and alignments are fetched with DataLad, "
                          f"but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                          f"missing: {INSTALL}; or fetch only --kinds top raw stimuli.")
    return dl


def _probe_source(url: str) -> None:
    """Fail at once, in one line, when the host of a remote source does not resolve."""
    if url.startswith("///"):
        url = "https://datasets.datalad.org/" + url[3:]
    if urlsplit(url).scheme in ("http", "https"):
        probe(url, where=WHERE)


def _origin(clone: Path) -> str | None:
    result = subprocess.run(["git", "-C", str(clone), "config", "--get", "remote.origin.url"],
                            capture_output=True, text=True)
    return result.stdout.strip() or None


def install(clone: Path, url: str | None = None):
    """Clone the release's superdataset into ``clone`` (metadata only) unless it is there;
    return DataLad's ``Dataset``."""
    dl = check_tools()
    url = url or source()
    if (clone / ".git").exists():
        return dl.Dataset(str(clone))
    _probe_source(url)
    if clone.exists() and any(clone.iterdir()):
        raise DownloadError(f"{clone} exists but is not a DataLad dataset: move it away (it is "
                            "where the Narratives release is cloned).")
    log.info("cloning the Narratives release %s into %s (metadata only)", url, clone)
    results = dl.clone(source=url, path=str(clone), result_renderer="disabled",
                       on_failure="ignore", return_type="list", result_xfm=None)
    _raise_failures(results, f"cloning {url} into {clone}")
    return dl.Dataset(str(clone))


def _raise_failures(results: list[dict], what: str) -> None:
    bad = [r for r in results if r.get("status") in ("error", "impossible")]
    if bad:
        lines = "; ".join(f"{r.get('path', '?')}: {_message(r)}" for r in bad[:10])
        more = f" (and {len(bad) - 10} more)" if len(bad) > 10 else ""
        raise DownloadError(f"{what} failed: {lines}{more}. Run the command again (what was "
                            "got is kept, an interrupted file resumed); if it fails again, "
                            "the release's copy is missing or differs from its key.")


def _message(result: dict) -> str:
    message = result.get("message") or result.get("error_message") or "failed"
    if isinstance(message, tuple):  # DataLad's ("format %s", args...)
        try:
            message = message[0] % message[1:]
        except TypeError:
            message = " ".join(map(str, message))
    return " ".join(str(message).split())


def install_subdatasets(dataset, paths: list[str]) -> None:
    """Install (no content) the subdatasets that hold ``paths`` (relative to the clone)."""
    results = dataset.get(path=[str(Path(dataset.path) / p) for p in paths], get_data=False,
                          result_renderer="disabled", on_failure="ignore", return_type="list",
                          result_xfm=None)
    # a path the release lacks is "impossible" here: plan_sizes names every such path
    results = [r for r in results if not (r.get("status") == "impossible"
                                          and not os.path.lexists(r.get("path", "")))]
    _raise_failures(results, "installing the subdatasets of the Narratives release")


def annexed_size(path: Path) -> int | None:
    """Size in bytes of a file of the clone, from its git-annex key when it is annexed (its
    content may be absent), else from the file itself; None when it is neither."""
    if path.is_symlink():
        match = _KEY_SIZE.search(os.readlink(path).rsplit("/", 1)[-1])
        if match:
            return int(match[1])
    if path.is_file() and not path.is_symlink():
        return path.stat().st_size
    return None


def present(path: Path) -> bool:
    """Whether a file of the clone has its content here."""
    return path.exists()  # an annexed file without content is a broken link


def fsck(clone: Path, paths: list[str]) -> list[str]:
    """Re-hash the present annexed ``paths`` against their keys (``git annex fsck``); a file
    that fails is moved aside by git-annex (it is then absent, to be got again); return the
    paths that failed."""
    failed = []
    for relative in paths:
        path = clone / relative
        if not (path.is_symlink() and path.exists()):
            continue
        result = subprocess.run(["git", "annex", "fsck", "--json", path.name],
                                cwd=path.parent, capture_output=True, text=True)
        ok = result.returncode == 0
        for line in result.stdout.splitlines():
            try:
                ok = ok and json.loads(line).get("success", True)
            except json.JSONDecodeError:
                continue
        if not ok:
            log.warning("%s: its content differs from its git-annex key; getting it again",
                        path)
            failed.append(relative)
    return failed


def plan_sizes(clone: Path, paths: list[str]) -> tuple[list[str], int]:
    """The ``paths`` whose content is not here yet, and their total size (from their keys).

    Raises
    ------
    DownloadError
        naming the paths that are not in the release (after its subdatasets are installed).
    """
    absent = [p for p in paths if annexed_size(clone / p) is None]
    if absent:
        shown = ", ".join(absent[:10]) + (f" (and {len(absent) - 10} more)"
                                          if len(absent) > 10 else "")
        raise DownloadError(f"not in the Narratives DataLad release ({clone}): {shown}; check "
                            "the participants and tasks asked for (or --datalad-source).")
    todo = [p for p in paths if not present(clone / p)]
    return todo, sum(annexed_size(clone / p) or 0 for p in todo)


def link(corpus: Path, clone: Path) -> None:
    """Link :data:`LINKED` folders of the clone into the corpus's root (relative links),
    unless a folder or a link is there already."""
    for relative in LINKED:
        target, place = clone / relative, corpus / relative
        if place.is_symlink() or place.exists():
            if place.is_symlink() and place.resolve() != target.resolve():
                log.warning("%s links to %s, not to the clone %s: left as it is", place,
                            os.readlink(place), target)
            continue
        place.parent.mkdir(parents=True, exist_ok=True)
        place.symlink_to(os.path.relpath(target, place.parent), target_is_directory=True)


def prepare(paths: list[str], clone: Path, url: str | None = None,
            verify: bool = False) -> tuple[object, list[str], int]:
    """Clone the release and install the subdatasets of ``paths``; return the dataset, the
    paths to get and their total size (``verify``: present files are re-hashed first)."""
    dataset = install(clone, url)
    install_subdatasets(dataset, paths)
    if verify:
        fsck(clone, paths)
    todo, total = plan_sizes(clone, paths)
    return dataset, todo, total


def get(dataset, todo: list[str], total: int, progress: bool = True) -> list[Path]:
    """``datalad get`` the content of ``todo`` (relative to the clone) in batches of
    :data:`BATCH`, with a progress bar over their sizes; return their paths.

    Raises
    ------
    OfflineError
        when the host of the clone's origin does not resolve.
    DownloadError
        naming the files git-annex could not get or verify.
    """
    clone = Path(dataset.path)
    if not todo:
        return []
    origin = _origin(clone)
    if origin:
        _probe_source(origin)
    log.info("%d files of the DataLad release to get, %s", len(todo), human_size(total))
    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
              desc="datalad get", disable=not progress) as bar:
        for start in range(0, len(todo), BATCH):
            batch = todo[start:start + BATCH]
            results = dataset.get(path=[str(clone / p) for p in batch],
                                  result_renderer="disabled", on_failure="ignore",
                                  return_type="list", result_xfm=None)
            _raise_failures(results, "datalad get")
            absent = [p for p in batch if not present(clone / p)]
            if absent:
                raise DownloadError(f"datalad get left {', '.join(absent)} without content; "
                                    "run the command again.")
            bar.update(sum(annexed_size(clone / p) or 0 for p in batch))
    return [clone / p for p in todo]
