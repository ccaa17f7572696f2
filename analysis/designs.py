"""Designs: stimulus audio -> activations of every layer -> regressors at scan times -> the
cached design of each layer, every section of a language stacked in time.

One product per model and set of stimuli, shared by every participant who heard them (a
language of Le Petit Prince; the Narratives listeners of the same stories, see
:meth:`analysis.datasets.Dataset.groups`):
each layer's regressors (optionally reduced by PCA), and the same circularly shifted by
:data:`NULL_SHIFT` of their length for the null baseline (which keeps each series'
autocorrelation but breaks its alignment with the BOLD), one ``.npy`` file per layer, read
back memory-mapped. On the way, each section's activations and regressors are cached
products of their own, so a new profile or participant never re-extracts them.

Public entry point: :func:`designs_for` (notebooks); :func:`design_key`,
:func:`load_designs` and :func:`build_designs` serve :mod:`analysis.jobs`, which computes the
designs in one job and fits them in others.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis import features, models, regressors
from analysis.cache import Cache, atomic_write, file_digest, key_digest, source_digest
from analysis.config import cache_dir
from analysis.datasets import Dataset, Stimulus

log = logging.getLogger(__name__)

DESIGNS = "designs"
NULL_SHIFT = 0.5  # the null baseline shifts the regressors by this fraction of their length


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


def designs_for(dataset: Dataset, model: str, language: str,
                n_components: int | None = None) -> Designs:
    """The designs of ``model`` (a model name: resolve a condition first with
    :func:`analysis.models.resolve_condition`) on the stimuli of ``language``, computed and
    cached when missing.

    Parameters
    ----------
    n_components : PCA of each layer's regressors, fitted on all runs stacked (see
        :func:`analysis.regressors.reduce_components`); None (default) for none
    """
    dataset.check_language(language)
    return designs_of(dataset.stimuli[language], model, n_components)


def designs_of(stimuli: Sequence[Stimulus], model: str,
               n_components: int | None = None) -> Designs:
    """The designs of ``model`` on ``stimuli`` (those a group of listeners heard, in order:
    :meth:`analysis.datasets.Dataset.groups`), computed and cached when missing; see
    :func:`designs_for`."""
    return build_designs(model, design_key(model, stimuli, n_components), stimuli,
                         Cache(cache_dir()))


def regressor_keys(model: dict, stimulus: Stimulus, window: float = 10.0,
                   stride: float = 5.0) -> tuple[dict, dict]:
    """Cache keys of the activations and of the regressors of one stimulus under one model
    (``model`` is :func:`analysis.models.fingerprint`)."""
    act_key = {"stage": "activations", "code": source_digest(features), "model": model,
               "stimulus": stimulus.digest(), "window": window, "stride": stride}
    reg_key = {"stage": "regressors", "code": source_digest(regressors),
               "activations": key_digest(act_key), "n_scans": stimulus.n_scans,
               "tr": stimulus.tr, "hrf": "glover", "oversampling": 50}
    if stimulus.scan_start:  # volumes not at the audio onset (Narratives); else keys as before
        reg_key["scan_start"] = stimulus.scan_start
    return act_key, reg_key


def design_key(model: str, stimuli: Sequence[Stimulus], n_components: int | None = None,
               window: float = 10.0, stride: float = 5.0) -> dict:
    """Cache key of the designs of ``model`` (a resolved model name) on ``stimuli``.

    Holds the activation and regressor keys of every section (so the product changes with the
    model's weights, the audio and the code of those stages), the PCA setting and the null
    shift. Reads the audio files once to checksum them.
    """
    weights = models.fingerprint(model)
    sections = [dict(zip(("activations", "regressors"),
                         regressor_keys(weights, s, window, stride)))
                for s in stimuli]
    return {"stage": DESIGNS, "code": source_digest(regressors), "sections": sections,
            "n_components": n_components, "null_shift": NULL_SHIFT}


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


def build_designs(model: str, key: dict, stimuli: Sequence[Stimulus], cache: Cache) -> Designs:
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
    lazy = _LazyModel(model)
    per_stimulus = [_stimulus_regressors(k["activations"], k["regressors"], s, cache, lazy)
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


def shifted_layer(stimuli: Dataset | Sequence[Stimulus], model: str, language: str | None,
                  layer: int, offsets: Sequence[float]) -> list[np.ndarray]:
    """One layer's regressors with the stimulus assumed to start each of ``offsets`` seconds
    after each run's first scan (negative: before it), sections stacked in
    time; for the alignment check. Each section's activations are read once from their cached
    product; the shifted regressors are not cached.

    ``stimuli`` is a data set and ``language`` one of its languages (every stimulus of it),
    or the stimuli of a group of listeners (``language`` None).

    Returns
    -------
    list (one per offset) of arrays of shape (n_scans_total, n_units), float32
    """
    if isinstance(stimuli, Dataset):
        stimuli = stimuli.stimuli[language]
    weights, cache, lazy = models.fingerprint(model), Cache(cache_dir()), _LazyModel(model)
    parts = [[] for _ in offsets]
    for stimulus in stimuli:
        act_key, _ = regressor_keys(weights, stimulus)
        acts = cache.get("activations", act_key, lambda s=stimulus: _activations(
            lazy, s, act_key["window"], act_key["stride"]))
        for part, offset in zip(parts, offsets):
            part.append(regressors.build_regressors(acts[f"layer{layer:02d}"], acts["times"],
                                                    stimulus.scan_times() - offset))
    return [np.vstack(part) for part in parts]


class _LazyModel:
    """Loads the model only when some product must really be computed."""

    def __init__(self, name: str):
        self.name, self._model = name, None

    def __call__(self):
        if self._model is None:
            self._model = models.load_model(self.name)
        return self._model

    def normalize(self) -> bool:
        """Whether the model's feature extractor normalises the waveform."""
        return models.normalizes_input(self.name)


def _stimulus_regressors(act_key: dict, reg_key: dict, stimulus: Stimulus, cache: Cache,
                         lazy: _LazyModel) -> list[np.ndarray]:
    """Regressors of every layer for one stimulus: list of arrays of shape (n_scans, n_units)."""
    window, stride = act_key["window"], act_key["stride"]

    def compute_regressors():
        acts = cache.get("activations", act_key, lambda: _activations(
            lazy, stimulus, window, stride))
        times = acts.pop("times")
        n_layers = len(acts)
        return {f"layer{i:02d}": regressors.build_regressors(
            acts[f"layer{i:02d}"], times, stimulus.scan_times()) for i in range(n_layers)}

    regs = cache.get("regressors", reg_key, compute_regressors)
    return [regs[name] for name in sorted(regs)]


def _activations(lazy: _LazyModel, stimulus: Stimulus, window: float, stride: float) -> dict:
    log.info("extracting activations: %s (%s)", stimulus.label, stimulus.language)
    acts = features.extract_activations(lazy(), stimulus.waveform(), window=window,
                                        stride=stride, normalize=lazy.normalize())
    return {"times": acts.times, **{f"layer{i:02d}": a for i, a in enumerate(acts.layers)}}


def _file_name(index: int, null: bool) -> str:
    return f"{'null' if null else 'layer'}{index:02d}.npy"


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, np.ascontiguousarray(array, dtype=np.float32))
