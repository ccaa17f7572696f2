"""Download the files of Le Petit Prince that an analysis needs, verified, resumable.

Where the file list comes from: ``lpp_files.tsv.gz`` beside this module, a compact index
(``path, size, md5``) of the ~1,060 files the analyses can use (preprocessed BOLD, stimuli,
word annotations, top-level files), derived from the corpus's public file listing by
:func:`write_index` (``python -m analysis.datasets.download FILE_LISTING.tsv``). It is the
checksum list: no network call is needed to plan a download, show its size or verify it.
``$ANALYSIS_LPP_INDEX`` points to another index (the tests serve a miniature corpus with its
own).

Why requests + urllib3 rather than openneuro-py or pooch: openneuro-py asks OpenNeuro's
GraphQL API for the file list (a second service that must be up, and no offline plan) and
downloads whole snapshots by include patterns; pooch verifies hashes and retries, but
restarts an interrupted file from zero (no HTTP Range), and a preprocessed run is 57-103 MB.
Here urllib3's ``Retry`` (behind a ``requests`` session) retries failed connections and
5xx/429 answers with exponential backoff; a connection that drops mid-file is resumed with a
``Range`` request from the bytes already written, again with backoff. Each file is written
to ``<name>.part``, its size and MD5 checked, and only then renamed into place, so a file
under its real name is always whole. A file whose MD5 differs is downloaded once more from
scratch, then the download fails naming it; a 404 fails at once naming the URL.

A host name that does not resolve is not a transient error: before downloading, :func:`probe`
resolves the server's name once (at most :data:`PROBE_TIMEOUT` seconds), and a name that stops
resolving during a download fails at once too (:class:`OfflineError`, one line naming the
host), with neither retries nor urllib3's retry warnings. Connection resets, timeouts after a
connection and 5xx answers are retried as above.
"""
from __future__ import annotations

import gzip
import logging
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import requests
from requests.adapters import HTTPAdapter
from tqdm import tqdm
from urllib3.exceptions import MaxRetryError, NameResolutionError
from urllib3.util.retry import Retry

from analysis.cache import md5sum
from analysis.config import data_home
from analysis.datasets import lpp

log = logging.getLogger(__name__)

BASE_URL = "https://s3.amazonaws.com/openneuro.org/ds003643"
INDEX = Path(__file__).with_name("lpp_files.tsv.gz")
KINDS = ("bold", "stimuli", "annotations", "top")
TOP_FILES = ("participants.tsv", "participants.json", "dataset_description.json", "README",
             "CHANGES")
CHUNK = 1 << 16  # bytes per read: at most this much is lost when a connection drops
PROBE_TIMEOUT = 5.0  # seconds the server's name may take to resolve before a download
UNKNOWN_SIZE = -1  # RemoteFile.size of a file the checksum list has no size nor MD5 for


class DownloadError(RuntimeError):
    """A file could not be downloaded or verified; the message names it and what to do."""


class OfflineError(DownloadError):
    """The server's host name does not resolve (no network, or a wrong URL): not retried.

    Attributes
    ----------
    host : the name that did not resolve, e.g. ``"s3.amazonaws.com"``
    """

    def __init__(self, host: str, detail: str, where: str = "--base-url / "
                 "$ANALYSIS_LPP_BASE_URL"):
        self.host = host
        super().__init__(f"cannot resolve {host} ({detail}): no network? Run this on a "
                         f"machine with internet (or point {where} to a reachable copy of "
                         "the corpus), or use profile='demo' offline.")


def unresolved_host(error: BaseException) -> bool:
    """Whether ``error`` (a requests or urllib3 exception, or anything they wrap) comes from
    a host name that did not resolve (``socket.gaierror``, urllib3's
    ``NameResolutionError``)."""
    seen, todo = set(), [error]
    while todo:
        exc = todo.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        if isinstance(exc, (socket.gaierror, NameResolutionError)):
            return True
        todo += [exc.__cause__, exc.__context__, getattr(exc, "reason", None)]
        todo += [arg for arg in getattr(exc, "args", ()) if isinstance(arg, BaseException)]
    return False


