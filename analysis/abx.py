"""Machine ABX phone discrimination (Figure 4B) on minimal-pair triphones.

Stimuli: for each language, minimal pairs of phones (``a'ba`` / ``a'pa``; ``b'ib`` /
``b'yb``) in fixed contexts, spoken by espeak-ng in phoneme mode by several voice variants
(different speakers and pitches). Every synthesised item is checked against espeak's own
phone events, so a stimulus is what its label says.

Task: a triplet (A, B, X) has A and X of the same triphone spoken by different voices, and B
the other member of the minimal pair spoken by A's voice (as in Perceptimatic: A and B share
a speaker, X does not). The model is right when X is closer to A than to B. Both members of
each pair serve as A in turn (symmetrised). The distance between two items is dynamic time
warping over frame-wise cosine distances of one layer's activations, averaged along the
warping path (as in the ZeroSpeech/Perceptimatic ABX). Accuracy is averaged over triplets
within each contrast (an unordered phone pair in one context), then over contrasts.

Layers use the paper's numbering (0..6 convolutional, 7.. transformer); the paper used
transformer layer 5, :data:`PAPER_LAYER` = 11 (see :func:`resolve_layer`).
"""
from __future__ import annotations

import logging
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from analysis import features, models, synthesis
from analysis.cache import Cache, key_digest, source_digest
from analysis.config import cache_dir

log = logging.getLogger(__name__)

PAPER_LAYER = 11  # transformer block 5 of wav2vec 2.0 Base, after 7 convolutional layers

# Minimal pairs in espeak-ng's phoneme mnemonics (the names its phoneme events report).
CONTRASTS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "en": {
        "consonant": [("p", "b"), ("t", "d"), ("k", "g"), ("f", "v"), ("s", "z"), ("T", "s"),
                      ("D", "d"), ("m", "n"), ("l", "r"), ("S", "s"), ("w", "r")],
        "vowel": [("i:", "I"), ("u:", "U"), ("E", "a"), ("V", "a"), ("I", "E"),
                  ("O:", "0")],
    },
    "fr": {
        "consonant": [("p", "b"), ("t", "d"), ("k", "g"), ("f", "v"), ("s", "z"), ("S", "Z"),
                      ("m", "n"), ("l", "R"), ("S", "s")],
        "vowel": [("i", "y"), ("y", "u"), ("e", "E"), ("o", "O"), ("Y", "W"), ("O~", "A~"),
                  ("E~", "A~")],
    },
}
# Contexts (previous, next phone) of each kind of contrast.
CONTEXTS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "en": {"consonant": [("a", "a")], "vowel": [("b", "b"), ("d", "d")]},
    "fr": {"consonant": [("a", "a")], "vowel": [("b", "b"), ("d", "d")]},
}
# espeak-ng variants: speakers and pitches. Not f2, f3 or f5: their breath noise is seeded
# differently in each process, so the stimuli (and figure 4B) would change from run to run.
VOICE_VARIANTS = ("", "+f1", "+m3", "+f4")
_MARKS = str.maketrans("", "", "',#-;=")  # stress and boundary marks in espeak's phone events


@dataclass(frozen=True)
class Stimuli:
    """Synthesised triphones.

    Attributes
    ----------
    items : DataFrame with columns ``language, kind, prev, phone, next, voice``; row ``i``
        is ``waveforms[i]``
    waveforms : list of arrays of shape (n_samples,), 16 kHz float32
    digest : identity of the set, for cache keys
    """

    items: pd.DataFrame
    waveforms: list[np.ndarray]
    digest: str


def triphone_text(prev: str, phone: str, nxt: str, kind: str) -> str:
    """espeak-ng phoneme-mode text of a triphone, stressed on its vowel nucleus."""
    return f"[[{prev}'{phone}{nxt}]]" if kind == "vowel" else f"[[{prev}{phone}'{nxt}]]"


def check_languages(languages) -> list[str]:
    """``languages`` as a list, each one with ABX stimuli (:data:`CONTRASTS`).

    Raises
    ------
    ValueError
        naming a language without stimuli and the languages that have them.
    """
    for language in languages:
        if language not in CONTRASTS:
            raise ValueError(f"abx_languages: no ABX stimuli are defined for {language!r}; "
                             f"choose among {', '.join(CONTRASTS)}.")
    return list(languages)


