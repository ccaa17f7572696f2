import matplotlib
import numpy as np

import pandas as pd
import pytest

from analysis.figures.panels import (plot_condition_curves, plot_example_vertex,
                                     plot_example_vertices, plot_group_values,
                                     plot_layer_curve, plot_layer_shares,
                                     plot_mapping_schematic, plot_participants, plot_probing,
                                     plot_training_curves)
from analysis.predictions import ExamplePredictions

matplotlib.use("Agg")


def test_layer_curve_marks_both_parts():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    plot_layer_curve(ax, np.arange(19), np.linspace(0, 0.03, 19), np.full(19, 0.002),
                     np.zeros(19), n_conv=7)
    texts = [t.get_text() for t in ax.texts]
    assert "convolutional" in texts and "transformer" in texts
    plt.close(fig)


def test_layer_shares_draw_one_curve_per_region_with_its_count():
    import matplotlib.pyplot as plt
    import pandas as pd

    shares = pd.DataFrame({7: [80.0, 10.0], 8: [20.0, 90.0], "n_vertices": [5, 10]},
                          index=["A1+A2", "IFG"])
    fig, ax = plt.subplots()
    plot_layer_shares(ax, shares, n_conv=7)
    assert [line.get_ydata().tolist() for line in ax.lines] == [[80.0, 20.0], [10.0, 90.0]]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "A1+A2 (5 vertices)", "IFG (10 vertices)"]
    plt.close(fig)


def test_mapping_schematic_draws_the_layers_and_the_mapping():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    wave = np.sin(np.linspace(0, 400, 64000)) * np.linspace(0, 1, 64000)
    plot_mapping_schematic(ax, wave, 16000, "once upon a time …", n_conv=7, n_transformer=12)
    texts = {t.get_text() for t in ax.texts}
    assert {"Convolution 1", "Convolution 7", "Transformer 1", "Transformer 12", "X", "W",
            "Y", "once upon a time …"} <= texts
    assert len(ax.lines) == 1 and len(ax.lines[0].get_xdata()) <= 1500
    plt.close(fig)


def test_example_vertex_shows_the_window_and_its_r():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    times = np.arange(300) * 2.0
    plot_example_vertex(ax, times, np.sin(times), np.cos(times), 0.4567, 10242 + 5,
                        window=220, legend=True)
    assert ax.get_title() == "vertex 5 (right): R = 0.46"
    assert ax.get_xlim() == (0.0, 220.0) and len(ax.lines[0].get_xdata()) == 111
    plt.close(fig)


def test_participants_panel_lists_languages_and_stimuli():
    import matplotlib.pyplot as plt
    import pandas as pd

    summary = pd.DataFrame({"participants": [3, 2], "sections": [9, 9], "hours": [1.5, 1.75],
                            "words": [15000, 14000], "sentences": [np.nan, np.nan]},
                           index=pd.Index(["en", "fr"], name="language"))
    fig, ax = plt.subplots()
    plot_participants(ax, summary, pd.Series({"en": 49, "fr": 28, "cn": 35}),
                      paper={"en": 351})
    texts = [t.get_text() for t in ax.texts]
    assert "n = 112" in texts and "Mandarin" in texts
    assert "n = 49, 3 analysed\n(paper: n = 351)" in texts
    assert "3 h 15 min (en, fr)" in texts and "n/a (not annotated)" in texts
    plt.close(fig)


def test_example_vertices_draw_one_panel_each_with_the_units_and_title_on_the_first():
    import matplotlib.pyplot as plt

    times = np.arange(200) * 2.0
    series = np.random.default_rng(0).normal(size=(200, 3))
    example = ExamplePredictions("sub-1", "en", "m", 9, times, np.array([1, 2, 10243]), series,
                                 series * 0.5, np.array([0.9, 0.5, 0.3]), np.zeros(20484))
    fig, axes = plt.subplots(1, 3)
    plot_example_vertices(axes, example, window=100, title="C. held out")
    assert [ax.get_title() for ax in axes] == ["vertex 1 (left): R = 0.90",
                                               "vertex 2 (left): R = 0.50",
                                               "vertex 1 (right): R = 0.30"]
    assert axes[0].get_ylabel() == "BOLD (robust-scaled)" and axes[0].get_legend()
    assert axes[1].get_legend() is None and "C. held out" in [t.get_text() for t in axes[0].texts]
    with pytest.raises(ValueError, match="3 example vertices"):
        plot_example_vertices(axes[:2], example)
    plt.close(fig)