def probe(url: str, timeout: float = PROBE_TIMEOUT, where: str | None = None) -> None:
    """Resolve the host of ``url`` once, within ``timeout`` seconds; nothing is sent to it
    (``where``: the option and variable that set the URL, named in the error).

    Raises
    ------
    OfflineError
        naming the host, when its name does not resolve or does not answer in time (the
        usual signs of a machine without network).
    """
    host = urlsplit(url).hostname
    if not host:
        raise DownloadError(f"url={url!r} has no host name; give an http(s) URL such as "
                            f"{BASE_URL}.")
    answer: dict = {}

    def resolve():
        try:
            answer["addresses"] = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except OSError as exc:  # socket.gaierror, or another OS-level failure
            answer["error"] = exc

    # getaddrinfo has no timeout of its own: a thread that is left behind if it hangs
    worker = threading.Thread(target=resolve, name=f"resolve {host}", daemon=True)
    worker.start()
    worker.join(timeout)
    named = {"where": where} if where else {}
    if worker.is_alive():
        raise OfflineError(host, f"no answer from the name server in {timeout:g} s", **named)
    if "error" in answer:
        raise OfflineError(host, str(answer["error"]), **named)


class _Retry(Retry):
    """urllib3's ``Retry``, except that a host name that does not resolve fails at once:
    no retry, no "Retrying ..." warning."""

    def increment(self, method=None, url=None, response=None, error=None, _pool=None,
                  _stacktrace=None):
        if error is not None and unresolved_host(error):
            raise MaxRetryError(_pool, url, error) from error
        return super().increment(method, url, response, error, _pool, _stacktrace)


@dataclass(frozen=True)
class RemoteFile:
    """One file of the corpus: relative path, size in bytes, MD5 (hex).

    A file whose checksum is not known (size :data:`UNKNOWN_SIZE`, MD5 ``""``) is downloaded
    whole, its size checked against the server's ``Content-Length`` only.
    """

    path: str
    size: int
    md5: str


def base_url() -> str:
    """The bucket's URL: ``$ANALYSIS_LPP_BASE_URL``, else the public OpenNeuro bucket."""
    return os.environ.get("ANALYSIS_LPP_BASE_URL", BASE_URL).rstrip("/")


def corpus_root(home: Path | None = None) -> Path:
    """Folder of the corpus inside the data home: ``<data home>/lpp``."""
    return Path(home or data_home()) / "lpp"


def kind_of(path: str) -> str | None:
    """The kind of a relative path (one of :data:`KINDS`), or None for files not needed."""
    if path in TOP_FILES:
        return "top"
    if path.startswith("derivatives/") and path.endswith("_desc-preproc_bold.nii.gz"):
        return "bold"
    if path.startswith("stimuli/task-lpp") and path.endswith(".wav"):
        return "stimuli"
    if path.startswith("annotation/") and (path.endswith(".TextGrid")
                                           or path.endswith("_word_information.csv")):
        return "annotations"
    return None


def write_index(listing: str | Path, out: str | Path = INDEX) -> int:
    """Write the compact index of the needed files from the corpus's ``FILE_LISTING.tsv``
    (columns ``path, size_bytes, storage, md5, s3_version_id``); return its row count."""
    table = pd.read_csv(listing, sep="\t", dtype=str, keep_default_na=False)
    table = table[[kind_of(p) is not None for p in table.path]]
    lines = ["path\tsize\tmd5"] + [f"{p}\t{s}\t{m}" for p, s, m in
                                    sorted(zip(table.path, table.size_bytes, table.md5))]
    data = ("\n".join(lines) + "\n").encode()
    with open(out, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb",
                                                 mtime=0) as handle:
        handle.write(data)  # no name, no time: the same listing gives the same bytes
    return len(lines) - 1


