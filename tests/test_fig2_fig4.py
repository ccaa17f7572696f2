"""Figures 2 and 4 under profile="lpp", on the local miniature of the corpus, with tiny saved
models standing for every condition (the Base models' fits take minutes on two cores, and
their path is the demo's)."""
import json

import numpy as np
import pytest

from analysis import book, perceptimatic
from lpp_miniature import LocalBucket
from test_perceptimatic import fake_release

QUICK = {"n_participants": 2, "sections": [1], "n_folds": 2, "inner_folds": 2,
         "alphas": [1.0, 100.0, 10000.0]}


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """Four tiny wav2vec 2.0 models, each with its own weights."""
    from conftest import save_tiny_model

    return {label: str(save_tiny_model(tmp_path_factory.mktemp(f"tiny-{label}"), seed))
            for seed, label in enumerate(["native", "non-native", "non-speech", "random"])}


def run(name, tmp_path, parameters):
    notebook = book.notebooks()[name]
    book.execute_notebook(notebook, tmp_path / f"{name}.ipynb", parameters)
    return json.loads((tmp_path / "figures" / f"{name}.json").read_text())


@pytest.mark.slow
def test_fig2_runs_on_the_lpp_miniature(lpp_bucket, tiny_models, tmp_path):
    conditions = {"untrained": tiny_models["random"], "supervised": tiny_models["non-native"],
                  "self-supervised": tiny_models["native"]}
    numbers = run("fig2", tmp_path, {
        "profile": "lpp", "language": "fr", "conditions": conditions, "regions": "coordinates",
        "overrides": QUICK, "output_dir": str(tmp_path / "figures")})
    assert numbers["participants"] == ["sub-FR001", "sub-FR002"]
    assert numbers["thresholded"] is False  # 2 participants cannot pass a Wilcoxon test
    assert len(numbers["panels"]["A"]["mean_r_per_vertex"]) == 20484
    bars = numbers["panels"]["B"]["bars"]
    assert {b["region"] for b in bars} == {"A1+A2", "STG", "STS", "IFG"}
    assert all(np.isfinite(b["mean"]) for b in bars)
    table = numbers["paper_table"]
    assert table[0]["paper"] == "0.087" and table[0]["profile"] == "lpp"
    assert table[0]["participants"].startswith("2: sub-FR")
    assert (tmp_path / "figures" / "fig2.png").exists()


@pytest.mark.slow
def test_fig4_runs_on_the_lpp_miniature(lpp_bucket, tiny_models, tmp_path, monkeypatch):
    server = tmp_path / "perceptimatic" / "DATA"
    server.mkdir(parents=True)
    fake_release(server)
    with LocalBucket(server.parent) as bucket:
        monkeypatch.setenv("ANALYSIS_PERCEPTIMATIC_URL",
                           f"{bucket.url}/DATA/{perceptimatic.FILENAME}")
        numbers = run("fig4", tmp_path, {
            "profile": "lpp", "language": "fr", "conditions": tiny_models,
            "abx_languages": ["en", "fr"], "regions": "coordinates", "overrides": QUICK,
            "output_dir": str(tmp_path / "figures")})
    human = numbers["panels"]["A"]
    assert human["n_listeners"] == 8 and human["mean"]["native"] > human["mean"]["non-native"]
    abx_bars = numbers["panels"]["B"]["bars"]
    assert [b["model"] for b in abx_bars] == ["native", "non-native", "non-speech", "random"]
    assert all(0 <= b["mean"] <= 1 for b in abx_bars)
    assert {b["region"] for b in numbers["panels"]["C"]["bars"]} == {"A1+A2", "STS", "IFG",
                                                                    "motor"}
    assert len(numbers["panels"]["D"]["code_per_vertex"]) == 20484
    assert numbers["paper_table"][0]["paper"] == "0.61"
    assert numbers["paper_table"][0]["participants"] == "8 listeners"
    assert (tmp_path / "figures" / "fig4.svg").exists()


@pytest.mark.slow
def test_fig4_refuses_a_condition_that_does_not_resolve(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(book.BookError, match=r"conditions\['native'\]"):
        book.execute_notebook(book.notebooks()["fig4"], tmp_path / "fig4.ipynb",
                              {"conditions": {"native": "nowhere", "non-native": "random",
                                              "non-speech": "random", "random": "random"}})
