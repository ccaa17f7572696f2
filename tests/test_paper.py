import json
import math

import numpy as np
import pandas as pd
import pytest

from analysis import paper
from analysis.paper import comparison_table


def test_comparison_table_sets_the_paper_beside_the_run():
    table = comparison_table([("peak layer", 13, 12), ("mean R", "≈0.0265", 0.031234),
                              ("sentences", "≈9,200", float("nan"))],
                             profile="demo", model="random",
                             participants=["sub-EN01", "sub-EN02", "sub-EN03", "sub-EN04",
                                           "sub-EN05"])
    assert table.index.tolist() == ["peak layer", "mean R", "sentences"]
    assert list(table.columns) == ["paper", "this run", "profile", "model", "participants"]
    assert table["this run"].tolist() == ["12", "0.03123", "n/a"]
    assert table["paper"].tolist() == ["13", "≈0.0265", "≈9,200"]
    assert table.participants.iloc[0].startswith("5: sub-EN01")
    assert "1 more" in table.participants.iloc[0]
    records = json.loads(json.dumps(table.reset_index().to_dict(orient="records")))
    assert records[0]["quantity"] == "peak layer" and records[0]["profile"] == "demo"
    with pytest.raises(ValueError, match="at least one"):
        comparison_table([], profile="demo", model="random", participants=[])


def test_comparison_table_rows_may_name_their_own_model_and_people():
    table = comparison_table([
        {"quantity": "A: humans", "paper": 0.61, "this_run": "no data offline",
         "model": "humans", "participants": "0 listeners"},
        {"quantity": "C: p", "paper": "<1e-46", "this_run": 2.345e-7, "model": "a vs b"},
        ("C: mean R", 0.033, 0.0312345)], profile="demo", model="demo-english",
        participants=["sub-EN01", "sub-EN02"])
    assert table.model.tolist() == ["humans", "a vs b", "demo-english"]
    assert table.participants.tolist() == ["0 listeners", "2: sub-EN01, sub-EN02",
                                           "2: sub-EN01, sub-EN02"]
    assert table["this run"].tolist() == ["no data offline", "2.345e-07", "0.03123"]
    with pytest.raises(ValueError, match="lacks"):
        comparison_table([{"quantity": "x"}], profile="demo", model="m")
    with pytest.raises(ValueError, match="names no model"):
        comparison_table([("x", 1, 2)], profile="demo")


def test_table_cells_show_numbers_texts_and_gaps_alike():
    table = comparison_table([("a", 1234567, None), ("b", np.float32(0.5), True),
                              ("c", np.int64(3), np.nan)], profile="lpp", model="m")
    assert table["paper"].tolist() == ["1,234,567", "0.5", "3"]
    assert table["this run"].tolist() == ["n/a", "True", "n/a"]
    assert table.participants.tolist() == ["none"] * 3


def test_the_paper_numbers_add_up():
    assert paper.FIG1["all"] == sum(paper.FIG1["listeners"].values())
    assert set(paper.FIG2["B"]) == set(paper.FIG3["C"]) == {"A1+A2", "STG", "STS", "IFG"}
    conditions = {"native", "non-native", "non-speech", "random"}
    assert set(paper.FIG4["B"]) == conditions
    assert all(set(values) == conditions for values in paper.FIG4["C"].values())


def summary(hours):
    return pd.DataFrame({"hours": hours, "sentences": [np.nan] * len(hours)},
                        index=pd.Index(["en", "fr"][:len(hours)], name="language"))


def test_fig1_rows():
    corpus = pd.Series({"en": 49, "fr": 28, "cn": 35})
    rows = paper.fig1_rows(corpus, summary([1.5, 1.75]), [0.5, 0.25, 0.123])
    assert [row[0] for row in rows] == [
        "listeners: French", "listeners: English (with Narratives in the paper)",
        "listeners: Mandarin", "listeners: all", "hours of speech", "sentences",
        "R of the three example vertices"]
    assert [row[1] for row in rows] == [28, 351, 33, 412, "8 h 30", "≈9,200",
                                        "0.59, 0.29, 0.66"]
    assert [row[2] for row in rows[:5]] == [28, 49, 35, 112, "3 h 15"]
    assert math.isnan(rows[5][2]) and rows[6][2] == "0.50, 0.25, 0.12"
    sentences = summary([1.0, 1.0]).assign(sentences=[10.0, 20.0])
    assert paper.fig1_rows(corpus[["en"]], sentences, [])[2][2] is None  # no Mandarin
    assert paper.fig1_rows(corpus, sentences, [])[5][2] == 30


def test_fig1_hours_just_below_a_whole_hour_carry_it():
    rows = paper.fig1_rows(pd.Series({"en": 1}), summary([1.0, 0.99999]), [])
    assert rows[4][2] == "2 h 00"


