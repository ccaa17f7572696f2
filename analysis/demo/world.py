"""Build (once) and load the demo world: spoken story sections and simulated listeners.

The world lives in ``<data home>/demo/world-<digest>/``, the digest covering everything it is
built from (story text, voice, simulation parameters, seed, and the source of the modules that
build it). Each sentence is spoken by one of several voices of its language with its own pitch,
pitch range and rate, and each section has light background noise, all drawn from ``seed``
(:mod:`analysis.demo.voices`)::

    stimuli/task-demo<L>_section-<k>.wav   16 kHz speech
    stimuli/task-demo<L>_section-<k>_words.tsv, ..._phones.tsv   onset/offset tables (s)
    stimuli/task-demo<L>_section-<k>_sentences.tsv   each sentence's span, voice, pitch,
                                              pitch range and rate (:mod:`.speaking`)
    sub-<L><NN>/sub-<L><NN>_section-<k>_bold.npy   array of shape (n_scans, 20484)
    truth.npz                                 what was planted (see :func:`load_truth`)
    world.json                                written last: the file list with checksums

A folder without a valid ``world.json`` is unfinished and is rebuilt from scratch.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import acoustics, regions, regressors, synthesis
from analysis.cache import (atomic_write, file_digest, key_digest, manifest_verified,
                            source_digest)
from analysis.config import PROFILES, Profile, data_home
from analysis.datasets import Dataset, Participant, Stimulus, restrict
from analysis.demo import listeners, ngrams, planted, speaking, story, voices
from analysis.demo.story import LANGUAGES, RATES, STORY

log = logging.getLogger(__name__)

TR = 2.0
EXTRA_SCANS = 4  # scans after the audio ends, as in the English audiobook runs
STORY_STREAM = 0  # the story's draws of voices and noise: seed (seed, STORY_STREAM, language)
SEED_VARIABLE = "ANALYSIS_DEMO_SEED"  # environment variable holding the world's seed
DEFAULT_SEED = 0
WORLD_PARTICIPANTS = 12  # simulated listeners per language (a profile analyses the first ones)


def build_world(languages=LANGUAGES, n_participants: int = 3, seed: int = DEFAULT_SEED,
                rates: dict[str, int] | None = None,
                params: listeners.ListenerParameters = listeners.ListenerParameters(),
                sentences_per_section: int | None = None, root: Path | None = None) -> Dataset:
    """The demo world, built on first use and verified on every later use.

    Parameters
    ----------
    languages : languages of the story to speak, each participant hearing one (default:
        every language of the story, so that one world serves every analysis; load a part of
        it with :func:`select`)
    n_participants : simulated participants per language
    seed : seed of every random draw of the simulation (the listeners and their noise, each
        language from its own stream) and of the speech (voices, prosody, noise);
        :func:`load` reads it from ``ANALYSIS_DEMO_SEED``
    rates : espeak-ng base speaking rate (words per minute) of some languages, replacing
        those of :data:`analysis.demo.story.RATES` (each sentence's rate varies around it)
    params : the simulation's parameters; :data:`analysis.demo.listeners.WORLDS` names the
        main world and its controls (levels switched off)
    sentences_per_section : keep only the first sentences of each section (small worlds for
        tests); None keeps the whole story
    root : parent folder (default ``<data home>/demo``)
    """
    for language in languages:
        if language not in STORY:
            raise ValueError(f"languages: the demo story has no {language!r} version; "
                             f"available: {', '.join(STORY)}.")
    rates = {lang: (rates or {}).get(lang, RATES[lang]) for lang in languages}
    texts = {lang: [list(section[:sentences_per_section]) for section in story.sections(lang)]
             for lang in languages}
    code = source_digest(sys.modules[__name__], listeners, planted, ngrams, synthesis, story,
                         regions, regressors, speaking, voices, acoustics)
    key = {"code": code, "languages": list(languages), "story": texts,
           "n_participants": n_participants,
           "seed": seed, "rates": rates, "params": asdict(params), "tr": TR}
    folder = (root or data_home() / "demo") / f"world-{key_digest(key)}"
    manifest = folder / "world.json"
    if not manifest_verified(manifest):
        if folder.exists():
            log.warning("demo world at %s is unfinished or corrupted; rebuilding it", folder)
            shutil.rmtree(folder)
        _build(folder, key, texts, n_participants, seed, rates, params)
    return _load(folder)


def _build(folder: Path, key: dict, texts: dict[str, list[list[str]]], n_participants, seed,
           rates, params) -> None:
    log.info("building the demo world in %s", folder)
    (folder / "stimuli").mkdir(parents=True, exist_ok=True)
    stimuli, participants, truths = [], [], {}
    for language, sections in texts.items():
        lengths = []
        started = time.perf_counter()
        spoken = speaking.speak(sections, language, rates[language],
                                seed=(seed, STORY_STREAM, LANGUAGES.index(language)))
        log.info("spoke the %s story: %.1f min of audio in %.1f s", language,
                 sum(len(s.waveform) for s in spoken) / 16000 / 60,
                 time.perf_counter() - started)
        for k, section in enumerate(spoken, 1):
            stem = folder / "stimuli" / f"task-demo{language.upper()}_section-{k}"
            speaking.save(section, stem)
            n_scans = int(np.ceil(len(section.waveform) / 16000 / TR)) + EXTRA_SCANS
            lengths.append(n_scans)
            stimuli.append({"language": language, "section": k, "stem": stem.name,
                            "n_scans": n_scans})
        started = time.perf_counter()
        inventory = (planted.phone_categories([s.phones for s in spoken])
                     if params.language_specific else planted.BROAD_INVENTORY)
        known = planted.learn_language([s.words for s in spoken], [s.phones for s in spoken],
                                       inventory)
        features = [planted.planted_features(s.waveform, 16000, s.words, s.phones, known)
                    for s in spoken]
        regressors = listeners.level_regressors(features, [np.arange(n) * TR for n in lengths],
                                                params)
        bold, truth = listeners.simulate_listeners(regressors, lengths, n_participants,
                                                   seed=(seed, LANGUAGES.index(language)),
                                                   params=params)
        log.info("simulated %d %s listeners in %.1f s", n_participants, language,
                 time.perf_counter() - started)
        basis = regressors.pop("acoustic_basis")
        shared = {name: truth.pop(name)
                  for name in ("planted_levels", "language_specific", "region_level_share")}
        truth.update({f"regressors_{name}": value for name, value in regressors.items()},
                     acoustic_basis=basis, phone_inventory=np.array(inventory),
                     top_words=np.array(known.top_words), section_lengths=np.array(lengths))
        truths.update({f"{language}_{name}": value for name, value in truth.items()})
        for p, runs in enumerate(bold, 1):
            pid = f"sub-{language.upper()}{p:02d}"
            (folder / pid).mkdir(exist_ok=True)
            paths = []
            for k, run in enumerate(runs, 1):
                path = folder / pid / f"{pid}_section-{k}_bold.npy"
                atomic_write(path, lambda tmp, run=run: _save_npy(tmp, run))
                paths.append(str(path.relative_to(folder)))
            participants.append({"id": pid, "language": language, "bold": paths})
    truths.update(levels=np.array(listeners.LEVELS), regions=np.array(regions.ROI_NAMES),
                  **shared)
    atomic_write(folder / "truth.npz", lambda tmp: _save_npz(tmp, truths))
    files = {str(p.relative_to(folder)): file_digest(p)
             for p in sorted(folder.rglob("*")) if p.is_file()}
    text = json.dumps({"key": key, "tr": TR, "stimuli": stimuli, "participants": participants,
                       "files": files}, indent=1)
    atomic_write(folder / "world.json", lambda tmp: tmp.write_text(text))


def load(profile: Profile, languages, n_participants: int) -> Dataset:
    """The ``demo`` data source (entry point of :data:`analysis.plugins.SOURCES`): the part of
    the demo world that ``profile`` analyses.

    One world of :data:`WORLD_PARTICIPANTS` listeners per language serves every language and
    notebook (built on first use); a larger one is built only if more are asked for.

    Parameters
    ----------
    profile : its ``sections`` are kept (None: all)
    languages : languages whose stimuli and participants are kept
    n_participants : the first participants of each language (0: all)
    """
    world = named_world("main", n_participants=n_participants)
    return restrict(select(world, languages, n_participants), profile.sections)


def named_world(name: str, seed: int | None = None, n_participants: int = 0) -> Dataset:
    """A world of :data:`analysis.demo.listeners.WORLDS`, whole: ``"main"`` (every language
    of the demo profile; the one the figures analyse) or a control (English listeners only,
    whom every claim of :mod:`analysis.demo.claims` is about), built on first use.

    Parameters
    ----------
    seed : the world's seed (default :func:`demo_seed`)
    n_participants : listeners per language, at least :data:`WORLD_PARTICIPANTS`
    """
    if name not in listeners.WORLDS:
        raise ValueError(f"name={name!r}: the demo worlds are {', '.join(listeners.WORLDS)}.")
    languages = PROFILES["demo"].languages if name == "main" else ("en",)
    return build_world(languages=languages,
                       n_participants=max(n_participants, WORLD_PARTICIPANTS),
                       seed=demo_seed() if seed is None else seed,
                       params=listeners.WORLDS[name])


def demo_seed() -> int:
    """The demo world's seed: the ``ANALYSIS_DEMO_SEED`` environment variable (a
    non-negative integer), or ``DEFAULT_SEED`` when it is unset or empty."""
    value = os.environ.get(SEED_VARIABLE, "").strip()
    if not value:
        return DEFAULT_SEED
    try:
        seed = int(value)
    except ValueError:
        seed = -1
    if seed < 0:
        raise ValueError(f"{SEED_VARIABLE}={value!r}: the demo world's seed must be a "
                         "non-negative integer (unset: the default, "
                         f"{DEFAULT_SEED}).")
    return seed


def select(dataset: Dataset, languages=None, n_participants: int = 0) -> Dataset:
    """Part of a world: the stimuli and participants of ``languages`` (None: all), and the
    first ``n_participants`` participants of each (0: all)."""
    languages = tuple(dataset.stimuli) if languages is None else tuple(languages)
    missing = [lang for lang in languages if lang not in dataset.stimuli]
    if missing:
        raise ValueError(f"languages: the demo world has no {missing}; it has "
                         f"{', '.join(dataset.stimuli)}.")
    participants = []
    for language in languages:
        own = dataset.participants_of(language)
        if n_participants > len(own):
            raise ValueError(f"n_participants={n_participants}: the demo world has "
                             f"{len(own)} {language} participants; build a larger one.")
        participants += own[:n_participants or None]
    size = {lang: len(dataset.participants_of(lang)) for lang in languages}
    return Dataset(dataset.name, {lang: dataset.stimuli[lang] for lang in languages},
                   participants, dataset.simulated, corpus_size=size)


def load_truth(dataset: Dataset) -> dict[str, np.ndarray]:
    """What was planted in a demo world (its ``truth.npz``).

    Keys (``<L>`` a language, ``k`` a participant in id order, 20484 vertices):

    - ``levels`` (n_levels,), ``regions`` (n_regions,): names, in the order used below;
    - ``planted_levels``: the levels planted in this world (the others are switched off),
      ``language_specific``: whether any level uses the language's own phones or
      statistics, ``region_level_share`` (n_regions, n_levels): which levels each region
      got in this world and their shares of its signal (0: not planted there);
    - ``<L>_amplitude`` (n_participants, 20484): signal std over noise std (0: noise only);
    - ``<L>_ceiling`` (n_participants, 20484): expected correlation between BOLD and planted
      signal, ``a / sqrt(1 + a**2)``, the best score any model can reach, and
      ``<L>_ceiling_measured``, that correlation as it came out on the simulated scans;
    - ``<L>_level_share`` (n_levels, 20484): each level's share of the signal variance,
      and ``<L>_envelope_share`` (20484,), the sound envelope's (A1+A2 only);
    - ``<L>_region`` (20484,): index into ``regions`` of each vertex's region, -1 outside;
    - ``<L>_regressors_<level>`` (n_scans_total, n_components) for each planted level, and
      ``<L>_regressors_envelope`` (n_scans_total, 1): the planted regressors;
    - ``<L>_acoustic_basis`` (n_scans_total, N_BASIS): the regressors of the acoustic
      basis (log-mel bands, descriptors, then the envelope) that the levels above acoustics are
      orthogonal to;
    - ``<L>_phone_inventory``: the phone categories of the phonetic level, and
      ``<L>_top_words``: the frequent word forms of the lexical level;
    - ``<L>_section_lengths`` (n_sections,): scans of each section, in section order;
    - ``<L>_example_vertices`` (n_regions,), ``<L>_example_signal`` (n_participants,
      n_scans_total, n_regions): the planted signal at one vertex per region.
    """
    if not dataset.simulated:
        raise ValueError(f"the {dataset.name} data set is not simulated: nothing was planted.")
    stimulus = next(iter(dataset.stimuli.values()))[0]
    path = Path(stimulus.audio_path).parents[1] / "truth.npz"
    with np.load(path) as data:
        return {name: data[name] for name in data.files}


def sentences(stimulus: Stimulus) -> pd.DataFrame:
    """How each sentence of a demo stimulus was spoken: DataFrame with columns ``sentence,
    onset, offset, text, voice, pitch, pitch_range, rate`` (see :mod:`.speaking`)."""
    return speaking.read_table(Path(stimulus.audio_path).with_suffix(""), "sentences")


def _load(folder: Path) -> Dataset:
    meta = json.loads((folder / "world.json").read_text())
    stimuli: dict[str, list[Stimulus]] = {}
    for s in meta["stimuli"]:
        stem = folder / "stimuli" / s["stem"]
        stimuli.setdefault(s["language"], []).append(Stimulus(
            language=s["language"], section=s["section"], audio_path=stem.with_suffix(".wav"),
            words=speaking.read_table(stem, "words"), phones=speaking.read_table(stem, "phones"),
            n_scans=s["n_scans"], tr=meta["tr"]))
    participants = [Participant(p["id"], p["language"], tuple(folder / b for b in p["bold"]))
                    for p in meta["participants"]]
    return Dataset("demo", stimuli, participants, simulated=True)


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, array)


def _save_npz(path: Path, arrays: dict) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
