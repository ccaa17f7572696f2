"""Brain scores of one participant under one model, in bounded memory.

Two cached products, shared by :func:`analysis.pipeline.layer_scores` (in-process) and
:mod:`analysis.jobs` (one job per participant and model):

- *designs* (one per model and language): each layer's regressors, every section stacked in
  time (optionally reduced by PCA), and the same circularly shifted for the null baseline,
  one ``.npy`` file per layer, read back memory-mapped;
- *participant scores* (one per participant and model): the brain score of every layer and
  vertex; and, a separate product, the same with the shifted regressors (the null), computed
  only when asked for, so a figure that needs no null reuses the scores of one that did.

A participant's fit loads its BOLD once (array of shape (n_scans, n_vertices)) and reads each
layer's regressors from its memory-mapped file only while that layer is fitted, so it never
holds more than one layer's regressors per fitting process (see
:func:`analysis.pipeline.n_jobs`) on top of the responses.
"""
from __future__ import annotations

import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis import encoding, models, pipeline, regressors
from analysis.cache import Cache, atomic_write, file_digest, key_digest, source_digest
from analysis.config import Profile
from analysis.datasets import Participant, Stimulus

log = logging.getLogger(__name__)

DESIGNS = "designs"
SCORES = "participant_scores"


@dataclass(frozen=True)
class Designs:
    """The memory-mapped regressors of every layer of one model for one language.

    Attributes
    ----------
    folder : where ``layerNN.npy`` and ``nullNN.npy`` lie
    digest : identity of the product (see :func:`design_key`)
    n_layers : number of layers
    n_scans : scans of every section stacked
    """

    folder: Path
    digest: str
    n_layers: int
    n_scans: int

    def layer(self, index: int, null: bool = False) -> np.ndarray:
        """Regressors of layer ``index`` (shifted when ``null``), memory-mapped read-only:
        array of shape (n_scans, n_features), float32."""
        if not 0 <= index < self.n_layers:
            raise ValueError(f"layer {index} does not exist: the model has layers 0 to "
                             f"{self.n_layers - 1}.")
        return np.load(self.folder / _file_name(index, null), mmap_mode="r")


def design_key(model: str, stimuli: Sequence[Stimulus], n_components: int | None = None,
               window: float = 10.0, stride: float = 5.0) -> dict:
    """Cache key of the designs of ``model`` (a resolved model name) on ``stimuli``.

    Holds the activation and regressor keys of every section (so the product changes with the
    model's weights, the audio and the code of those stages), the PCA setting and the null
    shift. Reads the audio files once to checksum them.
    """
    weights = models.fingerprint(model)
    sections = [dict(zip(("activations", "regressors"),
                         pipeline.regressor_keys(weights, s, window, stride)))
                for s in stimuli]
    return {"stage": DESIGNS, "code": source_digest(regressors), "sections": sections,
            "n_components": n_components, "null_shift": pipeline.NULL_SHIFT}


def load_designs(cache: Cache, key: dict) -> Designs | None:
    """The stored designs of ``key``, or None when absent, unfinished or corrupted (a
    corrupted product is logged and deleted)."""
    digest = key_digest(key)
    folder, receipt_path = cache.root / DESIGNS / digest, cache.root / DESIGNS / f"{digest}.json"
    if not receipt_path.exists():
        return None
    try:
        receipt = json.loads(receipt_path.read_text())
        for name, sha in receipt["files"].items():
            if file_digest(folder / name) != sha:
                raise ValueError(f"checksum mismatch of {name}")
        return Designs(folder, digest, int(receipt["n_layers"]), int(receipt["n_scans"]))
    except (OSError, ValueError, KeyError) as exc:  # never trusted
        log.warning("cache: designs %s are corrupted (%s); recomputing them", folder, exc)
        receipt_path.unlink(missing_ok=True)
        return None