def read_index(path: str | Path | None = None) -> pd.DataFrame:
    """The checksum list: DataFrame with columns ``path, size, md5, kind``.

    ``path`` defaults to ``$ANALYSIS_LPP_INDEX``, else the index shipped with the package.
    """
    path = Path(path or os.environ.get("ANALYSIS_LPP_INDEX") or INDEX)
    if not path.exists():
        raise DownloadError(f"the checksum list {path} does not exist (ANALYSIS_LPP_INDEX).")
    table = pd.read_csv(path, sep="\t", dtype={"path": str, "size": "int64", "md5": str})
    table["kind"] = [kind_of(p) for p in table.path]
    return table


def default_participants(index: pd.DataFrame, languages, n: int,
                         excluded=()) -> list[str]:
    """The first ``n`` participants (all when ``n`` is 0) of each language, in id order,
    e.g. ``["sub-EN057", ...]``, leaving out ``excluded`` (ids like ``CN018`` or
    ``sub-CN018``) before choosing."""
    runs = lpp.index_paths(index.path)
    left_out = {lpp.participant_id(p, "excluded") for p in excluded}
    absent = sorted(left_out - set(runs.participant))
    if absent:
        log.warning("excluded: %s are not in the checksum list; nothing to leave out for "
                    "them", ", ".join(absent))
    chosen = []
    for language in languages:
        ids = sorted(set(runs[runs.language == lpp.language_code(language).lower()]
                         .participant) - left_out)
        chosen += ids[:n] if n else ids
    return chosen


def select(index: pd.DataFrame, languages=("en", "fr", "cn"), participants=None,
           sections=range(1, 10), kinds=KINDS) -> list[RemoteFile]:
    """Files of the index needed for ``languages``, ``participants`` (ids like
    ``sub-EN057``; None: every participant of those languages), ``sections`` and ``kinds``."""
    langs = {lpp.language_code(language) for language in languages}
    sections = set(sections)
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"kinds: {kind!r} is not one of {', '.join(KINDS)}.")
    wanted: set[str] = set()
    if "bold" in kinds:
        runs = lpp.index_paths(index.path)
        runs = runs[runs.language.str.upper().isin(langs) & runs.section.isin(sections)]
        if participants is not None:
            unknown = sorted(set(participants) - set(runs.participant))
            if unknown:
                raise ValueError(f"participants: {', '.join(unknown)} are not participants "
                                 f"of {', '.join(sorted(langs))} in the checksum list.")
            runs = runs[runs.participant.isin(participants)]
        wanted |= {str(p) for p in runs.bold_path}
    for lang in langs:
        for section in sections:
            if "stimuli" in kinds:
                wanted.add(lpp.stimulus_path(lang, section))
            if "annotations" in kinds:
                wanted.add(lpp.textgrid_path(lang, section))
        if "annotations" in kinds:
            wanted.add(lpp.word_table_path(lang))
    if "top" in kinds:
        wanted |= set(TOP_FILES)
    rows = index[index.path.isin(wanted)]
    return [RemoteFile(p, int(s), m) for p, s, m in zip(rows.path, rows["size"], rows.md5)]


def make_session(retries: int = 5, backoff: float = 0.5) -> requests.Session:
    """A requests session retrying failed connections and 429/5xx answers with backoff (a
    host name that does not resolve is not retried)."""
    retry = _Retry(total=retries, connect=retries, read=retries, status=retries,
                  backoff_factor=backoff, status_forcelist=(429, 500, 502, 503, 504),
                  allowed_methods=frozenset({"GET", "HEAD"}), raise_on_status=False)
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


def missing(files: list[RemoteFile], dest: Path, verify: bool = False) -> list[RemoteFile]:
    """Files not yet in ``dest`` with their size (and MD5, when ``verify``)."""
    out = []
    for f in files:
        path = dest / f.path
        if f.size == UNKNOWN_SIZE:  # nothing to compare with: present is whole (renamed last)
            ok = path.exists()
        else:
            ok = path.exists() and path.stat().st_size == f.size
        if ok and verify and f.md5 and md5sum(path) != f.md5:
            log.warning("%s: its MD5 differs from the checksum list; downloading it again", path)
            ok = False
        if not ok:
            out.append(f)
    return out


