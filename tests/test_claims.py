"""The demo world's claims: what a world planted, how a claim is tested across listeners."""
import numpy as np
import pandas as pd
import pytest

from analysis.demo import claims, foreign_listeners, listeners, planted, references, world
from analysis.regions import ROI_NAMES


def _truth(params: listeners.ListenerParameters) -> dict:
    shares = listeners.region_levels(params)
    return {"levels": np.array(listeners.LEVELS), "regions": np.array(ROI_NAMES),
            "region_level_share": np.array([[shares[r].get(level, 0.0)
                                             for level in listeners.LEVELS]
                                            for r in ROI_NAMES]),
            "language_specific": np.array(params.language_specific)}


def _claim(name: str) -> claims.Claim:
    return next(c for c in claims.CLAIMS if c.name == name)


@pytest.mark.parametrize("name,expected", [
    ("main", {"trained > random in STS": True, "native > non-native in IFG": True,
              "best layer deeper in IFG than A1+A2": True, "non-native > non-speech": True,
              "non-speech > random": True, "trained > random in STG": True}),
    ("no-language", {"trained > random in STS": True, "native > non-native in IFG": False,
                     "native > non-native in STS": False, "non-speech > random": True,
                     "best layer deeper in IFG than A1+A2": True}),
    ("acoustic-only", {name: False for name in (c.name for c in claims.CLAIMS)}),
    ("no-pitch", {"non-speech > random": False, "trained > random in STG": True,
                  "non-native > non-speech": True, "native > non-native in STS": True}),
    ("pitch-only", {"non-speech > random": True, "trained > random in STG": True,
                    "trained > random in IFG": True, "non-native > non-speech": False,
                    "native > non-native in STS": False}),
])
def test_what_a_world_planted_follows_from_how_it_was_built(name, expected):
    built = {"no-pitch": listeners.ListenerParameters(levels=tuple(
                 lv for lv in listeners.LEVELS if lv != "pitch")),
             "pitch-only": listeners.ListenerParameters(levels=("acoustic", "pitch"))}
    truth = _truth(built.get(name) or listeners.WORLDS[name])
    for claim, value in expected.items():
        planted, why = claims.planted(_claim(claim), truth)
        assert planted is value, (claim, why)
        assert why


def test_each_listener_is_scored_at_the_layer_best_for_the_others():
    # 3 layers, 3 listeners, 2 vertices; listener 0 alone peaks at layer 2
    scores = np.zeros((3, 3, 2))
    scores[1, :, :] = 0.2
    scores[2, 0, :] = 0.5
    values = claims.listener_values(scores, np.array([True, True]))
    # listener 0: the others' curves peak at layer 1 (0.2); for listeners 1 and 2 the
    # others' mean peaks at layer 2 (0.25, listener 0's peak), where they score 0
    assert values[0] == pytest.approx(0.2)
    np.testing.assert_allclose(values[1:], [0.0, 0.0])
    with pytest.raises(ValueError, match="at least 2 listeners"):
        claims.listener_values(scores[:, :1], np.array([True, True]))


def test_a_region_depth_is_the_peak_of_each_listener_curve():
    scores = np.zeros((4, 2, 3))
    scores[3, 0] = 0.3
    scores[1, 1, :2] = 0.3
    np.testing.assert_array_equal(claims.listener_depths(scores, np.ones(3, bool)), [3, 1])


def test_a_claim_is_detected_only_with_its_sign_and_p_below_alpha():
    rng = np.random.default_rng(0)
    base = rng.normal(0.05, 0.01, 12)
    up = claims.test(base + 0.01 + rng.normal(0, 0.001, 12), base)
    assert up["detected"] and up["p"] < 0.05 and up["mean_difference"] > 0
    down = claims.test(base - 0.01, base)
    assert down["p"] < 0.05 and not down["detected"]
    noise = claims.test(base + rng.normal(0, 0.01, 12), base)
    assert noise["p"] > 0.05 and not noise["detected"]
    assert claims.test(base, base) == {"statistic": pytest.approx(np.nan, nan_ok=True),
                                       "p": 1.0, "mean_difference": 0.0, "detected": False}


