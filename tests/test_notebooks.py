"""The book's notebooks, executed: the figures under profile="lpp" on the local miniature of
the corpus, with tiny saved models standing for every condition (the Base models' fits take
minutes on two cores, and their path is the demo's), and the chapters' checks of their
parameters."""
import json

import numpy as np
import pytest

import narratives_miniature
from analysis import book, perceptimatic

QUICK = {"n_participants": 2, "sections": [1], "n_folds": 2, "inner_folds": 2,
         "alphas": [1.0, 100.0, 10000.0]}
BOTH_CORPORA = {**QUICK, "corpora": ["lpp", "narratives"], "corpus_folds": {"narratives": 3}}


@pytest.fixture(scope="module")
def tiny_models(save_tiny_model):
    """Four tiny wav2vec 2.0 models, each with its own weights."""
    return {label: str(save_tiny_model(seed))
            for seed, label in enumerate(["native", "non-native", "non-speech", "random"])}


@pytest.fixture(scope="module")
def french_home(tmp_path_factory):
    """The data home of the notebooks of the two French listeners (module-wide)."""
    return tmp_path_factory.mktemp("french-listeners")


@pytest.fixture
def shared_home(french_home, isolated_homes, monkeypatch):
    """The French listeners' notebooks share one data home, as the book's chapters share
    theirs: the corpus is downloaded once, and a model's features and fits are computed by
    the first notebook that needs them (figures and build products stay per test)."""
    monkeypatch.setenv("ANALYSIS_DATA_HOME", str(french_home))
    return french_home


def run(name, tmp_path, parameters):
    notebook = book.notebooks()[name]
    book.execute_notebook(notebook, tmp_path / f"{name}.ipynb", parameters)
    return json.loads((tmp_path / "figures" / f"{name}.json").read_text())


@pytest.mark.slow
def test_fig1_runs_on_the_lpp_miniature_with_both_corpora(lpp_bucket, shared_narratives,
                                                          tiny_model_dir, tmp_path):
    """Figure 1 under profile="lpp" with the Narratives corpus beside Le Petit Prince
    (``corpora``): participants from the corpus's participants.tsv (fetched from the local
    bucket), two ``pieman`` listeners of the Narratives miniature (fsaverage6 surfaces, a WAV
    of the real length, their own outer folds), example vertices from a tiny model."""
    narratives_miniature.write_scan_data(narratives_miniature.build_tree(
        tmp_path / "data" / "narratives", {"sub-007", "sub-009"}))
    out = tmp_path / "figures"
    book.execute_notebook(book.notebooks()["fig1"], tmp_path / "fig1.ipynb",
                          {"profile": "lpp", "language": "fr", "model": str(tiny_model_dir),
                           "overrides": BOTH_CORPORA, "output_dir": str(out)})
    numbers = json.loads((out / "fig1.json").read_text())
    assert numbers["profile"] == "lpp"
    assert numbers["participants"] == ["sub-EN057", "sub-EN061", "sub-FR001", "sub-FR002",
                                       "sub-CN001", "sub-CN032", "sub-007", "sub-009"]
    a = numbers["panels"]["A"]
    per_corpus = {(r["corpus"], r["language"]): (r["analysed"], r["in the corpus"])
                  for r in a["per_corpus"]}
    assert per_corpus == {("lpp", "en"): (2, 49), ("lpp", "fr"): (2, 28),
                          ("lpp", "cn"): (2, 35), ("narratives", "en"): (2, 2)}
    assert a["corpus_participants"] == {"en": 51, "fr": 28, "cn": 35}
    per_language = a["per_language"]
    assert per_language["language"] == ["en", "fr", "cn"]
    assert per_language["participants"] == [4, 2, 2]
    assert per_language["sentences"] == [None, None, None]  # not in the lpp annotations
    assert all(h > 0 for h in per_language["hours"]) and all(w > 0 for w in per_language["words"])
    c = numbers["panels"]["C"]
    assert c["participant"] == "sub-FR001" and c["layer"] == 8  # tiny model: 7 conv + 2
    assert numbers["layer_choice"] == "fixed"
    assert a["source"] == ("participants.tsv of OpenNeuro ds003643 + the listeners of "
                           "OpenNeuro ds002345 kept by its default rules")
    assert len(c["r"]) == 3 and np.isfinite(c["r"]).all()
    assert np.shape(c["observed"]) == np.shape(c["predicted"]) == (3, len(c["times"]))
    assert (out / "fig1.png").exists() and (out / "fig1.svg").exists()
    assert "participants.tsv" in lpp_bucket.requests


@pytest.mark.slow
def test_fig2_runs_on_the_lpp_miniature(lpp_bucket, tiny_models, shared_home, tmp_path):
    conditions = {"untrained": tiny_models["random"], "supervised": tiny_models["non-native"],
                  "self-supervised": tiny_models["native"]}
    numbers = run("fig2", tmp_path, {
        "profile": "lpp", "language": "fr", "conditions": conditions, "regions": "coordinates",
        "overrides": QUICK, "output_dir": str(tmp_path / "figures")})
    assert numbers["participants"] == ["sub-FR001", "sub-FR002"]
    assert numbers["thresholded"] is False  # 2 participants cannot pass a Wilcoxon test
    assert numbers["layer_choice"] == "leave-one-participant-out"
    assert all(len(v["layers"]) == 2 for v in numbers["layers"].values())
    assert len(numbers["panels"]["A"]["mean_r_per_vertex"]) == 20484
    bars = numbers["panels"]["B"]["bars"]
    assert {b["region"] for b in bars} == {"A1+A2", "STG", "STS", "IFG"}
    assert all(np.isfinite(b["mean"]) for b in bars)
    table = numbers["paper_table"]
    assert table[0]["paper"] == "0.087" and table[0]["profile"] == "lpp"
    assert table[0]["participants"].startswith("2: sub-FR")
    assert (tmp_path / "figures" / "fig2.png").exists()