def fetch(files: list[RemoteFile], dest: str | Path, url: str | None = None,
          retries: int = 5, backoff: float = 0.5, verify: bool = False,
          progress: bool = True, timeout: float = 60.0, check: bool = True,
          where: str | None = None) -> list[Path]:
    """Download ``files`` under ``dest`` from ``url`` (default :func:`base_url`).

    Files already present with their size are skipped (re-hashed too when ``verify``), unless
    ``check`` is False: then every file given is downloaded (the caller ran :func:`missing`).
    ``where`` names the option and variable that set ``url`` in an :class:`OfflineError`
    (default: those of ``fetch lpp``).

    Returns
    -------
    the paths downloaded by this call (empty when everything was present)

    Raises
    ------
    OfflineError
        naming the host, at once, when its name does not resolve (no network).
    DownloadError
        naming the URL (404, other HTTP errors, connection lost ``retries`` times) or the file
        (MD5 or size still wrong after one more download).
    """
    dest, url = Path(dest), (url or base_url()).rstrip("/")
    todo = missing(files, dest, verify) if check else list(files)
    total = sum(max(f.size, 0) for f in todo)
    if todo:
        # no network: one line at once, not a round of retries
        probe(url, where=where) if where else probe(url)
    log.info("%d of %d files to download, %s (from %s into %s)", len(todo), len(files),
             human_size(total), url, dest)
    if not todo:
        return []
    session = make_session(retries, backoff)
    done = []
    started = time.monotonic()
    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc="downloading",
              disable=not progress) as bar:
        for f in todo:
            fetch_one = _fetch_unlisted if f.size == UNKNOWN_SIZE else _fetch_one
            fetch_one(session, f, dest / f.path, f"{url}/{f.path}", retries, backoff,
                      timeout, bar, where)
            done.append(dest / f.path)
    elapsed = time.monotonic() - started
    log.info("downloaded %s in %.1f s (%s/s)", human_size(total), elapsed,
             human_size(total / max(elapsed, 1e-9)))
    return done


def _fetch_one(session, f: RemoteFile, path: Path, url: str, retries: int, backoff: float,
               timeout: float, bar, where: str | None = None) -> None:
    """Download one file to ``<path>.part`` (resuming it), verify it, rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    if part.exists():  # left by an interrupted run: resumed, and counted as done
        bar.update(min(part.stat().st_size, f.size))
    for attempt in (1, 2):  # a checksum mismatch is retried once, from scratch
        drops = 0
        while True:
            have = part.stat().st_size if part.exists() else 0
            if have >= f.size:
                break
            try:
                if _get(session, url, part, have, timeout, bar) == 0:
                    break  # the server has nothing more: its copy is shorter than listed
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                if unresolved_host(exc):  # the network went away: retrying cannot help
                    raise OfflineError(urlsplit(url).hostname, "the name stopped resolving "
                                       "during the download",
                                       **({"where": where} if where else {})) from exc
                drops += 1
                if drops > retries:
                    raise DownloadError(f"{url}: the connection failed {drops} times ({exc}); "
                                        "check the network and run the command again: "
                                        "what was downloaded is kept and resumed.") from exc
                wait = backoff * 2 ** (drops - 1)
                log.warning("%s: connection lost after %d bytes (%s); resuming in %.1f s",
                            f.path, part.stat().st_size if part.exists() else 0, exc, wait)
                time.sleep(wait)
        size = part.stat().st_size
        digest = md5sum(part) if size == f.size else None
        if digest == f.md5:
            os.replace(part, path)
            return
        bar.update(-size)
        part.unlink()
        problem = (f"size {size} instead of {f.size}" if digest is None
                   else f"MD5 {digest} instead of {f.md5}")
        if attempt == 1:
            log.warning("%s: %s; downloading it again", f.path, problem)
    raise DownloadError(f"{path}: {problem} after two downloads from {url}; the server's copy "
                        "differs from the checksum list (a new version of the corpus?). "
                        "Nothing was kept under that name.")


def _fetch_unlisted(session, f: RemoteFile, path: Path, url: str, retries: int,
                    backoff: float, timeout: float, bar, where: str | None = None) -> None:
    """Download a file the checksum list has no size nor MD5 for: whole, to
    ``<path>.part`` (a leftover part is started again: nothing says it is of this version),
    then renamed; a body shorter than its ``Content-Length`` is a dropped connection
    (urllib3 checks it), retried ``retries`` times with backoff."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    for drop in range(retries + 1):
        part.unlink(missing_ok=True)
        try:
            _get(session, url, part, 0, timeout, bar)
            break
        except (requests.ConnectionError, requests.Timeout,
                requests.exceptions.ChunkedEncodingError) as exc:
            if part.exists():
                bar.update(-part.stat().st_size)
                part.unlink()
            if unresolved_host(exc):
                raise OfflineError(urlsplit(url).hostname, "the name stopped resolving during "
                                   "the download", **({"where": where} if where else {})
                                   ) from exc
            if drop == retries:
                raise DownloadError(f"{url}: the connection failed {drop + 1} times ({exc}); "
                                    "check the network and run the command again.") from exc
            time.sleep(backoff * 2 ** drop)
    os.replace(part, path)
    log.info("%s: no checksum in the list; its size matched the server's Content-Length",
             f.path)


