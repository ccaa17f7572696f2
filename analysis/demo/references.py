"""What model-free designs reach on the demo world's listeners: the references a model's
scores are read against.

- **The spectrum**: the world's acoustic basis (log-mel bands, descriptors and envelope, as
  regressors; ``truth["<L>_acoustic_basis"]``). Its share of each region's noise ceiling
  (:func:`acoustic_share`) says how much of a region a design hearing only the spectrum
  explains.
- **The phone transcript**: which phone category of the listener's language is being spoken,
  read from the stimulus's phone table (:func:`phone_regressors`). It is what a model that
  knew the phones perfectly, and nothing else, would carry. It is neither a model nor the
  planted signal: the planted phonetic level is this transcript orthogonalised against the
  spectrum, then reduced to a few components. Scored against the random model
  (:func:`against_random`), it says whether a claim the demo's models miss was within reach
  of the world's listeners and scans; transcripts with some phones wrong
  (``"phone transcript, 60 % right"``) say how well a model would need to know the phones.
- **A model trained to recognise phones** (the profile's ``supervised`` condition, the demo's
  ``demo-supervised``: the same architecture as the self-supervised models, trained on
  espeak's phone of each frame), chosen and tested as a claim's model is: whether a model
  that knows the phones turns them into brain scores above the random model's with these
  scans, its layers' weights learned in as many dimensions as the other models' (the
  transcript has a few dozen regressors).

Each design goes through the same encoding model, folds and penalties as a model's layer,
on every listener's region cores (:func:`design_scores`, cached).
"""
from __future__ import annotations

import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import acoustics, encoding, regressors, scores
from analysis.cache import Cache, array_digest, key_digest, source_digest
from analysis.config import Profile, cache_dir
from analysis.datasets import Dataset, Stimulus
from analysis.demo import claims, ngrams, planted, world
from analysis.demo.oracle import truth_rows
from analysis.framing import SAMPLE_RATE
from analysis.models import NON_NATIVE
from analysis.regressors import build_regressors

REFERENCE_SCORES = "reference_scores"  # cache stage of the designs' fits
LANGUAGE_DESIGNS = "language_designs"  # cache stage of the language references' designs
# the references of the chapter: the spectrum, the transcript, and transcripts an imperfect
# recogniser would give (the models page decodes phones from the models' layers)
REFERENCES = ("spectrum", "phone transcript", *(f"phone transcript, {k} % right"
                                                 for k in (80, 60, 40)))
PHONE_MODEL = "phone-supervised model"  # the reference row of the ``supervised`` model
# the levels above acoustics as a listener of the stimulus's language, or of the non-native
# model's, computes them
LANGUAGE_REFERENCES = ("own language", "other language")


def phone_frames(stimulus: Stimulus, categories: np.ndarray, n_categories: int) -> np.ndarray:
    """One-hot frames of a stimulus's phones, at the planted features' rate and frame times
    (:data:`analysis.demo.planted.FEATURE_RATE`, frame k centred at ``(k + 0.5) / rate``).

    Parameters
    ----------
    categories : array of shape (n_phones,), the category index of each row of
        ``stimulus.phones``

    Returns
    -------
    array of shape (n_frames, n_categories), 1 while a phone of that category is spoken
    """
    n_frames = len(stimulus.waveform()) // int(SAMPLE_RATE / planted.FEATURE_RATE)
    times = (np.arange(n_frames) + 0.5) / planted.FEATURE_RATE
    frames = np.zeros((n_frames, n_categories))
    for row, category in zip(stimulus.phones.itertuples(), categories):
        frames[(times >= row.onset) & (times < row.offset), category] = 1.0
    return frames


