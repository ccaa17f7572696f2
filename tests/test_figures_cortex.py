import matplotlib
import numpy as np
import pytest

from analysis.figures.cortex import plot_categories, plot_cortex

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


def test_the_svg_holds_each_view_as_one_image():
    import io

    import matplotlib.pyplot as plt

    fig = plot_cortex(np.linspace(0, 1, 20484), colorbar_label="R")
    svg = io.BytesIO()
    fig.savefig(svg, format="svg")
    plt.close(fig)
    text = svg.getvalue().decode()
    assert text.count("<image") == 5  # one raster per view and the colour bar's gradient
    assert text.count("<path") < 2000  # not 20,484 faces per view


def test_categories_get_one_colour_each_and_their_names_on_the_colour_bar():
    import matplotlib.pyplot as plt

    codes = np.repeat([-1, 0, 1, 2, 3], 20484 // 5 + 1)[:20484].astype(float)
    codes[:10] = np.nan
    fig, axes = plt.subplots(1, 4, subplot_kw={"projection": "3d"}, figsize=(12, 3))
    plot_categories(codes, ["language-\nspecific", "b", "c", "d"], ["C3", "C1", "C2", "0.45"],
                    axes=axes, panel_title="D. A long title " * 12)
    colorbar = fig.axes[-1]
    assert colorbar.get_ylim() == pytest.approx((0.0, 4.0))
    assert [t.get_text() for t in colorbar.get_yticklabels()] == ["language-\nspecific", "b",
                                                                  "c", "d"]
    title = [t for t in fig.texts if t.get_text().startswith("D. A long title")]
    assert len(title) == 1 and title[0].get_wrap()  # wrapped at the figure's edge, not cut
    plt.close(fig)
    fig, axes = plt.subplots(1, 4, subplot_kw={"projection": "3d"})
    plot_categories(np.arange(20484) % 19, list(range(19)), ["k"] * 19, axes=axes, tick_step=5)
    assert [t.get_text() for t in fig.axes[-1].get_yticklabels()] == ["0", "5", "10", "15"]
    with pytest.raises(ValueError, match="4 categories need 4 colours"):
        plot_categories(codes, list("abcd"), ["k"], axes=axes)
    plt.close(fig)


def test_no_face_takes_a_category_that_none_of_its_vertices_has():
    """Isolated vertices of the last category among unlabelled ones: averaging the three
    vertices of a face would paint it with the first category's colour; no face may be."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba

    codes = np.full(20484, -1.0)
    codes[::97] = 3  # isolated vertices, each with unlabelled neighbours
    fig, axes = plt.subplots(1, 2, subplot_kw={"projection": "3d"})
    plot_categories(codes, list("abcd"), ["#ff0000", "#00ff00", "#0000ff", "#ffff00"],
                    axes=axes, views=("lateral",))
    for ax in axes:
        colours = np.concatenate([c.get_facecolor() for c in ax.collections])
        for wrong in ("#ff0000", "#00ff00", "#0000ff"):  # categories 0-2: on no vertex
            assert not np.all(np.isclose(colours[:, :3], to_rgba(wrong)[:3], atol=0.02),
                              axis=1).any()
    plt.close(fig)
