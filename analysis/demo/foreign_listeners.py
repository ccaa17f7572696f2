"""Beyond the paper: does the native model win by the listener's language or the stimulus's?

The paper reads native > non-native (a model of the listeners' language beats a model of
another language) as a sign of language-specific responses. But its listeners always hear
their own language, so a model of the listener's language is also a model of the stimulus's:
it may carry the stimulus's sounds better (here its phones, spoken by that language's voices)
even in a brain that knows nothing of the language. The contrast that tells the two apart
holds the stimulus fixed and varies what the listener knows: listeners of the stimulus's
language against **foreign listeners**, who hear the same story without knowing its
language.

In the demo world a foreign listener of the English story is a listener of the
``"no-language"`` world (:data:`analysis.demo.listeners.WORLDS`): their cortex responds to the
sound, its pitch and its broad phone classes, and to nothing English. The foreign group is
listeners ``n + 1`` to ``2n`` of a no-language world of ``2n`` listeners, drawn after the
``n`` that the claims test (:func:`foreign_group`), so that the no-language world itself can be
compared with listeners of its own kind and the comparison can fail there.

Each listener's *advantage* in a region is the native model's score minus the non-native
model's, each at the layer best for the other listeners of the same group (as the claims
compute it, :func:`analysis.demo.claims.claim_values`). A world's advantage is *beyond the
stimulus's* when a two-sided Mann-Whitney U test between its listeners and the foreign ones
gives ``p < ALPHA`` and the world's mean advantage is the larger.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from scipy.stats import mannwhitneyu

from analysis.config import Profile
from analysis.datasets import Dataset
from analysis.demo import claims, world

FOREIGN_WORLD = "no-language"  # whose listeners know nothing of the stimulus's language
REGIONS = ("STS", "IFG")  # the regions of the paper's native > non-native claims


def foreign_group(seed: int | None = None, n_listeners: int = world.WORLD_PARTICIPANTS,
                  language: str = "en") -> Dataset:
    """Foreign listeners of the ``language`` story: listeners ``n_listeners + 1`` to
    ``2 * n_listeners`` of a :data:`FOREIGN_WORLD` world of ``2 * n_listeners`` (built on
    first use), who heard the same audio as every world of ``seed``.

    Parameters
    ----------
    seed : the world's seed (default :func:`analysis.demo.world.demo_seed`)
    n_listeners : listeners in the group
    """
    built = world.select(world.named_world(FOREIGN_WORLD, seed=seed,
                                           n_participants=2 * n_listeners), [language])
    drawn_after = built.participants_of(language)[n_listeners:2 * n_listeners]
    return dataclasses.replace(built, participants=drawn_after)


def native_claim(region: str) -> claims.Claim:
    """The paper's native > non-native claim in one region."""
    return claims.Claim(f"native > non-native in {region}", "native", "non-native", (region,))


def advantages(dataset: Dataset, profile: Profile, models: dict[str, str],
               language: str = "en", regions=REGIONS) -> dict[str, np.ndarray]:
    """Each listener's native minus non-native score in each region.

    Parameters
    ----------
    models : condition -> resolved model name; needs ``"native"`` and ``"non-native"``

    Returns
    -------
    dict region -> array of shape (n_listeners,)
    """
    missing = [c for c in ("native", "non-native") if c not in models]
    if missing:
        raise ValueError(f"models: give a model for 'native' and 'non-native'; {missing} "
                         "missing.")
    truth = world.load_truth(dataset)
    names = [str(name) for name in truth["regions"]]
    region = truth[f"{language}_region"]
    core = region >= 0
    fitted = {c: claims.core_scores(dataset, profile, models[c], language, core)
              for c in ("native", "non-native")}
    out = {}
    for name in regions:
        native, non_native = claims.claim_values(native_claim(name), fitted,
                                                 {name: region[core] == names.index(name)})
        out[name] = native - non_native
    return out