def test_fig2_rows():
    regions = ["A1+A2", "STG", "STS", "IFG"]
    bars_b = pd.DataFrame({"region": np.repeat(regions, 2), "model": ["random", "trained"] * 4,
                           "mean": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]})
    labels = ["untrained", "supervised", "self-supervised"]
    bars_c = pd.DataFrame({"region": "whole brain", "model": labels,
                           "mean": [0.01, 0.02, 0.03]})
    tests_c = pd.DataFrame({"a": ["untrained", "supervised"],
                            "b": ["supervised", "self-supervised"], "p": [1e-3, 0.2]})
    models = {"untrained": "random", "supervised": "supervised",
              "self-supervised": "english"}
    layers = {"untrained": 7, "supervised": 14, "self-supervised": 15}
    rows = paper.fig2_rows(bars_b, bars_c, tests_c, models, layers)
    assert [r["quantity"] for r in rows] == [
        f"B: {region}, {model} (mean R)" for region in regions
        for model in ("random", "trained")] + [
        f"C: whole brain, {label} (mean R)" for label in labels] + [
        "C: p, untrained vs supervised", "C: p, supervised vs self-supervised"]
    assert [r["this_run"] for r in rows] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8,
                                             0.01, 0.02, 0.03, 1e-3, 0.2]
    assert [r["paper"] for r in rows] == [0.087, 0.10, 0.044, 0.059, 0.028, 0.042, 0.021,
                                          0.033, 0.023, 0.031, 0.033, "<1e-46", "<1e-6"]
    assert [r["model"] for r in rows[:2]] == ["random (layer 7)", "english (layer 15)"]
    assert [r["model"] for r in rows[8:]] == [
        "random (layer 7)", "supervised (layer 14)", "english (layer 15)",
        "random vs supervised", "supervised vs english"]


def shares_table(rows):
    """Region -> (share of layers 0..3, n_vertices), as layers.layer_shares gives them."""
    return pd.DataFrame.from_dict({region: {**dict(zip(range(4), shares)), "n_vertices": n}
                                   for region, (shares, n) in rows.items()}, orient="index")


def test_fig3_rows():
    mean_r = np.array([0.010, 0.012, 0.030, 0.020])
    shares = shares_table({"A1+A2": ([60.0, 40.0, 0.0, 0.0], 5),
                           "STG": ([np.nan] * 4, 0),
                           "STS": ([0.0, 10.0, 70.0, 20.0], 10),
                           "IFG": ([0.0, 0.0, 25.0, 75.0], 4)})
    rows = paper.fig3_rows(2, mean_r, 2, shares)
    assert rows == [
        ("B: layer with the highest mean R", 13, 2),
        ("B: highest mean R", 0.0265, 0.03),
        ("B: mean R, convolutional layers (range)", "0.011-0.018", "0.010-0.012"),
        ("B: mean R, transformer layers (range)", "0.018-0.027", "0.020-0.030"),
        ("C: A1+A2, modal best layer (share)", "layer 7 (67 %)", "layer 0 (60 %)"),
        ("C: STG, modal best layer (share)", "layer 13 (38 %)", "no vertex kept"),
        ("C: STS, modal best layer (share)", "layer 13 (54 %)", "layer 2 (70 %)"),
        ("C: IFG, modal best layer (share)", "layer 13 (34 %)", "layer 3 (75 %)")]
    convolutional_only = paper.fig3_rows(1, mean_r[:2], 2, shares)
    assert [row[0] for row in convolutional_only[:3]] == [row[0] for row in rows[:3]]
    assert len(convolutional_only) == len(rows) - 1  # no transformer range


def test_fig4_rows():
    order = ["native", "non-native", "non-speech", "random"]
    regions = ["A1+A2", "STS", "IFG", "motor"]
    human = {"mean": {"native": 0.7, "non-native": 0.6}, "n_listeners": 8}
    abx_bars = pd.DataFrame({"model": order, "mean": [0.9, 0.8, 0.7, 0.6]})
    abx_table = pd.DataFrame({"condition": ["native", "native", "non-native", "non-speech",
                                            "random"],
                              "model": ["english", "french", "french", "non-speech",
                                        "random"]})
    bars_c = pd.DataFrame({"region": np.repeat(regions, 4), "model": order * 4,
                           "mean": np.arange(16) / 100})
    models = dict(zip(order, ["french", "english", "non-speech", "random"]))
    layers = dict(zip(order, [8, 9, 10, 11]))
    rows = paper.fig4_rows(human, abx_bars, abx_table, 12, bars_c, models, layers)
    assert [r["quantity"] for r in rows] == [
        "A: humans, native (ABX accuracy)", "A: humans, non-native (ABX accuracy)"] + [
        f"B: {c} (ABX accuracy)" for c in order] + [
        f"C: {region}, {c} (mean R)" for region in regions for c in order]
    assert [r["this_run"] for r in rows] == [0.7, 0.6, 0.9, 0.8, 0.7, 0.6] + list(
        np.arange(16) / 100)
    assert [r["paper"] for r in rows[:6]] == [0.61, 0.56, 0.85, 0.84, 0.73, 0.55]
    assert [r["paper"] for r in rows[6:10]] == [0.187, 0.185, 0.176, 0.157]
    assert [r["participants"] for r in rows[:3]] == ["8 listeners", "8 listeners",
                                                     "12 contrasts"]
    assert [r["model"] for r in rows[:3]] == ["humans (Perceptimatic)"] * 2 + [
        "english, french"]
    assert rows[6]["model"] == "french (layer 8)" and rows[-1]["model"] == "random (layer 11)"
    offline = paper.fig4_rows(None, abx_bars, abx_table, 12, bars_c, models, layers)
    assert [(r["this_run"], r["participants"]) for r in offline[:2]] == [
        ("no data offline", "0")] * 2
    table = comparison_table(offline, profile="demo", model="unused")
    assert len(table) == len(rows) and table.model.iloc[0] == "humans (Perceptimatic)"


def test_models_table_sets_the_papers_models_beside_the_stand_ins():
    table = paper.models_table({"demo": {"random": "demo-random: untrained"}})
    assert list(table.index) == ["random", "native", "non-native", "non-speech", "supervised"]
    assert table.loc["random", "this book (demo)"] == "demo-random: untrained"
    assert table.loc["native", "this book (demo)"] == "n/a"
    assert table.loc["native", "paper: hours"] == "≈600"
