import matplotlib
import numpy as np

from analysis.figures.panels import (plot_example_vertex, plot_layer_curve, plot_layer_shares,
                                     plot_mapping_schematic, plot_participants)

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
