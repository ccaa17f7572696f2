"""The planted features of each level, from a stimulus and the tables of its language alone.

No model's activations and no random codes: every feature is computed from the waveform, or
from the phone tables (``phone, onset, offset``) and word tables (``word, onset, offset,
sentence``) of the listener's own language, so that what a region was given is something a
speech model of that language can learn, and something that differs between languages.

- acoustic basis: :data:`N_MELS` log-mel bands (librosa, through :mod:`analysis.acoustics`),
  the :data:`DESCRIPTORS` (spectral flux, flatness, voice activity) and the log sound
  envelope (total power); model-free, the same for any listener;
- pitch: the voice's pitch relative to the section's mean (log2 f0 of voiced frames minus
  their mean, 0 where unvoiced) and the voicing probability, tracked by probabilistic YIN
  (:func:`pitch_track`, librosa's ``pyin``): a property of periodic sound in general, which
  any model trained on natural sounds can learn, speech or not, and which a log spectrum
  carries only in part (the levels above acoustics are orthogonalised against it);
- phonetic: which phone category of the language's inventory is being spoken
  (:func:`phone_categories`; with the broad inventory :data:`BROAD_INVENTORY`, only the
  language-independent broad class);
- phonotactic: the surprisal of each phone and the entropy of the prediction before it, under
  the language's add-k smoothed phone trigram model (:class:`~analysis.demo.ngrams.NGramModel`,
  word boundaries as a symbol, fitted on all the language's phone tables), relative to their
  means over the language's phones;
- lexical: word onsets, the surprisal of each word boundary under that phone model (how
  unpredictable it is that a word starts here), and which of the language's
  :data:`TOP_WORDS` most frequent word forms is being spoken (one-hot);
- contextual: the surprisal of each word given the previous one in its sentence and the
  entropy of that prediction, under the language's add-k smoothed word bigram model,
  relative to their means over the language's words.

Surprisal and entropy are taken relative to the language's mean (0 in silence), so that these
levels say how surprising the speech is, not that speech is on: speech being on is
acoustics, which the levels above acoustics must not carry (a positive value over every
word would make a level largely a speech-versus-silence indicator, which a spectrum predicts
well beyond its linear span).

Frame ``k`` of every feature time series is centred at ``(k + 0.5) / FEATURE_RATE`` s.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import librosa
import numpy as np
import pandas as pd

from analysis import acoustics
from analysis.demo.ngrams import NGramModel
from analysis.framing import phone_label

FEATURE_RATE = 100.0  # Hz, grid of the planted feature time series
N_MELS = 32  # log-mel bands of the acoustic basis
# Model-free descriptors of the acoustic basis beyond the bands, each a nonlinear function of
# the spectrum that a linear map of the bands cannot reproduce (:func:`analysis.acoustics.
# descriptors`): spectral flux, spectral flatness and voice activity.
DESCRIPTORS = acoustics.DESCRIPTORS
VOICE_RANGE = 35.0  # dB below the 98th percentile of the frames' total power
N_BASIS = N_MELS + len(DESCRIPTORS) + 1  # columns of the acoustic basis (envelope last)
N_FFT = 512  # samples of the spectra's window (32 ms at 16 kHz)
TOP_WORDS = 8  # frequent word forms whose identity the lexical level carries
PHONE_ORDER = 3  # phone trigrams
WORD_ORDER = 2  # word bigrams
SMOOTHING = 0.1  # add-k constant of both n-gram models
BOUNDARY = "|"  # word boundary symbol of the phone model

PITCH_RANGE = (65.0, 400.0)  # Hz, the f0 search range of the pitch tracker
PITCH_RATE = 50.0  # Hz, frames of the pitch track (pyin's cost grows with its frames)
PITCH_RESOLUTION = 0.25  # semitones between pyin's pitch candidates (librosa's default: 0.1)
PITCH_WINDOW = 1024  # samples of pyin's frames (64 ms at 16 kHz: four periods at 65 Hz)

PHONE_CLASSES = ("vowel", "plosive", "fricative", "nasal", "approximant")
BROAD_INVENTORY = tuple(f"<{c}>" for c in PHONE_CLASSES)
_CLASS_OF_LETTER = {**{c: "plosive" for c in "pbtdkgcq?"},
                    **{c: "fricative" for c in "fvTDszSZhxCGJX"},
                    **{c: "nasal" for c in "mnN"}, **{c: "approximant" for c in "lrRwjL"}}
MIN_PHONE_SHARE = 0.005  # phones rarer than this in a language count as their broad class


def phone_class(label: str) -> str:
    """Broad class of an espeak phone mnemonic (stress marks ignored)."""
    return _CLASS_OF_LETTER.get(phone_label(label)[:1], "vowel")


def phone_categories(phone_tables: list[pd.DataFrame]) -> tuple[str, ...]:
    """A language's phone categories, from its phone tables: every phone making up at least
    ``MIN_PHONE_SHARE`` of its phones (stress ignored), sorted, then the broad classes that
    collect the rarer ones."""
    counts = Counter(phone_label(p) for table in phone_tables for p in table["phone"])
    total = sum(counts.values())
    if not total:
        raise ValueError("phone_categories: the phone tables are empty.")
    common = sorted(p for p, n in counts.items() if n >= MIN_PHONE_SHARE * total)
    return (*common, *BROAD_INVENTORY)


def phone_category(label: str, inventory: tuple[str, ...]) -> str:
    """The category of ``inventory`` a phone falls in: itself (stress ignored) or its class."""
    core = phone_label(label)
    return core if core in inventory else f"<{phone_class(label)}>"


@dataclass(frozen=True)
class Language:
    """What a listener knows of their language, estimated from its tables.

    Attributes
    ----------
    inventory : phone categories (:func:`phone_categories` or :data:`BROAD_INVENTORY`)
    phones : phone trigram model over the categories and :data:`BOUNDARY`
    words : word bigram model over lower-cased word forms, sentence by sentence
    top_words : the :data:`TOP_WORDS` most frequent word forms (ties: alphabetical)
    phone_means, word_means : mean (surprisal, entropy) over the language's phones, words
    """

    inventory: tuple[str, ...]
    phones: NGramModel
    words: NGramModel
    top_words: tuple[str, ...]
    phone_means: tuple[float, float]
    word_means: tuple[float, float]


def learn_language(words_tables: list[pd.DataFrame], phones_tables: list[pd.DataFrame],
                   inventory: tuple[str, ...]) -> Language:
    """A :class:`Language` from the word and phone tables of every section a listener hears
    (tables of one section each, in the same order)."""
    phone_sentences, word_sentences = [], []
    for words, phones in zip(words_tables, phones_tables):
        tokens, _ = _phone_tokens(words, phones, inventory)
        phone_sentences += tokens
        forms = words["word"].astype(str).str.lower()
        word_sentences += [list(group) for _, group in forms.groupby(_sentences(words),
                                                                     sort=False)]
    counts = Counter(w for sentence in word_sentences for w in sentence)
    top = tuple(w for w, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    phones = NGramModel(phone_sentences, PHONE_ORDER, SMOOTHING)
    words = NGramModel(word_sentences, WORD_ORDER, SMOOTHING)
    phone_scores = np.hstack([np.vstack(phones.score(sentence))[:, np.array(sentence) != BOUNDARY]
                              for sentence in phone_sentences])
    word_scores = np.hstack([np.vstack(words.score(sentence)) for sentence in word_sentences])
    return Language(inventory, phones, words, top[:TOP_WORDS],
                    tuple(phone_scores.mean(axis=1)), tuple(word_scores.mean(axis=1)))


def _sentences(words: pd.DataFrame) -> np.ndarray:
    return (words["sentence"].to_numpy() if "sentence" in words
            else np.zeros(len(words), dtype=int))


def _phone_tokens(words: pd.DataFrame, phones: pd.DataFrame, inventory: tuple[str, ...]):
    """Per sentence, its phone categories with :data:`BOUNDARY` between words, and, per
    phone (rows of ``phones``), (sentence number, position of the phone in its sentence's
    token list, whether it starts a word that is not its sentence's first)."""
    onsets = words["onset"].to_numpy()
    middle = ((phones["onset"] + phones["offset"]) / 2).to_numpy()
    word_of = np.clip(np.searchsorted(onsets, middle, side="right") - 1, 0, len(words) - 1)
    sentence = _sentences(words)
    tokens: list[list[str]] = []
    where = []
    previous_word, previous_sentence = None, None
    for label, w in zip(phones["phone"], word_of):
        starts_sentence = sentence[w] != previous_sentence
        if starts_sentence:
            tokens.append([])
        boundary = not starts_sentence and w != previous_word
        if boundary:
            tokens[-1].append(BOUNDARY)
        tokens[-1].append(phone_category(label, inventory))
        where.append((len(tokens) - 1, len(tokens[-1]) - 1, boundary))
        previous_word, previous_sentence = w, sentence[w]
    return tokens, where


def acoustic_basis(waveform: np.ndarray, sample_rate: int) -> np.ndarray:
    """The model-free acoustic description of a sound: log-mel bands, descriptors, envelope
    (the bands and envelope are the acoustic baseline's own, :mod:`analysis.acoustics`).

    Returns
    -------
    array of shape (n_frames, N_BASIS), ``n_frames = len(waveform) // hop`` with ``hop =
    sample_rate / FEATURE_RATE``: the :data:`N_MELS` log-mel bands (dB), the
    :data:`DESCRIPTORS`, then the log total power (dB), frame k centred at
    ``(k + 0.5) / FEATURE_RATE`` s
    """
    hop = int(sample_rate / FEATURE_RATE)
    power = acoustics.power_spectrogram(waveform, hop, N_FFT)
    decibels = acoustics.log_mel_and_envelope(power, sample_rate, N_MELS)  # bands, envelope
    descriptors = acoustics.descriptors(power, decibels, sample_rate, VOICE_RANGE)
    return np.hstack([decibels[:, :-1], descriptors, decibels[:, -1:]])


def pitch_track(waveform: np.ndarray, sample_rate: int, n_frames: int) -> np.ndarray:
    """The voice's relative pitch and voicing, from the waveform alone (librosa's ``pyin``).

    Parameters
    ----------
    waveform : array of shape (n_samples,)
    n_frames : frames of the output (the acoustic basis's, :func:`acoustic_basis`)

    Returns
    -------
    array of shape (n_frames, 2) at ``FEATURE_RATE``, frame k centred at
    ``(k + 0.5) / FEATURE_RATE`` s: log2 f0 of voiced frames minus its mean over them (0 where
    unvoiced, and everywhere if no frame is voiced), and the probability of voicing
    """
    hop = int(sample_rate / PITCH_RATE)
    f0, voiced, probability = librosa.pyin(
        np.asarray(waveform, dtype=np.float32), fmin=PITCH_RANGE[0], fmax=PITCH_RANGE[1],
        sr=sample_rate, frame_length=PITCH_WINDOW, hop_length=hop,
        resolution=PITCH_RESOLUTION)
    relative = np.zeros(len(f0))
    if voiced.any():
        octaves = np.log2(f0[voiced])
        relative[voiced] = octaves - octaves.mean()
    track_times = np.arange(len(f0)) * hop / sample_rate  # pyin's frames are centred
    times = (np.arange(n_frames) + 0.5) / FEATURE_RATE
    return np.column_stack([np.interp(times, track_times, relative),
                            np.interp(times, track_times, probability)])


def planted_features(waveform: np.ndarray, sample_rate: int, words: pd.DataFrame,
                     phones: pd.DataFrame, language: Language) -> dict[str, np.ndarray]:
    """Feature time series of each level, and the acoustic basis, at ``FEATURE_RATE``.

    Parameters
    ----------
    waveform : array of shape (n_samples,)
    words : table with columns ``word, onset, offset`` (and ``sentence``, when known)
    phones : table with columns ``phone, onset, offset``
    language : the listener's :class:`Language` (:func:`learn_language`)

    Returns
    -------
    dict name -> array of shape (n_frames, n_features): ``"acoustic"`` (the acoustic basis,
    N_BASIS columns), ``"envelope"`` (its last column), ``"pitch"`` (relative log f0,
    voicing probability), ``"phonetic"`` (one column per
    category of the inventory), ``"phonotactic"`` (surprisal, entropy), ``"lexical"`` (word
    onset, boundary surprisal, TOP_WORDS word identities), ``"contextual"`` (word surprisal,
    entropy); surprisal and entropy relative to the language's means, 0 in silence
    """
    basis = acoustic_basis(waveform, sample_rate)
    n_frames = len(basis)
    times = (np.arange(n_frames) + 0.5) / FEATURE_RATE
    pitch = pitch_track(waveform, sample_rate, n_frames)

    def span(row):
        return (times >= row.onset) & (times < row.offset)

    phonetic = np.zeros((n_frames, len(language.inventory)))
    phonotactic = np.zeros((n_frames, 2))
    lexical = np.zeros((n_frames, 2 + len(language.top_words)))
    contextual = np.zeros((n_frames, 2))
    tokens, where = _phone_tokens(words, phones, language.inventory)
    scored = [language.phones.score(sentence) for sentence in tokens]
    for row, (s, i, boundary) in zip(phones.itertuples(), where):
        phonetic[span(row), language.inventory.index(phone_category(row.phone,
                                                                    language.inventory))] = 1.0
        phonotactic[span(row)] = (scored[s][0][i] - language.phone_means[0],
                                  scored[s][1][i] - language.phone_means[1])
        if boundary:  # the boundary symbol precedes the word's first phone
            onset = min(int(row.onset * FEATURE_RATE), n_frames - 1)
            lexical[onset, 1] = scored[s][0][i - 1]
    forms = words["word"].astype(str).str.lower()
    for _, group in words.assign(form=forms).groupby(_sentences(words), sort=False):
        surprisal, entropy = language.words.score(list(group["form"]))
        for row, surprise, uncertainty in zip(group.itertuples(), surprisal, entropy):
            lexical[min(int(row.onset * FEATURE_RATE), n_frames - 1), 0] = 1.0
            if row.form in language.top_words:
                lexical[span(row), 2 + language.top_words.index(row.form)] = 1.0
            contextual[span(row)] = (surprise - language.word_means[0],
                                     uncertainty - language.word_means[1])
    return {"acoustic": basis, "envelope": basis[:, -1:], "pitch": pitch, "phonetic": phonetic,
            "phonotactic": phonotactic, "lexical": lexical, "contextual": contextual}
