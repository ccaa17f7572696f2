import json

import matplotlib
import numpy as np

from analysis import figures
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
    assert paths["json"].parent == tmp_path and sorted(p.name for p in tmp_path.iterdir()) == [
        "figx.json", "figx.png", "figx.svg"]  # no temporary file left


def test_saved_numbers_are_plain_json(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.setenv("ANALYSIS_BUILD_DIR", str(tmp_path / "build"))
    fig, _ = plt.subplots()
    numbers = {"n": np.int64(3), "r": np.float32(0.1234567891), "missing": float("nan"),
               "nested": {1: (np.arange(2), [np.nan])}}
    paths = save_figure(fig, "figy", numbers, profile="lpp")
    plt.close(fig)
    assert paths["json"] == tmp_path / "build" / "figures" / "figy.json"
    assert json.loads(paths["json"].read_text()) == {
        "figure": "figy", "profile": "lpp", "n": 3, "r": 0.123457, "missing": None,
        "nested": {"1": [[0, 1], [None]]}}


def test_simulated_data_notice_says_so_only_for_simulated_data():
    notice = figures.simulated_data_notice(True)
    assert "Simulated data" in notice.data and 'profile="lpp"' in notice.data
    assert figures.simulated_data_notice(False).data == ""