def layer_designs(model: str, key: dict, stimuli: Sequence[Stimulus], cache: Cache) -> Designs:
    """Designs of ``model`` on ``stimuli`` (key from :func:`design_key`), computed and stored
    when missing (activations and regressors of each section come from their own cached
    products; the model is loaded only if some activations must be extracted).

    Each layer's regressors are written as soon as they are stacked, the receipt (with the
    checksum of every file) last, so an interrupted computation is redone, never half used.
    """
    found = load_designs(cache, key)
    if found is not None:
        log.info("%s: reusing cached %s", DESIGNS, found.digest)
        return found
    if len(key["sections"]) != len(stimuli):
        raise ValueError(f"the designs key has {len(key['sections'])} sections but "
                         f"{len(stimuli)} stimuli were given; build it with design_key().")
    digest = key_digest(key)
    log.info("%s: computing %s", DESIGNS, digest)
    lazy = pipeline._LazyModel(model)
    per_stimulus = [pipeline.stimulus_regressors(k["activations"], k["regressors"], s, cache,
                                                 lazy)
                    for k, s in zip(key["sections"], stimuli)]
    folder = cache.root / DESIGNS / digest
    files, n_scans = {}, 0
    for index, parts in enumerate(zip(*per_stimulus)):
        X = regressors.reduce_components(np.vstack(parts), key["n_components"])
        n_scans = len(X)
        shifted = np.roll(X, int(n_scans * key["null_shift"]), axis=0)
        for null, array in ((False, X), (True, shifted)):
            name = _file_name(index, null)
            atomic_write(folder / name, lambda tmp, a=array: _save_npy(tmp, a))
            files[name] = file_digest(folder / name)
    del per_stimulus
    receipt = {"stage": DESIGNS, "key": key, "files": files, "n_layers": len(files) // 2,
               "n_scans": n_scans}
    text = json.dumps(receipt, sort_keys=True, indent=1)
    atomic_write(cache.root / DESIGNS / f"{digest}.json", lambda tmp: tmp.write_text(text))
    return Designs(folder, digest, len(files) // 2, n_scans)


def fit_parameters(profile: Profile) -> dict:
    """The encoding settings of ``profile``, as passed to :func:`analysis.encoding.score_layers`
    (and held in cache keys)."""
    return {"n_folds": profile.n_folds, "inner_folds": profile.inner_folds,
            "alphas": list(profile.alphas), "alpha_selection": profile.alpha_selection,
            "dtype": profile.precision}


def scores_key(designs_digest: str, participant_digest: str, profile: Profile,
               layers: Sequence[int] | None = None) -> dict:
    """Cache key of one participant's scores (``participant_digest``: its
    :meth:`~analysis.datasets.Participant.digest`); :func:`null_key` derives its null's."""
    return {"stage": SCORES, "code": source_digest(encoding, encoding.ridge),
            "designs": designs_digest, "participant": participant_digest,
            "layers": None if layers is None else list(layers), **fit_parameters(profile)}


def null_key(key: dict) -> dict:
    """Cache key of the null scores (shifted regressors) that go with the scores of ``key``."""
    return {**key, "shifted": pipeline.NULL_SHIFT}


def scores_done(cache: Cache, key: dict, null: bool) -> bool:
    """Whether the scores of ``key`` (and their null, when ``null``) are cached."""
    return all(cache.load(SCORES, k) is not None
               for k in ([key, null_key(key)] if null else [key]))


def participant_scores(participant: Participant, designs: Designs, profile: Profile,
                       cache: Cache, layers: Sequence[int] | None = None, null: bool = True,
                       key: dict | None = None, n_jobs: int | None = None) -> dict:
    """Brain scores of one participant's vertices for each layer, cached.

    Parameters
    ----------
    designs : the layers' regressors (:func:`layer_designs`) of the participant's language
    layers : layer indices to score (default: every layer)
    null : also score the shifted regressors (else ``null_scores`` is all NaN)
    key : :func:`scores_key` of these inputs, when already computed (it checksums the BOLD)
    n_jobs : layers fitted in parallel processes (default :func:`analysis.pipeline.n_jobs`)

    Returns
    -------
    dict with ``scores`` and ``null_scores``, arrays of shape (n_layers_scored, n_vertices)
    """
    indices = list(range(designs.n_layers)) if layers is None else list(layers)
    for index in indices:
        if not 0 <= index < designs.n_layers:
            raise ValueError(f"layers={list(layers)}: the model has layers 0 to "
                             f"{designs.n_layers - 1}.")
    if key is None:
        key = scores_key(designs.digest, participant.digest(), profile, layers)
    fit = fit_parameters(profile)
    jobs = pipeline.n_jobs() if n_jobs is None else n_jobs

    # the participant's BOLD, loaded once if either product is computed
    bold = functools.cache(lambda: responses(participant, designs.n_scans))

    def scored(shifted: bool):
        def compute():
            return {"scores": encoding.score_layers(
                [designs.layer(i, null=shifted) for i in indices], bold(), n_jobs=jobs, **fit)}
        return cache.get(SCORES, null_key(key) if shifted else key, compute)["scores"]

    scores = scored(False)
    return {"scores": scores,
            "null_scores": scored(True) if null else np.full_like(scores, np.nan)}


def responses(participant: Participant, n_scans: int) -> np.ndarray:
    """The participant's BOLD, every section stacked: array of shape (n_scans,
    n_vertices), float32, checked against the scans of the stimuli."""
    bold = participant.bold()
    if len(bold) != n_scans:
        raise ValueError(f"{participant.id}: its BOLD has {len(bold)} scans but the sections "
                         f"it heard have {n_scans}; check "
                         f"{', '.join(map(str, participant.bold_paths))}.")
    return bold


def _file_name(index: int, null: bool) -> str:
    return f"{'null' if null else 'layer'}{index:02d}.npy"


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, np.ascontiguousarray(array, dtype=np.float32))