@pytest.mark.slow
def test_fig3_runs_on_the_lpp_miniature_with_both_corpora(lpp_bucket, shared_narratives,
                                                          tiny_model_dir, tmp_path):
    """The notebook of Figure 3 under profile="lpp", English listeners of both corpora (Le
    Petit Prince downloaded from the miniature on first use, one Narratives ``pieman``
    listener with its own stimulus and folds). A tiny saved model keeps it short: the
    fits of the Base model's 19 layers on 20,484 vertices per participant take minutes on
    two cores, and the Base model's path is the demo's."""
    narratives_miniature.write_scan_data(narratives_miniature.build_tree(
        tmp_path / "data" / "narratives", {"sub-007"}))
    out = tmp_path / "figures"
    book.execute_notebook(book.notebooks()["fig3"], tmp_path / "fig3.ipynb",
                          {"profile": "lpp", "language": "en", "model": str(tiny_model_dir),
                           "regions": "coordinates", "overrides": BOTH_CORPORA,
                           "output_dir": str(out)})
    numbers = json.loads((out / "fig3.json").read_text())
    assert numbers["participants"] == ["sub-EN057", "sub-EN061", "sub-007"]
    assert len(numbers["panels"]["B"]["mean_r"]) == 9  # the tiny model: 7 conv + 2 blocks
    assert np.isfinite(numbers["panels"]["B"]["mean_r"]).all()
    best = np.array(numbers["panels"]["A"]["best_layer_per_vertex"], dtype=float)
    assert best.shape == (20484,)
    assert set(best[np.isfinite(best)]) <= set(range(9))
    assert set(numbers["panels"]["C"]["shares_percent"]) == {"A1+A2", "STG", "STS", "IFG"}
    assert numbers["paper_table"]
    assert numbers["layer_choice"] == "leave-one-participant-out"
    assert set(numbers["noise_ceiling"]) == {"A1+A2", "STG", "STS", "IFG", "motor"}
    assert all(np.isfinite(v) for v in numbers["noise_ceiling"].values())
    assert (out / "fig3.png").exists()
    served = {path for path, ranges in lpp_bucket.requests.items() if ranges}
    assert any(path.startswith("derivatives/sub-EN061/func/sub-EN061_task-lppEN_run-")
               for path in served)


@pytest.mark.slow
def test_fig4_runs_on_the_lpp_miniature(lpp_bucket, tiny_models, perceptimatic_release,
                                        serve_folder, shared_home, tmp_path, monkeypatch):
    server = tmp_path / "perceptimatic" / "DATA"
    server.mkdir(parents=True)
    perceptimatic_release(server)
    bucket = serve_folder(server.parent)
    monkeypatch.setenv("ANALYSIS_PERCEPTIMATIC_URL",
                       f"{bucket.url}/DATA/{perceptimatic.FILENAME}")
    numbers = run("fig4", tmp_path, {
        "profile": "lpp", "language": "fr", "conditions": tiny_models,
        "abx_languages": ["en", "fr"], "regions": "coordinates", "overrides": QUICK,
        "output_dir": str(tmp_path / "figures")})
    human = numbers["panels"]["A"]
    assert human["n_listeners"] == 8 and human["mean"]["native"] > human["mean"]["non-native"]
    assert numbers["layer_choice"] == "leave-one-participant-out"
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


@pytest.mark.slow
@pytest.mark.parametrize("name,value,message", [("profile", "lpp", "simulated demo world"),
                                                 ("language", "xx", "language='xx'")])
def test_chapter_refuses_a_wrong_parameter_before_computing(tmp_path, name, value, message):
    with pytest.raises(book.BookError, match=message):
        book.execute_notebook(book.notebooks()["demo_world"], tmp_path / "demo_world.ipynb",
                              {name: value})


@pytest.mark.slow
def test_controls_runs_on_the_lpp_miniature(lpp_bucket, tiny_models, shared_home, tmp_path):
    """The acoustic-control chapter under profile="lpp": the acoustic baseline from the
    corpus's audio, two tiny models, each listener's layer per region chosen by the other
    listener, the partition on the regions' vertices."""
    numbers = run("controls", tmp_path, {
        "profile": "lpp", "language": "fr", "model": tiny_models["native"],
        "control": tiny_models["random"], "regions": "coordinates",
        "overrides": QUICK, "output_dir": str(tmp_path / "figures")})
    assert numbers["participants"] == ["sub-FR001", "sub-FR002"]
    for choice in numbers["layers"]["trained"].values():
        assert choice["method"] == "leave-one-participant-out" and len(choice["layers"]) == 2
    rois = numbers["rois"]
    assert set(rois) == {"A1+A2", "STG", "STS", "IFG", "motor"}
    for values in rois.values():
        assert {"baseline_r", "model_r", "joint_r", "unique", "shared", "unique_ci",
                "p_unique", "unique_null"} <= set(values)
        assert np.isfinite([values["baseline_r"], values["model_r"], values["joint_r"],
                            values["unique"], values["shared"], values["unique_null"]]).all()
        assert len(values["unique_ci"]) == 2
    assert "planted_above_acoustic" not in numbers  # real listeners: nothing planted
    assert len(numbers["maps"]["trained"]) == 20484
    assert (tmp_path / "figures" / "controls.png").exists()