def test_verdicts_and_table_report_every_world():
    rows = [{"claim": c.name, "planted": i < 2, "why": "-", "detected": i in (0, 3),
             "statistic": 1.0, "p": 0.01 if i in (0, 3) else 0.5, "mean_difference": 0.01,
             "better": 0.1, "worse": 0.09, "n": 12, "noise_free_difference": 0.05 - 0.1 * i}
            for i, c in enumerate(claims.CLAIMS)]
    results = {"main": rows, "control": rows}
    lines = claims.verdicts(results)
    assert lines[0].startswith("main world (12 listeners): 1 of 2 planted claims detected")
    assert (f"missed: {claims.CLAIMS[1].name} (difference +0.0100, p = 0.5; without noise at "
            "the example vertices -0.0500)") in lines[0]
    assert f"detected without being planted: {claims.CLAIMS[3].name}" in lines[0]
    frame = claims.table(results)
    assert frame.shape == (len(claims.CLAIMS), 10)
    assert frame.loc[claims.CLAIMS[0].name, ("main", "noise-free")] == pytest.approx(0.05)
    assert bool(frame.loc[claims.CLAIMS[0].name, ("control", "detected")])


@pytest.mark.slow
def test_claims_baseline_and_capture_run_on_a_tiny_world(tiny_demo, tiny_profile):
    models = {"native": "demo-english", "non-native": "demo-french",
              "non-speech": "demo-non-speech", "random": "demo-random"}
    dataset = world.select(tiny_demo, ["en"])
    results = claims.evaluate(dataset, tiny_profile, models)
    assert [r["claim"] for r in results] == [c.name for c in claims.CLAIMS]
    assert all(r["n"] == 2 and 0 <= r["p"] <= 1 for r in results)
    shares = references.acoustic_share(dataset, tiny_profile)
    assert set(shares) == set(ROI_NAMES)
    assert all(np.isfinite(v["share"]) and v["ceiling"] > 0 for v in shares.values())
    capture = claims.level_capture(dataset, tiny_profile, models)
    assert set(capture) == set(models)
    assert set(capture["native"]) == set(listeners.LEVELS)
    assert all(len(v["per_layer"]) == 9 for v in capture["random"].values())
    assert all(np.isfinite(r["noise_free_difference"]) for r in results)
    clean = claims.noise_free_scores(dataset, tiny_profile, "demo-english", "en")
    assert clean.shape == (9, 2, len(ROI_NAMES))
    # without noise the acoustic region is predicted almost perfectly by some layer
    assert clean[:, :, ROI_NAMES.index("A1+A2")].max(axis=0).min() > 0.5
    curves = claims.layer_curves(dataset, tiny_profile, models)
    assert set(curves) == {"bold", "noise-free"}
    assert all(len(v) == 9 for per in curves["noise-free"].values() for v in per.values())
    with pytest.raises(ValueError, match="random"):
        claims.evaluate(dataset, tiny_profile, {k: v for k, v in models.items()
                                                if k != "random"})
    rows = references.against_random(dataset, tiny_profile, models)
    assert [(r["reference"], r["region"]) for r in rows] == [
        (ref, region) for ref in references.REFERENCES for region in claims.SPEECH_REGIONS]
    assert all(np.isfinite(r["score"]) and 0 <= r["p"] <= 1 for r in rows)
    # the random model's side is the claims' own: its value in STG is the claim's "worse"
    stg = next(r for r in results if r["claim"] == "trained > random in STG")
    assert rows[0]["random"] == pytest.approx(stg["worse"])
    # with the phone-supervised model, its rows follow, scored and tested as a claim's model
    reach = references.against_random(dataset, tiny_profile,
                                      {**models, "supervised": "demo-supervised"})
    assert reach[:len(rows)] == rows
    assert [(r["reference"], r["region"]) for r in reach[len(rows):]] == [
        (references.PHONE_MODEL, region) for region in claims.SPEECH_REGIONS]
    as_claim = claims.evaluate(dataset, tiny_profile, {**models, "native": "demo-supervised"})
    for row in reach[len(rows):]:
        claim = next(r for r in as_claim if r["claim"] == f"trained > random in {row['region']}")
        assert row["accuracy"] is None
        assert row["score"] == pytest.approx(claim["better"])
        assert (row["p"], row["mean_difference"]) == pytest.approx((claim["p"],
                                                                    claim["mean_difference"]))
    # the language references need the other language's stimulus: the world with every one
    with pytest.raises(ValueError, match="no fr stimulus"):
        references.against_other_language(dataset, tiny_profile, models)
    tables = references.against_other_language(tiny_demo, tiny_profile, models)
    assert [r["region"] for r in tables] == ["STS", "IFG"]
    assert all(np.isfinite(r["own"]) and np.isfinite(r["other"]) and 0 <= r["p"] <= 1
               for r in tables)
    sts = next(r for r in results if r["claim"] == "native > non-native in STS")
    assert tables[0]["native"] == pytest.approx(sts["better"])
    assert tables[0]["non-native"] == pytest.approx(sts["worse"])
    # foreign listeners: the same two listeners on both sides, so nothing can be beyond
    # their own advantage, which is the claim's native minus non-native
    rows = foreign_listeners.evaluate({"main": dataset}, dataset, tiny_profile, models)
    assert [(r["group"], r["region"]) for r in rows] == [
        ("foreign", "STS"), ("foreign", "IFG"), ("main", "STS"), ("main", "IFG")]
    assert rows[0]["advantage"] == pytest.approx(sts["better"] - sts["worse"])
    for row in rows[2:]:
        assert row["advantage"] == pytest.approx(row["foreign_advantage"])
        assert row["p"] == pytest.approx(1.0) and not row["detected"]
        assert row["planted"] and row["n"] == row["n_foreign"] == 2
    with pytest.raises(ValueError, match="non-native"):
        foreign_listeners.advantages(dataset, tiny_profile, {"native": "demo-english"})