def phone_regressors(dataset: Dataset, language: str, accuracy: float = 1.0,
                     seed: int = 0) -> np.ndarray:
    """The phone transcript of every section of ``language``, as regressors: one column per
    phone category of the world's phonetic level (``truth["<L>_phone_inventory"]``), 1 while
    that category is spoken (:func:`phone_frames`), made regressors like any model feature
    (:func:`analysis.regressors.build_regressors`).

    Parameters
    ----------
    accuracy : share of the phones transcribed right; each of the others is replaced by
        another category, drawn from the transcript's own category frequencies (an imperfect
        recogniser whose mistakes fall on common phones). The phones wrong at one accuracy
        are among those wrong at any lower one.
    seed : seed of those draws

    Returns
    -------
    array of shape (n_scans_total, n_categories), sections stacked in order
    """
    if not 0 <= accuracy <= 1:
        raise ValueError(f"accuracy={accuracy!r} must be between 0 and 1.")
    inventory = tuple(str(p) for p in world.load_truth(dataset)[f"{language}_phone_inventory"])
    stimuli = dataset.stimuli[language]
    spoken = [np.array([inventory.index(planted.phone_category(label, inventory))
                        for label in s.phones["phone"]], dtype=int) for s in stimuli]
    frequency = np.bincount(np.concatenate(spoken), minlength=len(inventory)).astype(float)
    rng = np.random.default_rng(seed)
    runs = []
    for stimulus, categories in zip(stimuli, spoken):
        chance, pick = rng.random(len(categories)), rng.random(len(categories))
        # another category than the right one, in proportion to its frequency
        others = np.tile(frequency, (len(categories), 1))
        others[np.arange(len(categories)), categories] = 0.0
        cumulative = np.cumsum(others, axis=1) / others.sum(axis=1, keepdims=True)
        replaced = np.minimum((cumulative < pick[:, None]).sum(axis=1), len(inventory) - 1)
        categories = np.where(chance >= accuracy, replaced, categories)
        frames = phone_frames(stimulus, categories, len(inventory))
        times = (np.arange(len(frames)) + 0.5) / planted.FEATURE_RATE
        runs.append(build_regressors(frames, times, stimulus.scan_times()))
    return np.vstack(runs)


def transcript_accuracy(reference: str) -> float | None:
    """The share of phones right of a phone-transcript reference (``"phone transcript"``: 1,
    ``"phone transcript, <k> % right"``: k / 100); None for any other name."""
    if reference == "phone transcript":
        return 1.0
    percent = reference.removeprefix("phone transcript, ").removesuffix(" % right")
    if reference != percent and percent.isdigit() and int(percent) <= 100:
        return int(percent) / 100
    return None


UNKNOWN_WORD = "<unk>"  # a word form the other language's word model never saw


def known_language(dataset: Dataset, language: str, foreign: bool = False
                   ) -> planted.Language:
    """What a listener of ``language`` knows in this world, learned from the tables of every
    section of its stimulus as the world learned it (:func:`analysis.demo.planted.
    learn_language`): the language's own phone inventory where the world's levels are
    language-specific, the broad phone classes where they are not.

    Parameters
    ----------
    foreign : learn it to hear another language's speech: the word forms said once become
        :data:`UNKNOWN_WORD` (the word model's share for forms it never saw)
    """
    if language not in dataset.stimuli:
        raise ValueError(f"language={language!r}: this world has no {language} stimulus (it "
                         f"has {', '.join(dataset.stimuli)}); load the main world with every "
                         "language, world.named_world('main').")
    stimuli = dataset.stimuli[language]
    inventory = (planted.phone_categories([s.phones for s in stimuli])
                 if bool(world.load_truth(dataset)["language_specific"])
                 else planted.BROAD_INVENTORY)
    words = [s.words for s in stimuli]
    if foreign:
        forms = pd.concat(words)["word"].astype(str).str.lower().value_counts()
        once = set(forms.index[forms == 1])
        words = [w.assign(word=[UNKNOWN_WORD if str(f).lower() in once else f
                                for f in w["word"]]) for w in words]
    known = planted.learn_language(words, [s.phones for s in stimuli], inventory)
    if foreign:  # the frequent words are word forms, never the share of the unknown ones
        frequent = forms.drop(UNKNOWN_WORD, errors="ignore")
        top = sorted(frequent.items(), key=lambda item: (-item[1], item[0]))
        known = replace(known, top_words=tuple(w for w, _ in top[:planted.TOP_WORDS]))
    return known