def test_training_curves_put_each_objective_where_it_belongs():
    import matplotlib.pyplot as plt

    frame = pd.DataFrame({"step": [0, 10], "loss": [4.6, 3.0], "contrastive_loss": [4.0, 2.0],
                          "accuracy": [0.02, 0.3], "perplexity": [60.0, 40.0]})
    fig, axes = plt.subplots(1, 3)
    plot_training_curves(axes, {"ssl": frame, "hubert": frame, "sup": frame},
                         {"ssl": "contrastive", "hubert": "units", "sup": "phones"})
    assert [len(ax.lines) for ax in axes] == [2, 5, 1]  # accuracy: all three, two chances
    assert [t.get_text() for t in axes[1].get_legend().get_texts()] == [
        "ssl", "hubert (units)", "sup (phones)"]
    assert list(axes[0].lines[1].get_ydata()) == [4.6, 3.0]  # units: the loss itself
    assert sorted(line.get_ydata()[0] for line in axes[1].lines[-2:]) == pytest.approx(
        [1 / 100, 1 / 51])
    fig_units, units_axes = plt.subplots(1, 3)
    plot_training_curves(units_axes, {"hubert": frame}, {"hubert": "units"})
    assert not units_axes[2].axison and "contrastive" in units_axes[2].texts[0].get_text()
    plt.close(fig_units)
    with pytest.raises(ValueError, match="three"):
        plot_training_curves(axes[:2], {}, {})
    plt.close(fig)


def test_probing_panels_draw_every_model_and_the_baseline_per_target():
    import matplotlib.pyplot as plt

    rows = [{"model": name, "layer": layer, "target": target, "score": 0.1 * layer}
            for name in ("m1", "m2") for layer in range(3) for target in ("phone", "mel")]
    rows += [{"model": "base", "layer": 0, "target": t, "score": 0.5} for t in ("phone", "mel")]
    fig, axes = plt.subplots(1, 3)
    plot_probing(axes[:2], pd.DataFrame(rows), {"native": "m1", "random": "m2"},
                 {"phone": "accuracy", "mel": "R2"}, "base", legend_ax=axes[2])
    assert [ax.get_title() for ax in axes[:2]] == ["phone", "mel"]
    assert axes[0].get_ylabel() == "accuracy" and len(axes[0].lines) == 4  # 2 models, 2 marks
    assert [t.get_text() for t in axes[2].get_legend().get_texts()] == [
        "native (m1)", "random (m2)", "base baseline"]
    assert not axes[2].axison
    with pytest.raises(ValueError, match="one per target"):
        plot_probing(axes[:1], pd.DataFrame(rows), {}, {"phone": "a", "mel": "b"}, "base")
    plt.close(fig)


def test_condition_curves_draw_each_condition_in_each_region_panel():
    import matplotlib.pyplot as plt

    curves = {"STG": {"native": [0.1, 0.3, 0.2], "random": [0.2, 0.1, 0.1]},
              "IFG": {"native": [0.0, 0.1, 0.2], "random": [0.0, 0.0, 0.1]}}
    fig, axes = plt.subplots(1, 2)
    plot_condition_curves(axes, curves, ylabel="r")
    assert [ax.get_title() for ax in axes] == ["STG", "IFG"]
    drawn = [line for line in axes[1].lines if not line.get_label().startswith("_")]
    assert [line.get_ydata().tolist() for line in drawn] == [[0.0, 0.1, 0.2], [0.0, 0.0, 0.1]]
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == ["native", "random"]
    assert axes[0].get_ylabel() == "r"
    plt.close(fig)


def test_group_values_draw_each_listener_each_mean_and_each_detection():
    import matplotlib.pyplot as plt

    values = {"foreign": [0.01, 0.02, 0.03], "main": [0.05, 0.04], "control": [0.0, 0.02]}
    fig, ax = plt.subplots()
    plot_group_values(ax, values, {"foreign": True, "main": True, "control": False},
                      reference="foreign", ylabel="advantage")
    dots = [c.get_offsets()[:, 1].tolist() for c in ax.collections
            if isinstance(c, matplotlib.collections.PathCollection)]
    assert dots == [[0.01, 0.02, 0.03], [0.05, 0.04], [0.0, 0.02]]
    means = [c.get_segments()[0][0][1] for c in ax.collections
             if isinstance(c, matplotlib.collections.LineCollection)]
    assert means == pytest.approx([0.02, 0.045, 0.01])
    assert sorted(t.get_position()[0] for t in ax.texts if t.get_text() == "*") == [0, 1]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["foreign", "main", "control"]
    assert ax.get_ylabel() == "advantage"
    plt.close(fig)
