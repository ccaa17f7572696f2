import json
import time

import numpy as np
import pytest

from analysis import book, config
from analysis.datasets import load_dataset, restrict
from analysis.datasets.lpp import CorpusError, load_lpp


def quick_lpp(**overrides):
    return config.get_profile("lpp", {"n_participants": 2, "sections": [1, 2], **overrides})


def test_lpp_is_downloaded_on_first_use_then_read_from_the_data_home(lpp_bucket):
    dataset = load_dataset(quick_lpp(), languages=["en"])
    assert not dataset.simulated and dataset.name == "lpp"
    assert [p.id for p in dataset.participants] == ["sub-EN057", "sub-EN061"]
    stimuli = dataset.stimuli["en"]
    assert [(s.section, s.n_scans, s.tr) for s in stimuli] == [(1, 282, 2.0), (2, 298, 2.0)]
    assert len(stimuli[0].words) == 1521 and stimuli[0].waveform().shape == (4 * 16000,)
    bold = dataset.participants[1].bold()
    assert bold.shape == (282 + 298, 20484) and bold.dtype == np.float32
    assert 0.5 < np.isfinite(bold).all(axis=0).mean() < 1  # some vertices have no signal
    served = sum(len(v) for v in lpp_bucket.requests.values())
    assert served == 2 * 2 + 2 + 2 + 1  # runs, WAVs, TextGrids, word table
    again = load_dataset(quick_lpp(), languages=["en"])
    assert sum(len(v) for v in lpp_bucket.requests.values()) == served
    assert again.participants[1].bold_paths == dataset.participants[1].bold_paths


def test_without_data_or_network_it_fails_at_once_saying_what_to_run(lpp_miniature,
                                                                     monkeypatch):
    monkeypatch.setenv("ANALYSIS_LPP_INDEX", str(lpp_miniature[1]))
    monkeypatch.setenv("ANALYSIS_LPP_BASE_URL", "http://127.0.0.1:9")  # nothing listens
    started = time.monotonic()
    with pytest.raises(CorpusError, match=r"cannot be reached.*python -m analysis fetch lpp "
                                          r"--languages fr --participants sub-FR001"):
        load_dataset(quick_lpp(n_participants=1), languages=["fr"])
    assert time.monotonic() - started < 5
    with pytest.raises(CorpusError, match="missing.*python -m analysis fetch lpp"):
        load_lpp(languages=["cn"], n_participants=1, download=False)


def test_a_run_with_a_wrong_volume_count_is_named(lpp_bucket, tmp_path, monkeypatch):
    import hashlib

    import pandas as pd
    from lpp_miniature import write_run

    load_dataset(quick_lpp(n_participants=1, sections=[3]), languages=["cn"])
    root = tmp_path / "data" / "lpp"
    [run] = (root / "derivatives" / "sub-CN001" / "func").glob("*.nii.gz")  # section 3 only
    write_run(run, 100, voxel=40)
    with pytest.raises(CorpusError, match=f"missing.*{run.name}"):  # its size is not listed
        load_lpp(languages=["cn"], n_participants=1, sections=[3], download=False)
    index = pd.read_csv(lpp_bucket_index(), sep="\t")  # a corpus whose run breaks the rule
    row = index.path == str(run.relative_to(root))
    index.loc[row, "size"] = run.stat().st_size
    index.loc[row, "md5"] = hashlib.md5(run.read_bytes()).hexdigest()
    index.to_csv(tmp_path / "index.tsv", sep="\t", index=False)
    monkeypatch.setenv("ANALYSIS_LPP_INDEX", str(tmp_path / "index.tsv"))
    with pytest.raises(CorpusError, match=f"{run.name}: 100 volumes.*section 3.*322"):
        load_lpp(languages=["cn"], n_participants=1, sections=[3], download=False)


def lpp_bucket_index():
    import os

    return os.environ["ANALYSIS_LPP_INDEX"]


def test_profile_overrides_are_checked():
    spec = config.get_profile("lpp", {"sections": [2, 1], "n_folds": 3})
    assert spec.sections == (2, 1) and spec.n_folds == 3 and spec.languages == ("en", "fr", "cn")
    with pytest.raises(ValueError, match="'n_subjects'"):
        config.get_profile("lpp", {"n_subjects": 1})
    with pytest.raises(ValueError, match="sections"):
        config.get_profile("lpp", {"sections": [0, 10]})
    with pytest.raises(ValueError, match="n_folds"):
        config.get_profile("lpp", {"n_folds": 1})


def test_demo_world_restricted_to_some_sections(tiny_world):
    two = restrict(tiny_world, [1, 3])
    assert [s.section for s in two.stimuli["en"]] == [1, 3]
    assert two.participants[0].bold_paths == tiny_world.participants[0].bold_paths[0:3:2]
    with pytest.raises(ValueError, match="sections"):
        restrict(tiny_world, [7])


@pytest.mark.slow
def test_fig3_runs_on_the_lpp_miniature(lpp_bucket, tiny_model_dir, tmp_path):
    """The notebook of Figure 3 under profile="lpp", downloading the miniature on first use.
    A tiny saved model keeps it short: the fits of the Base model's 19 layers on 20,484
    vertices per participant take minutes on two cores, and the Base model's path is the
    demo's."""
    out = tmp_path / "figures"
    overrides = {"n_participants": 2, "sections": [1], "n_folds": 2, "inner_folds": 2,
                 "alphas": [1.0, 100.0, 10000.0]}
    book.execute_notebook(book.notebooks()["fig3"], tmp_path / "fig3.ipynb",
                          {"profile": "lpp", "language": "fr", "model": str(tiny_model_dir),
                           "regions": "coordinates", "overrides": overrides,
                           "output_dir": str(out)})
    numbers = json.loads((out / "fig3.json").read_text())
    assert numbers["participants"] == ["sub-FR001", "sub-FR002"]
    assert len(numbers["panels"]["B"]["mean_r"]) == 9  # the tiny model: 7 conv + 2 blocks
    assert np.isfinite(numbers["panels"]["B"]["mean_r"]).all()
    best = np.array(numbers["panels"]["A"]["best_layer_per_vertex"], dtype=float)
    assert best.shape == (20484,)
    assert set(best[np.isfinite(best)]) <= set(range(9))
    assert set(numbers["panels"]["C"]["shares_percent"]) == {"A1+A2", "STG", "STS", "IFG"}
    assert numbers["paper_table"]
    assert (out / "fig3.png").exists()
    served = {path for path, ranges in lpp_bucket.requests.items() if ranges}
    assert "derivatives/sub-FR002/func/sub-FR002_task-lppFR_run-01_space-MNIColin27_desc-" \
           "preproc_bold.nii.gz" in served
