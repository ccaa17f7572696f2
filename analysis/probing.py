"""What each layer of a model encodes: linear decoding of phones, the mel spectrogram and word
features from its activations, against a log-mel baseline (the paper's supplementary figure).

Every frame of a model's output grid (20 ms; frame k centred at ``(k * 320 + 200) / 16000``
s) gets targets from the stimulus and its timing tables:

- ``phone``: the phone under the frame's centre (espeak mnemonic without stress marks;
  frames outside every phone left out), decoded by ridge on one-hot codes (the largest
  prediction wins), scored by accuracy;
- ``mel``: the frame's 40-band log-mel spectrum (25 ms Hann window, librosa), decoded by ridge,
  scored by R^2 averaged over bands;
- ``word_onset``: whether the frame lies in the first 60 ms of a word (frames inside words),
  scored by the area under the ROC curve of the ridge prediction (chance 0.5);
- ``word_length``: letters of the word under the frame, ridge, R^2;
- ``word_frequency``: log10 count of that word in the whole story of the language, ridge, R^2.

Decoders are fitted on the training sections and scored on held-out sections (the last
``held_out`` of the language, which the demo models never trained on); each target column's
penalty is chosen by contiguous inner folds of the training frames (:func:`ridge_fit_predict`,
the encoding models' solver), features standardised on the training frames. Results are cached
per model (keyed by its fingerprint, the stimuli and this module's code).
"""
from __future__ import annotations

import logging
import re
import sys
from collections import Counter

import numpy as np
import pandas as pd
from tqdm import tqdm

from analysis import acoustics, features, models, ridge
from analysis.cache import Cache, source_digest
from analysis.config import cache_dir
from analysis.datasets import Dataset, Stimulus
from analysis.framing import FIELD, HOP, SAMPLE_RATE, frame_labels, phone_inventory

log = logging.getLogger(__name__)

ONSET_WINDOW = 0.06  # seconds after a word onset counted as "onset" frames
ALPHAS = tuple(np.logspace(-1, 5, 7))
TARGETS = {"phone": "accuracy", "mel": "R2", "word_onset": "ROC AUC",
           "word_length": "R2", "word_frequency": "R2"}
BASELINE = "log-mel"


def _word_key(word) -> str:
    return re.sub(r"[^\w]", "", str(word).lower())


def targets(stimulus: Stimulus, n_frames: int, inventory: dict[str, int],
            frequencies: Counter) -> dict[str, np.ndarray]:
    """Targets of every frame of ``stimulus`` (see the module docstring).

    Returns
    -------
    dict: ``phone`` int array (n_frames,) (-100: left out); ``mel`` float array
    (n_frames, 40); ``word_onset`` float array (n_frames,) of 0/1 (NaN: outside words);
    ``word_length``, ``word_frequency`` float arrays (n_frames,) (NaN: outside words)
    """
    times = (np.arange(n_frames) * HOP + FIELD / 2) / SAMPLE_RATE
    out = {"phone": frame_labels(stimulus.phones, n_frames, inventory),
           "mel": acoustics.model_frame_log_mel(stimulus.waveform(), n_frames)}
    words = stimulus.words.sort_values("onset")
    onsets, offsets = words["onset"].to_numpy(), words["offset"].to_numpy()
    index = np.searchsorted(onsets, times, side="right") - 1
    inside = (index >= 0) & (times < offsets[np.clip(index, 0, None)])
    keys = [_word_key(w) for w in words["word"]]
    length = np.array([len(k) for k in keys], dtype=float)
    frequency = np.log10(np.array([max(1, frequencies[k]) for k in keys], dtype=float))
    for name, values in (("word_length", length), ("word_frequency", frequency)):
        out[name] = np.where(inside, values[np.clip(index, 0, None)], np.nan)
    since = times - onsets[np.clip(index, 0, None)]
    out["word_onset"] = np.where(inside, (since < ONSET_WINDOW).astype(float), np.nan)
    return out