def compare(knowing: np.ndarray, foreign: np.ndarray) -> dict:
    """Two-sided Mann-Whitney U test between two groups' advantages (arrays of shape
    (n_listeners,) each): ``statistic``, ``p``, ``mean_difference`` (knowing minus foreign)
    and ``detected`` (``p < ALPHA`` and a positive mean difference)."""
    knowing, foreign = np.asarray(knowing, float), np.asarray(foreign, float)
    if len(knowing) < 2 or len(foreign) < 2:
        raise ValueError(f"groups of {len(knowing)} and {len(foreign)} listeners: a test "
                         "between groups needs at least 2 in each.")
    result = mannwhitneyu(knowing, foreign, alternative="two-sided")
    difference = float(knowing.mean() - foreign.mean())
    p = float(result.pvalue)
    return {"statistic": float(result.statistic), "p": p, "mean_difference": difference,
            "detected": bool(p < claims.ALPHA and difference > 0)}


def evaluate(worlds: dict[str, Dataset], foreign: Dataset, profile: Profile,
             models: dict[str, str], language: str = "en") -> list[dict]:
    """Each world's advantage against the foreign listeners', region by region, and the
    foreign listeners' own advantage (the stimulus's share, tested against 0).

    Parameters
    ----------
    worlds : world name -> its listeners of ``language`` (a demo world)
    foreign : :func:`foreign_group`'s output
    models : condition -> resolved model name

    Returns
    -------
    list of dicts, first one per region for the foreign group (``group`` ``"foreign"``:
    ``advantage``, its Wilcoxon test against 0 by :func:`analysis.demo.claims.test`), then
    one per world and region: ``group`` (the world's name), ``region``, ``planted`` and
    ``why`` (the world's native > non-native claim in that region,
    :func:`analysis.demo.claims.planted`), ``advantage`` and ``foreign_advantage`` (the
    groups' mean advantages), ``n`` and ``n_foreign`` (listeners), and :func:`compare`'s
    ``statistic``, ``p``, ``mean_difference`` and ``detected``; every row also holds
    ``advantages``, its group's advantage per listener (a list of n floats)
    """
    theirs = advantages(foreign, profile, models, language)
    rows = [{"group": "foreign", "region": name, "advantage": float(values.mean()),
             "n": len(values), "advantages": values.round(5).tolist(),
             **claims.test(values, np.zeros_like(values))}
            for name, values in theirs.items()]
    for group, dataset in worlds.items():
        truth = world.load_truth(dataset)
        for name, values in advantages(dataset, profile, models, language).items():
            was_planted, why = claims.planted(native_claim(name), truth)
            rows.append({"group": group, "region": name, "planted": was_planted, "why": why,
                         "advantage": float(values.mean()),
                         "foreign_advantage": float(theirs[name].mean()), "n": len(values),
                         "n_foreign": len(theirs[name]), "advantages": values.round(5).tolist(),
                         **compare(values, theirs[name])})
    return rows


def verdicts(rows: list[dict]) -> list[str]:
    """One sentence for the foreign listeners and one per world: where the native model's
    advantage is the stimulus's, and where a world's goes beyond it, with the numbers."""
    foreign = [r for r in rows if r["group"] == "foreign"]
    lines = ["foreign listeners (" + str(foreign[0]["n"]) + "): the native model's advantage "
             + "; ".join(f"{r['region']} {r['advantage']:+.4f} (p = {r['p']:.3g}, "
                         + ("detected" if r["detected"] else "not detected") + ")"
                         for r in foreign)
             + ", what a model of the stimulus's language gains without the listener knowing "
             "it."]
    for group in dict.fromkeys(r["group"] for r in rows if r["group"] != "foreign"):
        own = [r for r in rows if r["group"] == group]
        parts = [f"{r['region']} {r['advantage']:+.4f} against {r['foreign_advantage']:+.4f} "
                 f"(p = {r['p']:.3g}; " + ("planted" if r["planted"] else "not planted")
                 + ", " + ("beyond the stimulus's" if r["detected"] else "not beyond it") + ")"
                 for r in own]
        lines.append(f"{group} world ({own[0]['n']} listeners): " + "; ".join(parts) + ".")
    return lines