def test_a_missed_claim_is_within_reach_down_to_the_least_accurate_transcript_that_won():
    truth = _truth(listeners.WORLDS["main"])  # phonetic planted in the STG, not the STS/IFG

    def claim(region, detected):
        return {"claim": f"trained > random in {region}", "planted": True, "detected": detected,
                "better": 0.1, "worse": 0.1, "p": 0.5}

    def reach(region, accuracy, detected):
        return {"reference": f"transcript {accuracy}", "accuracy": accuracy, "region": region,
                "score": 0.3, "mean_difference": 0.2 if detected else 0.0,
                "p": 0.001 if detected else 0.9, "detected": detected}

    rows = [claim("STG", False), claim("STS", False), claim("IFG", True)]
    # 0.4 wins again below a loss at 0.6: the least accurate is counted down from the top
    reached = [reach("STG", 1.0, True), reach("STG", 0.4, True), reach("STG", 0.8, True),
               reach("STG", 0.6, False), reach("STS", 1.0, True), reach("IFG", 1.0, True),
               {**reach("STG", None, True), "reference": "spectrum"}]
    lines = references.transcript_verdicts(rows, reached, truth)
    assert len(lines) == 2  # IFG was detected: nothing to say
    assert lines[0].startswith("trained > random in STG") and "right on 80%" in lines[0]
    assert "right on 60%, it does not" in lines[0]
    assert lines[1].startswith("trained > random in STS") and "cannot tell" in lines[1]
    assert "phone" not in lines[0].split("it does not")[1]  # no phone model given: no clause
    lost = [reach("STG", 1.0, False), reach("STG", 0.8, True)]
    assert "not even a perfect" in references.transcript_verdicts(rows[:1], lost, truth)[0]
    # the phone-supervised model's row ends the verdict of its region, either way
    for detected, says in ((False, "does not beat the random model there either"),
                           (True, "beats the random model there too")):
        model = {**reach("STG", None, detected), "reference": references.PHONE_MODEL,
                 "random": 0.1}
        for given in (reached, lost):
            [line] = references.transcript_verdicts(rows[:1], [*given, model], truth)
            assert f"a model trained to recognise phones {says} (0.3000 against 0.1000" in line
            assert line.endswith(".")
    assert references.transcript_verdicts([claim("STG", True)], reached, truth) == []


