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
  of the world's listeners and scans.

Each design goes through the same encoding model, folds and penalties as a model's layer,
on every listener's region cores (:func:`design_scores`, cached).
"""
from __future__ import annotations

import hashlib

import numpy as np

from analysis import encoding, scores
from analysis.cache import Cache, source_digest
from analysis.config import Profile, cache_dir
from analysis.datasets import Dataset
from analysis.demo import claims, planted, world
from analysis.demo.oracle import truth_rows
from analysis.regressors import build_regressors

REFERENCE_SCORES = "reference_scores"  # cache stage of the designs' fits
REFERENCES = ("spectrum", "phone transcript")


def phone_regressors(dataset: Dataset, language: str) -> np.ndarray:
    """The phone transcript of every section of ``language``, as regressors: one column per
    phone category of the world's phonetic level (``truth["<L>_phone_inventory"]``), 1 while
    that category is spoken, made regressors like any model feature
    (:func:`analysis.regressors.build_regressors`).

    Returns
    -------
    array of shape (n_scans_total, n_categories), sections stacked in order
    """
    truth = world.load_truth(dataset)
    inventory = tuple(str(p) for p in truth[f"{language}_phone_inventory"])
    stimuli = dataset.stimuli[language]
    known = planted.learn_language([s.words for s in stimuli], [s.phones for s in stimuli],
                                   inventory)
    runs = []
    for stimulus in stimuli:
        phonetic = planted.planted_features(stimulus.waveform(), 16000, stimulus.words,
                                            stimulus.phones, known)["phonetic"]
        times = (np.arange(len(phonetic)) + 0.5) / planted.FEATURE_RATE
        runs.append(build_regressors(phonetic, times, np.arange(stimulus.n_scans) * stimulus.tr))
    return np.vstack(runs)


def reference_design(dataset: Dataset, reference: str, language: str) -> np.ndarray:
    """The regressors of one of :data:`REFERENCES`: array of shape (n_scans_total,
    n_columns)."""
    if reference == "spectrum":
        return world.load_truth(dataset)[f"{language}_acoustic_basis"]
    if reference == "phone transcript":
        return phone_regressors(dataset, language)
    raise ValueError(f"reference={reference!r}: choose one of {REFERENCES}.")


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
    fit = scores.fit_parameters(profile)
    key = {"stage": REFERENCE_SCORES, "code": source_digest(encoding, encoding.ridge),
           "design": hashlib.sha256(np.ascontiguousarray(design).tobytes()).hexdigest()[:20],
           "participants": [p.digest() for p in group],
           "cleaning": scores.cleaning_parameters(profile), **fit}

    def compute():
        Y = np.hstack([scores.responses(p, n_scans, scores.run_trs(stimuli), profile)[:, core]
                       for p in group])
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
    models : condition -> resolved model name; ``"native"`` and ``"random"`` are used

    Returns
    -------
    list of dicts, one per (reference, region of :data:`analysis.demo.claims.SPEECH_REGIONS`):
    ``reference``, ``region``, ``score``, ``native``, ``random`` (means across listeners),
    ``mean_difference`` (reference minus random), ``statistic``, ``p``, ``detected``
    """
    truth = world.load_truth(dataset)
    regions = [str(region) for region in truth["regions"]]
    region = truth[f"{language}_region"]
    core = region >= 0
    fitted = {c: claims.core_scores(dataset, profile, models[c], language, core)
              for c in ("native", "random")}
    out = []
    for reference in REFERENCES:
        designed = design_scores(dataset, profile, reference, language)
        for name in claims.SPEECH_REGIONS:
            inside = region[core] == regions.index(name)
            values = np.nanmean(designed[:, inside], axis=1)
            model = {c: claims.listener_values(f, inside) for c, f in fitted.items()}
            out.append({"reference": reference, "region": name, "score": float(values.mean()),
                        "native": float(model["native"].mean()),
                        "random": float(model["random"].mean()),
                        **claims.test(values, model["random"])})
    return out


def verdicts(claim_rows: list[dict], reach_rows: list[dict]) -> list[str]:
    """One sentence per planted *trained > random* claim a world's listeners missed, saying
    whether the phone transcript beat the random model in that region (the claim was within
    reach of the listeners and scans, not of the models) or did not (out of reach of the
    listeners and scans too).

    Parameters
    ----------
    claim_rows : :func:`analysis.demo.claims.evaluate`'s output for one world
    reach_rows : :func:`against_random`'s output for the same world

    Returns
    -------
    list of str, empty when no such claim was missed
    """
    transcript = {r["region"]: r for r in reach_rows if r["reference"] == "phone transcript"}
    rows = {r["claim"]: r for r in claim_rows}
    lines = []
    for claim in claims.CLAIMS:
        row = rows.get(claim.name)
        if ((claim.better, claim.worse) != ("native", "random") or row is None
                or not row["planted"] or row["detected"]):
            continue
        reach = transcript[claim.regions[0]]
        text = (f"{claim.name} was missed (native {row['better']:.4f}, random "
                f"{row['worse']:.4f}, p = {row['p']:.3g}); the phone transcript scores "
                f"{reach['score']:.4f} there ({reach['mean_difference']:+.4f} over the random "
                f"model, p = {reach['p']:.3g}): ")
        text += ("within reach of these listeners and scans; the demo's models lack the "
                 "phones." if reach["detected"] else
                 "not even a perfect phone recogniser beats the random model with these "
                 "listeners and scans.")
        lines.append(text)
    return lines