def item_table(languages=("en", "fr"), variants=VOICE_VARIANTS) -> pd.DataFrame:
    """Every triphone to synthesise: DataFrame with columns ``language, kind, prev, phone,
    next, voice`` (one row per triphone and voice)."""
    rows = []
    for language in languages:
        if language not in CONTRASTS:
            raise ValueError(f"languages: no ABX stimuli are defined for {language!r}; "
                             f"choose among {', '.join(CONTRASTS)}.")
        for kind, pairs in CONTRASTS[language].items():
            phones = sorted({p for pair in pairs for p in pair})
            for prev, nxt in CONTEXTS[language][kind]:
                for phone in phones:
                    for variant in variants:
                        rows.append((language, kind, prev, phone, nxt, language + variant))
    return pd.DataFrame(rows, columns=["language", "kind", "prev", "phone", "next", "voice"])


def synthesize_stimuli(languages=("en", "fr"), variants=VOICE_VARIANTS,
                       rate: int = 130) -> Stimuli:
    """The triphones of :func:`item_table`, synthesised once and cached.

    espeak-ng carries state from one utterance to the next, so the items are spoken in a
    fresh process, always in the same order: the same call gives the same audio.

    Raises
    ------
    ValueError
        naming an item whose phones, as espeak-ng reports them, are not the ones asked for.
    """
    items = item_table(languages, variants)
    key = {"stage": "abx-stimuli", "code": source_digest(sys.modules[__name__], synthesis),
           "items": items.to_dict("list"), "rate": rate}

    def compute():
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            waves, phones = pool.submit(_speak_items, items, rate).result()
        for row, got in zip(items.itertuples(), phones):
            expected = [row.prev, row.phone, row.next]
            if got != expected:
                raise ValueError(f"ABX stimulus {triphone_text(row.prev, row.phone, row.next, row.kind)}"
                                 f" ({row.voice}): espeak-ng spoke the phones {got}, not "
                                 f"{expected}; change CONTRASTS/CONTEXTS in analysis/abx.py.")
        bounds = np.cumsum([0] + [len(w) for w in waves])
        return {"audio": np.concatenate(waves).astype(np.float32), "bounds": bounds}

    out = Cache(cache_dir()).get("abx-stimuli", key, compute)
    b = out["bounds"]
    waves = [out["audio"][b[i]:b[i + 1]] for i in range(len(items))]
    return Stimuli(items, waves, key_digest(key))


def _speak_items(items: pd.DataFrame, rate: int) -> tuple[list[np.ndarray], list[list[str]]]:
    waves, phones = [], []
    for row in tqdm(list(items.itertuples()), desc="speaking ABX triphones"):
        utt = synthesis.synthesize(triphone_text(row.prev, row.phone, row.next, row.kind),
                         voice=row.voice, rate=rate, phonemes=True)
        waves.append(utt.waveform)
        phones.append([p.translate(_MARKS) for p in utt.phones.phone])
    return waves, phones


def triplets(items: pd.DataFrame) -> pd.DataFrame:
    """Every ABX triplet of the stimuli: DataFrame with columns ``A, B, X`` (row indices of
    ``items``) and ``language, kind, context, target, other, contrast``.

    For each minimal pair in each context, each member as target, each voice of A (and B)
    and each other voice of X: A = (target, voice), B = (other, voice), X = (target, other
    voice).
    """
    index = {tuple(r): i for i, r in enumerate(
        items[["language", "prev", "phone", "next", "voice"]].itertuples(index=False))}
    rows = []
    for language in items.language.unique():
        voices = list(items.voice[items.language == language].unique())
        for kind, pairs in CONTRASTS[language].items():
            for prev, nxt in CONTEXTS[language][kind]:
                for x, y in pairs:
                    contrast = f"{language}:{prev}_{nxt}:{'/'.join(sorted((x, y)))}"
                    for target, other in ((x, y), (y, x)):
                        for va in voices:
                            for vx in voices:
                                if vx == va:
                                    continue
                                rows.append((index[(language, prev, target, nxt, va)],
                                             index[(language, prev, other, nxt, va)],
                                             index[(language, prev, target, nxt, vx)],
                                             language, kind, f"{prev}_{nxt}", target, other,
                                             contrast))
    return pd.DataFrame(rows, columns=["A", "B", "X", "language", "kind", "context", "target",
                                       "other", "contrast"])


