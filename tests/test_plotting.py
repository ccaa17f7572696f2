import matplotlib
import numpy as np
import pytest

from analysis.plotting import plot_cortex, plot_layer_curve

matplotlib.use("Agg")


def test_layer_curve_marks_both_parts():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    plot_layer_curve(ax, np.arange(19), np.linspace(0, 0.03, 19), np.full(19, 0.002),
                     np.zeros(19), n_conv=7)
    texts = [t.get_text() for t in ax.texts]
    assert "convolutional" in texts and "transformer" in texts
    plt.close(fig)


def test_cortex_map_draws_every_view_with_one_colour_scale():
    values = np.random.default_rng(0).uniform(-0.1, 0.3, 20484)
    values[:100] = np.nan
    fig = plot_cortex(values, vmax=0.3)
    assert len(fig.axes) == 5  # 4 views and the colour bar
    colorbar = fig.axes[-1]
    assert colorbar.get_ylim() == pytest.approx((0.0, 0.3))
    with pytest.raises(ValueError, match="20484"):
        plot_cortex(np.zeros(10))
