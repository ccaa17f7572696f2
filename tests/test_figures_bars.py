import matplotlib
import numpy as np
import pandas as pd
import pytest

from analysis.figures.bars import NO_HUMAN_DATA, plot_grouped_bars, plot_human_abx

matplotlib.use("Agg")


def test_grouped_bars_draw_every_bar_and_bracket():
    import matplotlib.pyplot as plt

    bars = pd.DataFrame({"region": ["r1", "r1", "r2", "r2"], "model": ["a", "b"] * 2,
                         "mean": [0.1, 0.2, 0.05, np.nan], "ci_low": [0.05, 0.15, 0.0, np.nan],
                         "ci_high": [0.15, 0.25, 0.1, np.nan]})
    tests = pd.DataFrame({"region": ["r1", "r2"], "a": "a", "b": "b", "p": [1e-5, np.nan],
                          "stars": ["****", "n.s."]})
    fig, ax = plt.subplots()
    plot_grouped_bars(ax, bars, tests, annotate="p")
    assert len(ax.patches) == 4
    assert sorted(t.get_text() for t in ax.texts) == ["p n/a", "p=1e-05"]
    fig2, ax2 = plt.subplots()
    plot_grouped_bars(ax2, bars, tests, order=["b", "a"])
    assert sorted(t.get_text() for t in ax2.texts) == ["****", "n.s."]
    assert [t.get_text() for t in ax2.get_legend().get_texts()] == ["b", "a"]
    with pytest.raises(ValueError, match="annotate='x'"):
        plot_grouped_bars(ax, bars, annotate="x")
    plt.close(fig)
    plt.close(fig2)


def test_human_abx_draws_the_listeners_or_says_there_are_none():
    import matplotlib.pyplot as plt

    fig, (empty, full) = plt.subplots(1, 2)
    plot_human_abx(empty, None, title="A. Humans")
    assert empty.get_title() == "A. Humans (no data offline)"
    assert [t.get_text() for t in empty.texts] == [NO_HUMAN_DATA] and not empty.patches
    human = {"mean": {"native": 0.8, "non-native": 0.7},
             "ci": {"native": (0.75, 0.85), "non-native": (0.65, 0.75)}, "p": 0.001,
             "stars": "**", "n_listeners": 12}
    plot_human_abx(full, human, {"native": "C3", "non-native": "C1"}, title="A. Humans")
    assert full.get_title() == "A. Humans (12 listeners)" and len(full.patches) == 2
    assert full.get_ylim()[0] == 0.4 and "**" in [t.get_text() for t in full.texts]
    plt.close(fig)


def test_grouped_bars_take_their_title():
    import matplotlib.pyplot as plt

    bars = pd.DataFrame({"region": ["r"], "model": ["a"], "mean": [0.1], "ci_low": [0.0],
                         "ci_high": [0.2]})
    fig, ax = plt.subplots()
    assert plot_grouped_bars(ax, bars, title="B. Title") is ax and ax.get_title() == "B. Title"
    plt.close(fig)