def _get(session, url: str, part: Path, have: int, timeout: float, bar) -> int:
    """GET ``url`` into ``part``, from byte ``have`` on when the server honours Range;
    return the number of bytes written."""
    headers = {"Range": f"bytes={have}-"} if have else {}
    written = 0
    with session.get(url, headers=headers, stream=True, timeout=timeout) as response:
        if response.status_code == 416:  # nothing left to send: verify what we have
            return 0
        if response.status_code == 404:
            raise DownloadError(f"{url}: 404 Not Found; the file is not on the server (is "
                                "--base-url right, and is the checksum list of this corpus?)")
        if response.status_code >= 400:
            raise DownloadError(f"{url}: HTTP {response.status_code} {response.reason}.")
        if have and response.status_code != 206:  # Range ignored: start again
            bar.update(-have)
            have = 0
        with open(part, "ab" if have else "wb") as handle:
            for block in response.iter_content(CHUNK):
                handle.write(block)
                bar.update(len(block))
                written += len(block)
    return written


def human_size(n: float) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n} B"


def plan_lpp(languages=None, participants=None, n_participants: int = 3,
             sections=range(1, 10), kinds=KINDS, excluded=()) -> list[RemoteFile]:
    """The corpus files an analysis needs.

    Parameters
    ----------
    languages : ``en``, ``fr``, ``cn`` (default: those of ``participants``, else all three)
    participants : ids (``sub-EN057`` or ``EN057``); None: the first ``n_participants`` of
        each language (0: all) other than ``excluded``
    sections : story sections, 1-9
    kinds : subset of :data:`KINDS`
    excluded : ids left out before the first ``n_participants`` are chosen (e.g. the
        ``paper`` profile's ``("CN018", "CN019")``); participants named explicitly are kept

    Raises
    ------
    ValueError
        naming an id that is not of the form ``EN057`` / ``sub-EN057``, or a participant
        who is not in the checksum list.
    """
    index = read_index()
    if participants is not None:
        participants = [lpp.participant_id(p) for p in participants]
    if languages is None:
        languages = (sorted({p[4:6].lower() for p in participants}) if participants
                     else ("en", "fr", "cn"))
    if participants is None:
        participants = default_participants(index, languages, n_participants, excluded)
    return select(index, languages, participants, sections, kinds)


def fetch_lpp(home: Path | None = None, url: str | None = None, retries: int = 5,
              **plan) -> list[Path]:
    """Download the files of :func:`plan_lpp` (``**plan``) into ``<home>/lpp``."""
    return fetch(plan_lpp(**plan), corpus_root(home), url, retries=retries)


if __name__ == "__main__":  # python -m analysis.datasets.download FILE_LISTING.tsv [OUT]
    logging.basicConfig(level=logging.INFO)
    n = write_index(*sys.argv[1:3])
    log.info("wrote %d files to %s", n, sys.argv[2] if len(sys.argv) > 2 else INDEX)
