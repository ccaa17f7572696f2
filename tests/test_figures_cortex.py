import matplotlib
import numpy as np
import pytest

from analysis.figures.cortex import plot_cortex

matplotlib.use("Agg")


def test_cortex_map_draws_every_view_with_one_colour_scale():
    import matplotlib.pyplot as plt

    values = np.random.default_rng(0).uniform(-0.1, 0.3, 20484)
    values[:100] = np.nan
    fig = plot_cortex(values, vmax=0.3)
    assert len(fig.axes) == 5  # 4 views and the colour bar
    colorbar = fig.axes[-1]
    assert colorbar.get_ylim() == pytest.approx((0.0, 0.3))
    plt.close(fig)
    with pytest.raises(ValueError, match="20484"):
        plot_cortex(np.zeros(10))