@pytest.mark.parametrize("name,accuracy", [
    ("phone transcript", 1.0), ("phone transcript, 60 % right", 0.6), ("spectrum", None),
    ("phone transcript, x % right", None), ("phone transcript, 120 % right", None)])
def test_a_transcript_reference_is_named_by_its_accuracy(name, accuracy):
    assert references.transcript_accuracy(name) == accuracy


@pytest.mark.slow
def test_the_phone_transcript_is_the_one_the_phonetic_level_was_planted_from(tiny_world):
    dataset = world.select(tiny_world, ["en"])
    truth = world.load_truth(dataset)
    transcript = references.phone_regressors(dataset, "en")
    n_scans = sum(s.n_scans for s in dataset.stimuli["en"])
    assert transcript.shape == (n_scans, len(truth["en_phone_inventory"]))
    # the planted phonetic components are the transcript minus its projection on the
    # spectrum: exactly linear in (transcript, spectrum, intercept)
    design = np.hstack([transcript, truth["en_acoustic_basis"], np.ones((n_scans, 1))])
    assert n_scans > design.shape[1]
    target = truth["en_regressors_phonetic"]
    residual = target - design @ np.linalg.lstsq(design, target, rcond=None)[0]
    assert (residual ** 2).sum() / (target ** 2).sum() < 1e-6
    # and not linear in the spectrum alone
    spectral = design[:, transcript.shape[1]:]
    residual = target - spectral @ np.linalg.lstsq(spectral, target, rcond=None)[0]
    assert (residual ** 2).sum() / (target ** 2).sum() > 0.5
    # its frames are the planted features' own
    first = dataset.stimuli["en"][0]
    inventory = tuple(str(p) for p in truth["en_phone_inventory"])
    known = planted.learn_language([first.words], [first.phones], inventory)
    categories = [inventory.index(planted.phone_category(p, inventory))
                  for p in first.phones["phone"]]
    np.testing.assert_array_equal(
        references.phone_frames(first, categories, len(inventory)),
        planted.planted_features(first.waveform(), 16000, first.words, first.phones,
                                 known)["phonetic"])
    # a transcript with phones wrong departs from it, the more so the more are wrong
    departure = [np.abs(references.phone_regressors(dataset, "en", accuracy=a) - transcript).mean()
                 for a in (0.8, 0.3)]
    assert 0 < departure[0] < departure[1]
    with pytest.raises(ValueError, match="accuracy"):
        references.phone_regressors(dataset, "en", accuracy=1.5)