def ridge_fit_predict(X_train: np.ndarray, Y_train: np.ndarray, X_test: np.ndarray,
                      alphas=ALPHAS, inner_folds: int = 5) -> np.ndarray:
    """Ridge predictions of ``X_test``, one penalty per target column chosen on the training
    frames by contiguous inner folds (the encoding models' solver,
    :func:`analysis.ridge.fit_predict`), in float64.

    Parameters
    ----------
    X_train : array of shape (n_train, n_features)
    Y_train : array of shape (n_train, n_targets)
    X_test : array of shape (n_test, n_features)

    Returns
    -------
    array of shape (n_test, n_targets)
    """
    prediction, _ = ridge.fit_predict(np.asarray(X_train, np.float64),
                                      np.asarray(Y_train, np.float64),
                                      np.asarray(X_test, np.float64), alphas, "kfold",
                                      inner_folds)
    return prediction


def _columns(target: str, y_train: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The ridge targets of ``target``: one-hot codes for ``phone`` (and its classes), else
    the values as columns: ``(array of shape (n_train, k), classes or None)``."""
    if target == "phone":
        classes = np.unique(y_train)
        return (y_train[:, None] == classes[None, :]).astype(float), classes
    return (y_train if y_train.ndim == 2 else y_train[:, None]), None


def _score(target: str, predicted: np.ndarray, classes: np.ndarray | None,
           y_test: np.ndarray) -> float:
    """Held-out score of ``target`` (:data:`TARGETS`' metric) from its columns' predictions,
    array of shape (n_test, k)."""
    from sklearn.metrics import r2_score, roc_auc_score

    if target == "phone":
        return float(np.mean(classes[predicted.argmax(1)] == y_test))
    if target == "word_onset":
        return float(roc_auc_score(y_test, predicted[:, 0]))
    return float(r2_score(y_test, predicted if y_test.ndim == 2 else predicted[:, 0]))


def decode(layers: list[np.ndarray], train: np.ndarray, test: np.ndarray,
           frame_targets: dict[str, np.ndarray]) -> np.ndarray:
    """Held-out decoding score of every target from every layer.

    Targets defined on the same frames (the three word targets: frames inside words) are
    decoded by one ridge fit, each column with its own penalty, as if fitted alone.

    Parameters
    ----------
    layers : arrays of shape (n_frames, n_units), frames of all sections stacked
    train, test : boolean arrays of shape (n_frames,), the training and held-out frames
    frame_targets : :func:`targets` of all sections, stacked

    Returns
    -------
    array of shape (n_layers, len(TARGETS))
    """
    scores = np.full((len(layers), len(TARGETS)), np.nan)
    valid = {"phone": frame_targets["phone"] >= 0,
             "mel": np.ones(len(train), bool)}
    for name in ("word_onset", "word_length", "word_frequency"):
        valid[name] = np.isfinite(frame_targets[name])
    groups: dict[bytes, list[str]] = {}  # the decodable targets, by their frames
    for name in TARGETS:
        tr, te = train & valid[name], test & valid[name]
        y = frame_targets[name]
        if tr.sum() < 10 or te.sum() < 10 or (name in ("phone", "word_onset")
                                               and len(np.unique(y[tr])) < 2):
            continue
        groups.setdefault(valid[name].tobytes(), []).append(name)
    for i, layer in enumerate(tqdm(layers, desc="probing layers", leave=False)):
        X = np.asarray(layer, dtype=np.float64)
        mean, std = X[train].mean(0), X[train].std(0) + 1e-8
        X = (X - mean) / std
        for names in groups.values():
            frames = valid[names[0]]
            tr, te = train & frames, test & frames
            columns = [_columns(name, frame_targets[name][tr]) for name in names]
            predicted = ridge_fit_predict(X[tr], np.hstack([c for c, _ in columns]), X[te])
            edges = np.cumsum([0] + [c.shape[1] for c, _ in columns])
            for name, (_, classes), a, b in zip(names, columns, edges[:-1], edges[1:]):
                scores[i, list(TARGETS).index(name)] = _score(
                    name, predicted[:, a:b], classes, frame_targets[name][te])
    return scores


def _layout(dataset: Dataset, language: str, held_out: int):
    """Stimuli of ``language``, the phone inventory of its training sections, the word
    frequencies of its whole story, and the training/held-out section flags."""
    dataset.check_language(language)
    stimuli = dataset.stimuli[language]
    if not 1 <= held_out < len(stimuli):
        raise ValueError(f"held_out={held_out}: the {language!r} story has {len(stimuli)} "
                         "sections; hold out at least one and train on at least one.")
    names = [p for p in phone_inventory(stimuli[:-held_out]) if p != "sil"]
    inventory = {p: i for i, p in enumerate(names)}
    frequencies = Counter(_word_key(w) for s in stimuli for w in s.words["word"])
    return stimuli, inventory, frequencies, [i >= len(stimuli) - held_out
                                             for i in range(len(stimuli))]


def probe(model: str, dataset: Dataset, language: str = "en", held_out: int = 1) -> pd.DataFrame:
    """Decoding scores of every layer of ``model`` (or of the log-mel baseline).

    Parameters
    ----------
    model : a model name (see :mod:`analysis.models`), or ``"log-mel"`` for the baseline
    dataset : stimuli with word and phone tables
    language : whose stimuli are decoded
    held_out : last sections of the language used for scoring only

    Returns
    -------
    DataFrame with columns ``model, layer, target, metric, score`` (layer 0.. as in
    :mod:`analysis.features`; the baseline has one layer, 0)
    """
    stimuli, inventory, frequencies, held = _layout(dataset, language, held_out)
    fingerprint = {"name": BASELINE} if model == BASELINE else models.fingerprint(model)
    key = {"stage": "probing", "code": source_digest(sys.modules[__name__], ridge),
           "model": fingerprint, "stimuli": [s.digest() for s in stimuli],
           "phones": sorted(inventory), "held_out": held_out, "language": language}

    def compute():
        loaded = None if model == BASELINE else models.load_model(model)
        normalize = model != BASELINE and models.normalizes_input(model)
        per_layer, frame_targets, test = None, [], []
        for stimulus, is_test in zip(stimuli, held):
            wave = stimulus.waveform()
            if loaded is None:
                layers, n_frames = [acoustics.model_frame_log_mel(wave)], None
            else:
                acts = features.extract_activations(loaded, wave, normalize=normalize,
                                                    progress=False)
                layers = acts.layers
            n_frames = min(len(layers[0]), len(acoustics.model_frame_log_mel(wave)))
            layers = [a[:n_frames] for a in layers]
            per_layer = [[a] for a in layers] if per_layer is None else \
                [p + [a] for p, a in zip(per_layer, layers)]
            frame_targets.append(targets(stimulus, n_frames, inventory, frequencies))
            test.append(np.full(n_frames, is_test))
        stacked = {name: np.concatenate([t[name] for t in frame_targets]) for name in TARGETS}
        test_mask = np.concatenate(test)
        scores = decode([np.vstack(p) for p in per_layer], ~test_mask, test_mask, stacked)
        return {"scores": scores}

    scores = Cache(cache_dir()).get("probing", key, compute)["scores"]
    rows = [{"model": model, "layer": i, "target": name, "metric": TARGETS[name],
             "score": scores[i, j]}
            for i in range(len(scores)) for j, name in enumerate(TARGETS)]
    return pd.DataFrame(rows)


def probe_models(names, dataset: Dataset, language: str = "en",
                 held_out: int = 1) -> pd.DataFrame:
    """:func:`probe` of the baseline and of each model of ``names``, stacked."""
    return pd.concat([probe(name, dataset, language, held_out)
                      for name in [BASELINE, *names]], ignore_index=True)


def per_layer(probes: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
    """Each target's score at every layer of each model: ``{target: {model: array of shape
    (n_layers,)}}`` from :func:`probe_models`'s table (the baseline has one "layer")."""
    return {target: {model: probes[(probes.model == model) & (probes.target == target)]
                     .score.to_numpy() for model in probes.model.unique()}
            for target in TARGETS}


def best_layer_scores(probes: pd.DataFrame, names) -> pd.DataFrame:
    """The best layer's score of each model for each target: DataFrame indexed by the
    baseline then ``names``, one column per target of :data:`TARGETS`."""
    best = probes.groupby(["model", "target"]).score.max().unstack()[list(TARGETS)]
    return best.loc[[BASELINE, *names]]

