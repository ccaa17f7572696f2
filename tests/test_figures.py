import json

import matplotlib
import numpy as np
import pytest

from analysis.figures import save_figure

matplotlib.use("Agg")


def test_save_figure_writes_picture_and_numbers(tmp_path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    paths = save_figure(fig, "figx", {"panels": {"B": {"mean_r": np.array([0.1, np.nan])}}},
                        profile="demo", output_dir=tmp_path)
    assert paths["png"].stat().st_size > 0 and paths["svg"].stat().st_size > 0
    record = json.loads(paths["json"].read_text())
    assert record == {"figure": "figx", "profile": "demo",
                      "panels": {"B": {"mean_r": [0.1, None]}}}


def test_comparison_table_sets_the_paper_beside_the_run():
    from analysis.figures import comparison_table

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
    from analysis.figures import comparison_table

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


@pytest.mark.slow
def test_fig1_runs_on_the_lpp_miniature(lpp_bucket, tiny_model_dir, tmp_path):
    """Figure 1 under profile="lpp": participants from the corpus's participants.tsv (fetched
    from the local bucket), stimuli from its annotations, example vertices from a tiny model."""
    from analysis import book

    out = tmp_path / "figures"
    overrides = {"n_participants": 1, "sections": [1], "n_folds": 2, "inner_folds": 2,
                 "alphas": [1.0, 100.0, 10000.0]}
    book.execute_notebook(book.notebooks()["fig1"], tmp_path / "fig1.ipynb",
                          {"profile": "lpp", "language": "fr", "model": str(tiny_model_dir),
                           "overrides": overrides, "output_dir": str(out)})
    numbers = json.loads((out / "fig1.json").read_text())
    assert numbers["profile"] == "lpp"
    assert numbers["panels"]["A"]["corpus_participants"] == {"en": 49, "fr": 28, "cn": 35}
    per_language = numbers["panels"]["A"]["per_language"]
    assert per_language["language"] == ["en", "fr", "cn"]
    assert per_language["participants"] == [1, 1, 1]
    assert per_language["sentences"] == [None, None, None]  # not in the lpp annotations
    assert all(h > 0 for h in per_language["hours"]) and all(w > 0 for w in per_language["words"])
    c = numbers["panels"]["C"]
    assert c["participant"] == "sub-FR001" and c["layer"] == 8  # tiny model: 7 conv + 2
    assert len(c["r"]) == 3 and np.isfinite(c["r"]).all()
    assert np.shape(c["observed"]) == np.shape(c["predicted"]) == (3, len(c["times"]))
    assert (out / "fig1.png").exists() and (out / "fig1.svg").exists()
    assert "participants.tsv" in lpp_bucket.requests