@pytest.mark.slow
def test_the_own_language_design_holds_the_planted_levels_and_the_other_does_not(
        tiny_world, monkeypatch):
    truth = world.load_truth(tiny_world)
    own = references.reference_design(tiny_world, "own language", "en")
    other = references.reference_design(tiny_world, "other language", "en")
    with monkeypatch.context() as patched:  # a second call reads both from the cache
        patched.setattr(references, "language_regressors",
                        lambda *args: pytest.fail("recomputed a cached language design"))
        np.testing.assert_array_equal(
            references.reference_design(tiny_world, "own language", "en"), own)
        np.testing.assert_array_equal(
            references.reference_design(tiny_world, "other language", "en"), other)
    n_scans = sum(s.n_scans for s in tiny_world.stimuli["en"])
    assert own.shape[0] == other.shape[0] == n_scans
    assert np.all(own.std(axis=0) > 0) and np.all(other.std(axis=0) > 0)
    # the planted levels above acoustics are that design minus its projection on the
    # spectrum: exactly linear in (own design, spectrum, intercept), not in the other's
    spectrum = np.hstack([truth["en_acoustic_basis"], np.ones((n_scans, 1))])

    def unexplained(design, level):
        target = truth[f"en_regressors_{level}"]
        full = np.hstack([design, spectrum])
        residual = target - full @ np.linalg.lstsq(full, target, rcond=None)[0]
        return (residual ** 2).sum() / (target ** 2).sum()

    for level in ("phonetic", "phonotactic", "lexical", "contextual"):
        assert unexplained(own, level) < 1e-6, level
    # (the phonetic level is not checked on the other side: most English phones are French
    # ones too, which the other language then hears as they are)
    # (on this tiny world's 99 scans the other design's many columns fit much of anything,
    # so the check is that it does not hold the levels exactly, as the own design does)
    for level in ("phonotactic", "lexical", "contextual"):
        assert unexplained(other, level) > 0.01, level
    french = references.known_language(tiny_world, "fr", foreign=True)
    assert references.UNKNOWN_WORD in french.words.vocabulary
    assert references.UNKNOWN_WORD not in french.top_words
    assert len(french.top_words) == planted.TOP_WORDS
    with pytest.raises(ValueError, match="no de stimulus"):
        references.language_regressors(tiny_world, "en", "de")


def test_another_language_hears_a_phone_it_lacks_as_its_commonest_of_the_class():
    def tables(words, phones):
        onsets = np.arange(len(phones)) * 0.1
        word_table = pd.DataFrame({"word": words, "onset": onsets[::2][:len(words)],
                                   "offset": onsets[::2][:len(words)] + 0.2,
                                   "sentence": 0})
        return word_table, pd.DataFrame({"phone": phones, "onset": onsets,
                                         "offset": onsets + 0.1})

    words, phones = tables(["sa", "fa", "sa", "as"], ["s", "a", "f", "a", "s", "a", "a", "s"])
    inventory = planted.phone_categories([phones])
    known = planted.learn_language([words], [phones], inventory)
    frequency = {"s": 3, "f": 1, "a": 4}
    # its own tables are heard as they are
    heard_words, heard_phones = references.heard_as(words, phones, known, frequency)
    assert heard_words["word"].tolist() == words["word"].tolist()
    assert heard_phones["phone"].tolist() == phones["phone"].tolist()
    # another language's: a fricative it lacks is its commonest fricative, a new word unknown
    foreign_words, foreign_phones = tables(["Tsa", "the"], ["T", "'a", "s", "a"])
    heard_words, heard_phones = references.heard_as(foreign_words, foreign_phones, known,
                                                    frequency)
    assert heard_phones["phone"].tolist() == ["s", "'a", "s", "a"]
    assert heard_words["word"].tolist() == [references.UNKNOWN_WORD] * 2
    with pytest.raises(ValueError, match="no nasal"):
        references.heard_as(*tables(["ma"], ["m", "a"]), known, frequency)


def test_a_missed_native_claim_is_read_against_the_languages_tables():
    def claim(region, planted, detected):
        return {"claim": f"native > non-native in {region}", "planted": planted,
                "detected": detected, "better": 0.1, "worse": 0.1, "p": 0.5}

    def tables(region, detected):
        return {"region": region, "own": 0.2, "other": 0.1, "mean_difference": 0.1,
                "p": 0.001 if detected else 0.6, "detected": detected}

    rows = [claim("STS", True, False), claim("IFG", True, False)]
    lines = references.language_verdicts(rows, [tables("STS", True), tables("IFG", False)])
    assert len(lines) == 2
    assert lines[0].startswith("native > non-native in STS was missed") and "within reach" in lines[0]
    assert "out of reach" in lines[1]
    # nothing to say of a detected claim, or of one not planted
    assert references.language_verdicts([claim("STS", True, True), claim("IFG", False, False)],
                                        [tables("STS", True), tables("IFG", True)]) == []