def dtw_cosine(xs: list[np.ndarray], ys: list[np.ndarray], batch: int = 256) -> np.ndarray:
    """DTW distance of each pair ``(xs[k], ys[k])`` over frame-wise cosine distances.

    The cost of a path is the mean of the cosine distances along it (sum over the path
    divided by its number of steps); moves are (1, 0), (0, 1) and (1, 1). Pairs are
    processed ``batch`` at a time, padded, with the recursion vectorised over the batch.

    Parameters
    ----------
    xs, ys : lists of arrays of shape (n_frames_k, n_units) and (m_frames_k, n_units)

    Returns
    -------
    array of shape (n_pairs,)
    """
    if len(xs) != len(ys):
        raise ValueError(f"dtw_cosine: {len(xs)} first and {len(ys)} second series.")
    out = np.empty(len(xs))
    for start in range(0, len(xs), batch):
        out[start:start + batch] = _dtw_batch(xs[start:start + batch], ys[start:start + batch])
    return out


def _unit(frames: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(frames, axis=-1, keepdims=True)
    return frames / np.where(norm > 0, norm, 1.0)


def _dtw_batch(xs: list[np.ndarray], ys: list[np.ndarray]) -> np.ndarray:
    n = np.array([len(x) for x in xs])
    m = np.array([len(y) for y in ys])
    if (n == 0).any() or (m == 0).any():
        raise ValueError("dtw_cosine: a series has no frame.")
    size = len(xs)
    dims = xs[0].shape[1]
    a = np.zeros((size, n.max(), dims))
    b = np.zeros((size, m.max(), dims))
    for k, (x, y) in enumerate(zip(xs, ys)):
        a[k, :len(x)], b[k, :len(y)] = _unit(np.asarray(x, float)), _unit(np.asarray(y, float))
    dist = 1.0 - np.einsum("kid,kjd->kij", a, b)  # (size, n_max, m_max); padding is never read
    cost = np.full((size, n.max() + 1, m.max() + 1), np.inf)
    steps = np.zeros_like(cost)
    cost[:, 0, 0] = 0.0
    rows = np.arange(size)
    for i in range(1, n.max() + 1):
        for j in range(1, m.max() + 1):
            options = np.stack([cost[:, i - 1, j - 1], cost[:, i - 1, j], cost[:, i, j - 1]])
            lengths = np.stack([steps[:, i - 1, j - 1], steps[:, i - 1, j], steps[:, i, j - 1]])
            best = np.argmin(options, axis=0)
            cost[:, i, j] = dist[:, i - 1, j - 1] + options[best, rows]
            steps[:, i, j] = lengths[best, rows] + 1
    return cost[rows, n, m] / steps[rows, n, m]


def resolve_layer(model_name: str, layer: int | str = "paper") -> int:
    """The layer (paper numbering) whose activations the ABX task uses.

    ``"paper"``: transformer block 5 of 12 (layer 11 of wav2vec 2.0 Base), or for a model
    with another number of blocks the block at the same relative depth; an int is taken as
    is (checked when the activations are extracted).
    """
    if layer != "paper":
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or layer < 0:
            raise ValueError(f"layer={layer!r} must be 'paper' or a layer number >= 0.")
        return int(layer)
    config = models.load_config(model_name)
    n_conv, n_blocks = len(config.conv_dim), config.num_hidden_layers
    return n_conv + max(1, round(5 * n_blocks / 12)) - 1


def item_features(model_name: str, stimuli: Stimuli, layer: int,
                  device: str = "auto") -> list[np.ndarray]:
    """One layer's activations for every item: list of arrays of shape (n_frames, n_units)."""
    model = models.load_model(model_name, device=device)
    normalize = models.normalizes_input(model_name)
    out = []
    for wave in tqdm(stimuli.waveforms, desc=f"ABX features ({model_name})", leave=False):
        acts = features.extract_activations(model, wave, window=10.0, stride=5.0,
                                            normalize=normalize, device=device, progress=False)
        if not 0 <= layer < len(acts.layers):
            raise ValueError(f"layer={layer}: model {model_name!r} has layers 0.."
                             f"{len(acts.layers) - 1} (paper numbering).")
        out.append(acts.layers[layer])
    return out


def model_abx(model_name: str, stimuli: Stimuli, layer: int | str = "paper",
              device: str = "auto") -> pd.DataFrame:
    """ABX outcome of every triplet for one model (cached).

    Returns
    -------
    :func:`triplets`'s table with ``d_ax``, ``d_bx`` and ``correct`` (1 when X is closer to
    A, 0 when closer to B, 0.5 on a tie)
    """
    table = triplets(stimuli.items)
    layer = resolve_layer(model_name, layer)
    key = {"stage": "abx", "code": source_digest(sys.modules[__name__], features),
           "model": models.fingerprint(model_name), "stimuli": stimuli.digest, "layer": layer}

    def compute():
        feats = item_features(model_name, stimuli, layer, device)
        pairs = sorted(set(zip(table.A, table.X)) | set(zip(table.B, table.X)))
        dist = dtw_cosine([feats[i] for i, _ in pairs], [feats[j] for _, j in pairs])
        lookup = dict(zip(pairs, dist))
        return {"d_ax": np.array([lookup[p] for p in zip(table.A, table.X)]),
                "d_bx": np.array([lookup[p] for p in zip(table.B, table.X)])}

    out = Cache(cache_dir()).get("abx", key, compute)
    table["d_ax"], table["d_bx"] = out["d_ax"], out["d_bx"]
    table["correct"] = np.where(table.d_ax < table.d_bx, 1.0,
                                np.where(table.d_ax > table.d_bx, 0.0, 0.5))
    return table


def contrast_accuracy(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per contrast: DataFrame with columns ``language, kind, contrast, accuracy,
    n_triplets``."""
    grouped = outcomes.groupby(["language", "kind", "contrast"], sort=True).correct
    return grouped.agg(accuracy="mean", n_triplets="size").reset_index()


def condition_abx(model_names: dict[str, dict[str, str]], stimuli: Stimuli,
                  layer: int | str = "paper", device: str = "auto") -> pd.DataFrame:
    """ABX accuracy per contrast of each condition, on the stimuli of every language.

    ``native`` and ``non-native`` depend on the stimulus language (on French triphones the
    native model is the French-trained one), hence one mapping per language.

    Parameters
    ----------
    model_names : stimulus language -> {panel label -> model name}, e.g. from
        :func:`analysis.settings.resolve_conditions` called with each language
    layer : see :func:`resolve_layer`

    Returns
    -------
    DataFrame with columns ``condition, model, layer, language, kind, contrast, accuracy,
    n_triplets``
    """
    missing = sorted(set(stimuli.items.language) - set(model_names))
    if missing:
        raise ValueError(f"model_names has no models for the stimuli in {missing}.")
    frames = []
    for language, names in model_names.items():
        subset = _subset(stimuli, language)
        if subset.items.empty:
            raise ValueError(f"model_names[{language!r}]: the stimuli have no {language!r} "
                             "items.")
        for label, model_name in names.items():
            table = contrast_accuracy(model_abx(model_name, subset, layer, device))
            frames.append(table.assign(condition=label, model=model_name,
                                       layer=resolve_layer(model_name, layer)))
    columns = ["condition", "model", "layer", "language", "kind", "contrast", "accuracy",
               "n_triplets"]
    return pd.concat(frames, ignore_index=True)[columns]


def accuracy_by_contrast(table: pd.DataFrame, conditions) -> pd.DataFrame:
    """Accuracy of each condition per contrast: DataFrame indexed by ``(language,
    contrast)``, one column per condition of ``conditions`` (in that order), from
    :func:`condition_abx`'s table."""
    return table.pivot_table(index=["language", "contrast"], columns="condition",
                             values="accuracy")[list(conditions)]


def _subset(stimuli: Stimuli, language: str) -> Stimuli:
    keep = np.flatnonzero(stimuli.items.language.to_numpy() == language)
    return Stimuli(stimuli.items.iloc[keep].reset_index(drop=True),
                   [stimuli.waveforms[i] for i in keep], f"{stimuli.digest}-{language}")
