"""Human ABX phone discrimination from the Perceptimatic data set (Figure 4A).

Source: the public release of the English part of Perceptimatic (Millet & Dunbar, CogSci
2020): every answer of 91 American English listeners to ABX triplets of English and French
triphones cut from the ZeroSpeech 2017 corpora, one row per (listener, triplet), in the
repository ``JAMJU/Cogsci2020-Perceptimatic-English`` at a pinned commit (:data:`URL`).
Each listener heard both English (native) and French (non-native) contrasts, so native and
non-native accuracies are paired within listeners. The paper pooled 386 listeners of several
Perceptimatic subsets (English and French listeners); this release has the English
listeners only: a documented deviation.

Columns used: ``individual`` (listener), ``language`` (listener's language, ``english`` /
``french``), ``filename`` (triplet id, ``EN...`` or ``FR...``: the stimuli's language) and
``binarized_answer`` (1 when the listener chose the right item, -1 otherwise).

Download: on first use, into ``<data home>/perceptimatic/``, through a ``.part`` file renamed
only once whole and verified against :data:`MD5` and :data:`SIZE`. ``$ANALYSIS_PERCEPTIMATIC_URL``
(and ``$ANALYSIS_PERCEPTIMATIC_MD5``) point elsewhere, e.g. the tests' local server.
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import stats
from analysis.config import data_home
from analysis.datasets.download import make_session

log = logging.getLogger(__name__)

REPOSITORY = "JAMJU/Cogsci2020-Perceptimatic-English"
COMMIT = "4d339c4ecfc0592e953f1394410b9a8ed092448c"
FILENAME = "humans_and_model.csv"
URL = f"https://raw.githubusercontent.com/{REPOSITORY}/{COMMIT}/DATA/{FILENAME}"
# The release file's checksum and size. They could not be read here (no network when this
# module was written): None means "not yet pinned"; the first download then logs the MD5 and
# size it found, to be written here. A value that is set is always enforced.
MD5: str | None = None
SIZE: int | None = None
COLUMNS = ("individual", "language", "filename", "binarized_answer")
LANGUAGES = {"english": "EN", "french": "FR"}


class PerceptimaticError(RuntimeError):
    """The release could not be downloaded, verified or read; the message says what to do."""


def release_path(home: Path | None = None) -> Path:
    """Where the release file lives: ``<data home>/perceptimatic/humans_and_model.csv``."""
    return Path(home or data_home()) / "perceptimatic" / FILENAME


def fetch(home: Path | None = None, url: str | None = None, md5: str | None = None,
          size: int | None = None, timeout: float = 60.0, retries: int = 5) -> Path:
    """The release file, downloaded on first use and verified.

    Parameters
    ----------
    url : default ``$ANALYSIS_PERCEPTIMATIC_URL``, else :data:`URL`
    md5, size : expected checksum and size (default ``$ANALYSIS_PERCEPTIMATIC_MD5``, else
        :data:`MD5`, and :data:`SIZE`); None skips that check, with a warning
    retries : attempts on failed connections and 5xx answers, with exponential backoff

    Raises
    ------
    PerceptimaticError
        naming the URL (unreachable, HTTP error) or the file (checksum or size differ);
        nothing is left under the file's name then.
    """
    path = release_path(home)
    if path.exists():
        return path
    url = url or os.environ.get("ANALYSIS_PERCEPTIMATIC_URL") or URL
    md5 = md5 or os.environ.get("ANALYSIS_PERCEPTIMATIC_MD5") or MD5
    size = SIZE if size is None else size
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    digest = hashlib.md5()
    log.info("downloading the Perceptimatic release from %s", url)
    try:
        with make_session(retries) as session, session.get(url, stream=True,
                                                    timeout=timeout) as response:
            if response.status_code >= 400:
                raise PerceptimaticError(f"{url}: HTTP {response.status_code} "
                                         f"{response.reason}; is the URL right?")
            with open(part, "wb") as handle:
                for block in response.iter_content(1 << 16):
                    handle.write(block)
                    digest.update(block)
    except OSError as exc:  # requests' connection errors are OSErrors
        part.unlink(missing_ok=True)
        raise PerceptimaticError(
            f"{url} cannot be reached ({exc}). Figure 4A needs the Perceptimatic release: run "
            f"once with internet, or put the file at {path} (from {URL}).") from exc
    found_size, found_md5 = part.stat().st_size, digest.hexdigest()
    problem = ([f"size {found_size} instead of {size}"] if size is not None
               and found_size != size else []) + (
        [f"MD5 {found_md5} instead of {md5}"] if md5 is not None and found_md5 != md5 else [])
    if problem:
        part.unlink()
        raise PerceptimaticError(f"{url}: {', '.join(problem)}; the server's copy is not the "
                                 "pinned release. Nothing was kept.")
    if md5 is None:
        log.warning("%s: no checksum pinned; this copy has MD5 %s and %d bytes (pin them as "
                    "analysis.perceptimatic.MD5 and SIZE)", FILENAME, found_md5, found_size)
    os.replace(part, path)
    return path


def read_answers(path: Path) -> pd.DataFrame:
    """The answers: DataFrame with columns ``listener, listener_language, stimulus_language,
    correct`` (bool), one row per (listener, triplet)."""
    try:
        table = pd.read_csv(path, usecols=list(COLUMNS), dtype={"individual": str})
    except ValueError as exc:
        raise PerceptimaticError(f"{path}: not the Perceptimatic release ({exc}); delete it "
                                 "and run again to download it.") from exc
    unknown = sorted(set(table.language) - set(LANGUAGES))
    if unknown:
        raise PerceptimaticError(f"{path}: listener languages {unknown} are not "
                                 f"{list(LANGUAGES)}.")
    stimulus = table.filename.str[:2]
    if not stimulus.isin(LANGUAGES.values()).all():
        bad = table.filename[~stimulus.isin(LANGUAGES.values())].iloc[0]
        raise PerceptimaticError(f"{path}: triplet {bad!r} is neither EN... nor FR....")
    return pd.DataFrame({"listener": table.language + "-" + table.individual,
                         "listener_language": table.language.map(LANGUAGES),
                         "stimulus_language": stimulus,
                         "correct": table.binarized_answer.to_numpy() > 0})


def listener_accuracy(answers: pd.DataFrame) -> pd.DataFrame:
    """Each listener's accuracy on native and non-native triplets.

    Returns
    -------
    DataFrame indexed by listener with columns ``native``, ``non-native`` (share of right
    answers) and ``n_native``, ``n_non_native`` (triplets answered); listeners who heard only
    one kind are dropped
    """
    native = answers.listener_language == answers.stimulus_language
    labelled = answers.assign(kind=np.where(native, "native", "non-native"))
    acc = labelled.pivot_table(index="listener", columns="kind", values="correct",
                               aggfunc="mean")
    counts = labelled.pivot_table(index="listener", columns="kind", values="correct",
                                  aggfunc="size")
    out = acc.reindex(columns=["native", "non-native"])
    out["n_native"] = counts.get("native")
    out["n_non_native"] = counts.get("non-native")
    return out.dropna(subset=["native", "non-native"])


def human_abx(home: Path | None = None) -> dict:
    """Figure 4A's numbers: the release fetched if needed, accuracies per listener, their
    means, bootstrap intervals and the paired Wilcoxon test of native vs non-native.

    Returns
    -------
    dict with ``per_listener`` (DataFrame of :func:`listener_accuracy`), ``mean``,
    ``ci`` (condition -> (low, high)), ``p``, ``stars``, ``n_listeners``, ``source``
    """
    per = listener_accuracy(read_answers(fetch(home)))
    if per.empty:
        raise PerceptimaticError("no listener heard both native and non-native triplets.")
    return {"per_listener": per,
            "mean": {k: float(per[k].mean()) for k in ("native", "non-native")},
            "ci": {k: stats.bootstrap_ci(per[k].to_numpy()) for k in ("native", "non-native")},
            "p": float(stats.paired_test(per["native"], per["non-native"])),
            "stars": stats.stars(float(stats.paired_test(per["native"], per["non-native"]))),
            "n_listeners": len(per), "source": URL}


def as_bars(human: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Figure 4A's bars and test from :func:`human_abx`, in the form of
    :func:`analysis.group_stats.summarize_regions` (region ``"humans"``)."""
    bars = pd.DataFrame([{"region": "humans", "model": k, "mean": human["mean"][k],
                          "ci_low": human["ci"][k][0], "ci_high": human["ci"][k][1]}
                         for k in ("native", "non-native")])
    tests = pd.DataFrame([{"region": "humans", "a": "native", "b": "non-native",
                           "p": human["p"], "stars": human["stars"]}])
    return bars, tests


def numbers(human: dict) -> dict:
    """Figure 4A's numbers, JSON-ready: means, intervals, test, listeners and their source."""
    return {"mean": human["mean"], "ci": human["ci"], "p": human["p"],
            "n_listeners": human["n_listeners"], "source": human["source"],
            "per_listener": human["per_listener"].reset_index().to_dict("records")}


def summary(human: dict) -> str:
    """One line: listeners, mean accuracies and the paired test."""
    return (f"{human['n_listeners']} listeners; native {human['mean']['native']:.3f}, "
            f"non-native {human['mean']['non-native']:.3f}, paired Wilcoxon p = "
            f"{human['p']:.2g}")
