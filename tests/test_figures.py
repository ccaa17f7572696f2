import json

import matplotlib
import numpy as np

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
