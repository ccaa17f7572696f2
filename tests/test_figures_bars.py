import matplotlib
import numpy as np
import pandas as pd
import pytest

from analysis.figures.bars import plot_grouped_bars

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