def heard_as(words: pd.DataFrame, phones: pd.DataFrame, known: planted.Language,
             frequency: dict[str, int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A stimulus's word and phone tables as a listener who knows ``known`` hears them: a phone
    whose category (:func:`analysis.demo.planted.phone_category`) that language's phone
    model never saw becomes the category of its broad class the model saw most often, and a
    word form its word model never saw becomes :data:`UNKNOWN_WORD` (the language must then
    be learned ``foreign``, :func:`known_language`). Tables the language was learned from
    come back unchanged.

    Parameters
    ----------
    frequency : phone category -> how often the language's tables hold it
    """
    seen = set(known.phones.vocabulary)

    def broad(category: str) -> str:
        return category[1:-1] if category.startswith("<") else planted.phone_class(category)

    by_class: dict[str, str] = {}
    for category in sorted(seen & set(frequency), key=lambda c: (-frequency[c], c)):
        by_class.setdefault(broad(category), category)
    labels = []
    for label in phones["phone"]:
        category = planted.phone_category(label, known.inventory)
        if category in seen:
            labels.append(label)
        elif broad(category) in by_class:
            labels.append(by_class[broad(category)])
        else:
            raise ValueError(f"phone {label!r}: the listener's language has no "
                             f"{broad(category)} it could hear it as.")
    vocabulary = set(known.words.vocabulary)
    forms = [f if str(f).lower() in vocabulary else UNKNOWN_WORD for f in words["word"]]
    return words.assign(word=forms), phones.assign(phone=labels)


def language_regressors(dataset: Dataset, language: str, knowledge: str) -> np.ndarray:
    """The levels above acoustics that the world planted, computed from every section of the
    stimulus of ``language`` with what a listener of ``knowledge`` knows
    (:func:`known_language`, :func:`heard_as`; :func:`analysis.demo.planted.
    planted_features`), made regressors like any model feature, before any
    orthogonalisation or reduction. Columns constant over the scans (a frequent word of
    ``knowledge`` never spoken in ``language``) are dropped.

    Returns
    -------
    array of shape (n_scans_total, n_columns), sections stacked in order
    """
    truth = world.load_truth(dataset)
    levels = [str(level) for level in truth["planted_levels"] if str(level) != "acoustic"]
    if not levels:
        raise ValueError("this world planted no level above acoustics: there is nothing a "
                         "language's tables could compute.")
    known = known_language(dataset, knowledge, foreign=knowledge != language)
    frequency = Counter(planted.phone_category(label, known.inventory)
                        for s in dataset.stimuli[knowledge] for label in s.phones["phone"])
    runs = []
    for stimulus in dataset.stimuli[language]:
        words, phones = heard_as(stimulus.words, stimulus.phones, known, frequency)
        features = planted.planted_features(stimulus.waveform(), SAMPLE_RATE, words, phones,
                                            known)
        frames = np.hstack([features[level] for level in levels])
        times = (np.arange(len(frames)) + 0.5) / planted.FEATURE_RATE
        runs.append(build_regressors(frames, times, stimulus.scan_times()))
    design = np.vstack(runs)
    return design[:, design.std(axis=0) > 0]


def reference_design(dataset: Dataset, reference: str, language: str) -> np.ndarray:
    """The regressors of a reference: ``"spectrum"``, ``"phone transcript"``,
    ``"phone transcript, <k> % right"`` (:func:`phone_regressors` at accuracy k / 100),
    ``"own language"`` or ``"other language"`` (:func:`language_regressors` with the tables
    of ``language``, or of ``analysis.models.NON_NATIVE[language]``; cached per world, as
    they take seconds to compute): array of shape (n_scans_total, n_columns)."""
    if reference == "spectrum":
        return world.load_truth(dataset)[f"{language}_acoustic_basis"]
    if reference in LANGUAGE_REFERENCES:
        knowledge = language if reference == "own language" else NON_NATIVE[language]
        # keyed by the world's folder (world-<digest of all it was built with>) and the code
        world_folder = Path(dataset.stimuli[language][0].audio_path).parents[1].name
        key = {"stage": LANGUAGE_DESIGNS, "world": world_folder, "language": language,
               "knowledge": knowledge,
               "code": source_digest(sys.modules[__name__], planted, ngrams, acoustics,
                                     regressors)}
        return Cache(cache_dir()).get(LANGUAGE_DESIGNS, key, lambda: {
            "design": language_regressors(dataset, language, knowledge)})["design"]
    accuracy = transcript_accuracy(reference)
    if accuracy is None:
        raise ValueError(f"reference={reference!r}: choose 'spectrum', 'phone transcript', "
                         "'phone transcript, <k> % right', 'own language' or "
                         "'other language'.")
    return phone_regressors(dataset, language, accuracy=accuracy)


def design_scores(dataset: Dataset, profile: Profile, reference: str,
                  language: str = "en") -> np.ndarray:
    """Brain scores of a reference design on the region cores of every listener of
    ``language`` (cached).

    Returns
    -------
    array of shape (n_participants, n_core), the core being ``truth["<L>_region"] >= 0``
    """
    truth = world.load_truth(dataset)
    core = truth[f"{language}_region"] >= 0
    group, stimuli = dataset.participants_of(language), dataset.stimuli[language]
    design = reference_design(dataset, reference, language)
    n_scans = sum(s.n_scans for s in stimuli)
    if len(design) != n_scans:
        raise ValueError(f"{language}: the {reference} has {len(design)} scans but the world's "
                         f"sections {n_scans}; load every section of the world.")
    fit = scores.fit_parameters(profile, group[0].corpus)
    tr = scores.run_trs(stimuli)
    key = {"stage": REFERENCE_SCORES, "code": source_digest(encoding, encoding.ridge),
           "design": array_digest(design),
           "participants": [p.digest() for p in group],
           "vertices": key_digest({"vertices": np.flatnonzero(core).tolist()}), "tr": tr,
           "cleaning": scores.cleaning_parameters(profile), **fit}

    def compute():
        Y = np.hstack([scores.responses(p, n_scans, tr, profile)[:, core] for p in group])
        fitted = encoding.brain_score(design, Y, **fit)
        return {"scores": fitted.reshape(len(group), -1)}

    return Cache(cache_dir()).get(REFERENCE_SCORES, key, compute)["scores"]


def acoustic_share(dataset: Dataset, profile: Profile, language: str = "en") -> dict:
    """The acoustic baseline's share of each region's noise ceiling: per region, the spectrum's
    mean score over the core (:func:`design_scores`) divided by the mean planted noise ceiling.

    Returns
    -------
    dict region -> {``baseline_r``, ``ceiling``, ``share``}
    """
    truth = world.load_truth(dataset)
    regions = [str(region) for region in truth["regions"]]
    region = truth[f"{language}_region"]
    core = region >= 0
    fitted = design_scores(dataset, profile, "spectrum", language)
    group = dataset.participants_of(language)
    ceilings = truth[f"{language}_ceiling"][truth_rows(group)][:, core]
    out = {}
    for r, name in enumerate(regions):
        inside = region[core] == r
        baseline, ceiling = float(np.nanmean(fitted[:, inside])), float(ceilings[:, inside].mean())
        out[name] = {"baseline_r": baseline, "ceiling": ceiling, "share": baseline / ceiling}
    return out


def against_random(dataset: Dataset, profile: Profile, models: dict[str, str],
                   language: str = "en") -> list[dict]:
    """Each reference design against the random model in each speech region, tested as the
    claims are (:func:`analysis.demo.claims.test`: the random model's score at the layer best
    for the other listeners; the reference has one design, so nothing is chosen).

    Parameters
    ----------
    models : condition -> resolved model name; ``"native"`` and ``"random"`` are used, and
        ``"supervised"`` when given (rows :data:`PHONE_MODEL`: its score at the layer best
        for the other listeners, as a claim's model)

    Returns
    -------
    list of dicts, one per (reference of :data:`REFERENCES`, then :data:`PHONE_MODEL` when
    ``models`` has ``"supervised"``; region of :data:`analysis.demo.claims.SPEECH_REGIONS`):
    ``reference``, ``accuracy`` (its share of phones right; None for the spectrum and the
    model), ``region``, ``score``, ``native``, ``random`` (means across listeners),
    ``mean_difference`` (reference minus random), ``statistic``, ``p``, ``detected``
    """
    truth = world.load_truth(dataset)
    regions = [str(region) for region in truth["regions"]]
    region = truth[f"{language}_region"]
    core = region >= 0
    compared = ("native", "random", *(("supervised",) if "supervised" in models else ()))
    fitted = {c: claims.core_scores(dataset, profile, models[c], language, core)
              for c in compared}
    inside = {name: region[core] == regions.index(name) for name in claims.SPEECH_REGIONS}
    chosen = {name: {c: claims.listener_values(f, inside[name]) for c, f in fitted.items()}
              for name in claims.SPEECH_REGIONS}  # (n_participants,) per region and model
    values = {}  # reference -> region -> array of shape (n_participants,)
    for reference in REFERENCES:
        designed = design_scores(dataset, profile, reference, language)
        values[reference] = {name: np.nanmean(designed[:, inside[name]], axis=1)
                             for name in claims.SPEECH_REGIONS}
    if "supervised" in fitted:
        values[PHONE_MODEL] = {name: chosen[name]["supervised"] for name in claims.SPEECH_REGIONS}
    out = []
    for reference, per_region in values.items():
        for name, scored in per_region.items():
            model = chosen[name]
            out.append({"reference": reference, "accuracy": transcript_accuracy(reference),
                        "region": name, "score": float(scored.mean()),
                        "native": float(model["native"].mean()),
                        "random": float(model["random"].mean()),
                        **claims.test(scored, model["random"])})
    return out


def against_other_language(dataset: Dataset, profile: Profile, models: dict[str, str],
                           language: str = "en") -> list[dict]:
    """The own language's design against the other language's (:data:`LANGUAGE_REFERENCES`)
    in each region of the native > non-native claims, tested as the claims are
    (:func:`analysis.demo.claims.test`; each design is one, so nothing is chosen), beside the
    native and non-native models' values of those claims.

    Parameters
    ----------
    dataset : a world holding the stimuli of ``language`` and of
        ``analysis.models.NON_NATIVE[language]`` (the main world, every language)
    models : condition -> resolved model name; ``"native"`` and ``"non-native"`` are used

    Returns
    -------
    list of dicts, one per region: ``region``, ``own``, ``other`` (the designs' means across
    listeners), ``native``, ``non-native`` (the models' means), ``mean_difference`` (own
    minus other), ``statistic``, ``p``, ``detected``
    """
    truth = world.load_truth(dataset)
    regions = [str(region) for region in truth["regions"]]
    region = truth[f"{language}_region"]
    core = region >= 0
    compared = ("native", "non-native")
    claimed = [c.regions[0] for c in claims.CLAIMS if (c.better, c.worse) == compared]
    fitted = {c: claims.core_scores(dataset, profile, models[c], language, core)
              for c in compared}
    designed = {r: design_scores(dataset, profile, r, language) for r in LANGUAGE_REFERENCES}
    out = []
    for name in claimed:
        inside = region[core] == regions.index(name)
        own, other = (np.nanmean(designed[r][:, inside], axis=1) for r in LANGUAGE_REFERENCES)
        chosen = {c: claims.listener_values(f, inside) for c, f in fitted.items()}
        out.append({"region": name, "own": float(own.mean()), "other": float(other.mean()),
                    **{c: float(v.mean()) for c, v in chosen.items()},
                    **claims.test(own, other)})
    return out


def language_verdicts(claim_rows: list[dict], language_rows: list[dict]) -> list[str]:
    """One sentence per planted *native > non-native* claim a world's listeners missed: whether
    the levels computed with the listener's own language's tables beat those computed with
    the other language's in the claim's region (:func:`against_other_language`), that is,
    whether the claim was within reach of the listeners and scans for models that knew each
    language as its tables do.

    Returns
    -------
    list of str, empty when no such claim was missed
    """
    rows = {r["claim"]: r for r in claim_rows}
    reach = {r["region"]: r for r in language_rows}
    lines = []
    for claim in claims.CLAIMS:
        row = rows.get(claim.name)
        if ((claim.better, claim.worse) != ("native", "non-native") or row is None
                or not row["planted"] or row["detected"] or claim.regions[0] not in reach):
            continue
        tables = reach[claim.regions[0]]
        text = (f"{claim.name} was missed (native {row['better']:.4f}, non-native "
                f"{row['worse']:.4f}, p = {row['p']:.3g}); the levels computed with the "
                f"listener's own language's tables ({tables['own']:.4f}) ")
        if tables["detected"]:
            text += (f"beat those computed with the other language's ({tables['other']:.4f}, "
                     f"{tables['mean_difference']:+.4f}, p = {tables['p']:.3g}) there: within "
                     "reach of these listeners and scans for models that knew each language "
                     "as its tables do.")
        else:
            text += (f"do not beat those computed with the other language's "
                     f"({tables['other']:.4f}, {tables['mean_difference']:+.4f}, p = "
                     f"{tables['p']:.3g}) there: out of reach of these listeners and scans, "
                     "even for models that knew each language as its tables do.")
        lines.append(text)
    return lines


def transcript_verdicts(claim_rows: list[dict], reach_rows: list[dict], truth: dict) -> list[str]:
    """One sentence per planted *trained > random* claim a world's listeners missed.

    Where the world planted the phonetic level in the claim's region, it says whether phone
    transcripts beat the random model there, and the least accurate one down to which every
    more accurate one did (the claim was within reach of the listeners and scans for a
    design that knew the phones that well), then, when ``reach_rows`` hold the
    :data:`PHONE_MODEL`, whether a model trained to recognise phones beat it there (whether
    knowing the phones is enough for a model's layers with these scans). Where it did not, a
    transcript carries nothing planted there and cannot tell, and the sentence says so.

    Parameters
    ----------
    claim_rows : :func:`analysis.demo.claims.evaluate`'s output for one world
    reach_rows : :func:`against_random`'s output for the same world
    truth : the world's :func:`analysis.demo.world.load_truth`

    Returns
    -------
    list of str, empty when no such claim was missed
    """
    rows = {r["claim"]: r for r in claim_rows}
    regions = [str(region) for region in truth["regions"]]
    phonetic = list(truth["levels"]).index("phonetic")
    lines = []
    for claim in claims.CLAIMS:
        row = rows.get(claim.name)
        if ((claim.better, claim.worse) != ("native", "random") or row is None
                or not row["planted"] or row["detected"]):
            continue
        region = claim.regions[0]
        text = (f"{claim.name} was missed (native {row['better']:.4f}, random "
                f"{row['worse']:.4f}, p = {row['p']:.3g}); ")
        if truth["region_level_share"][regions.index(region), phonetic] <= 0:
            lines.append(text + f"no phonetic level was planted in {region}, so a phone "
                         "transcript cannot tell whether it was within reach.")
            continue
        transcripts = sorted((r for r in reach_rows if r["region"] == region
                              and r["accuracy"] is not None), key=lambda r: -r["accuracy"])
        beating = []
        for reach in transcripts:  # from the most accurate down, until one fails
            if not reach["detected"]:
                break
            beating.append(reach)
        phone_model = next((r for r in reach_rows if r["region"] == region
                            and r["reference"] == PHONE_MODEL), None)
        if not beating:
            lines.append(text + "not even a perfect phone transcript beats the random model "
                         "there with these listeners and scans"
                         + _phone_model_clause(phone_model) + ".")
            continue
        least = beating[-1]
        text += (f"a phone transcript right on {least['accuracy']:.0%} of the phones (and every "
                 f"more accurate one) beats the random model there ({least['score']:.4f}, "
                 f"{least['mean_difference']:+.4f}, p = {least['p']:.3g}): within reach of "
                 "these listeners and scans for a design that knew the phones that well")
        if len(beating) < len(transcripts):
            failed = transcripts[len(beating)]
            text += (f"; right on {failed['accuracy']:.0%}, it does not "
                     f"({failed['mean_difference']:+.4f}, p = {failed['p']:.3g})")
        lines.append(text + _phone_model_clause(phone_model) + ".")
    return lines


def _phone_model_clause(row: dict | None) -> str:
    """The end of a verdict: what the :data:`PHONE_MODEL` row of its region says ("" without
    one)."""
    if row is None:
        return ""
    numbers = (f"({row['score']:.4f} against {row['random']:.4f}, "
               f"{row['mean_difference']:+.4f}, p = {row['p']:.3g})")
    if row["detected"]:
        return (f"; a model trained to recognise phones beats the random model there too "
                f"{numbers}: the self-supervised models miss what a model of their size can "
                "learn")
    return (f"; a model trained to recognise phones does not beat the random model there "
            f"either {numbers}: knowing the phones is not enough for a model's layers with "
            "these listeners and scans, so training the self-supervised models until they "
            "knew the phones as well would not make the claim appear")
