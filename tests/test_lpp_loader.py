import time

import numpy as np
import pytest

import lpp_miniature as miniature
from analysis import config
from analysis.datasets import load_dataset
from analysis.datasets.lpp import CorpusError
from analysis.datasets.lpp_loader import load_lpp


def quick_lpp(**overrides):
    return config.get_profile("lpp", {"n_participants": 2, "sections": [1, 2], **overrides})


def test_lpp_is_downloaded_on_first_use_then_read_from_the_data_home(lpp_bucket):
    dataset = load_dataset(quick_lpp(), languages=["en"])
    assert not dataset.simulated and dataset.name == "lpp"
    assert [p.id for p in dataset.participants] == ["sub-EN057", "sub-EN061"]
    stimuli = dataset.stimuli["en"]
    assert [(s.section, s.n_scans, s.tr) for s in stimuli] == [(1, 282, 2.0), (2, 298, 2.0)]
    assert len(stimuli[0].words) == 1521 and stimuli[0].waveform().shape == (
        int(miniature.real_audio_seconds("en", 1) * 16000),)
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


def test_a_run_with_a_wrong_volume_count_is_named(lpp_bucket, write_run, tmp_path,
                                                   monkeypatch):
    import hashlib

    import pandas as pd

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


def test_the_lpp_source_loads_the_profile_sections(monkeypatch):
    from analysis.datasets import lpp_loader

    calls = []
    monkeypatch.setattr(lpp_loader, "load_lpp", lambda **kwargs: calls.append(kwargs) or "ds")
    spec = quick_lpp(sections=[3])
    assert lpp_loader.load(spec, ("fr",), 1) == "ds"
    assert calls == [{"languages": ("fr",), "n_participants": 1, "sections": (3,),
                       "excluded": ()}]
    assert load_dataset(spec, languages=["cn"]) == "ds"  # the lpp profile's source
    assert calls[-1] == {"languages": ("cn",), "n_participants": 2, "sections": (3,),
                         "excluded": ()}
    # paper's Le Petit Prince part (its Narratives part: test_narratives_loader)
    assert load_dataset(config.get_profile("paper", {"corpora": ["lpp"]})) == "ds"
    assert calls[-1]["excluded"] == ("CN018", "CN019") and calls[-1]["n_participants"] == 0
    load_dataset(config.get_profile("paper", {"excluded": [], "corpora": ["lpp"]}))
    assert calls[-1]["excluded"] == ()


def test_offline_the_loader_fails_at_once_naming_the_host(lpp_miniature, monkeypatch):
    import socket

    def fail(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setenv("ANALYSIS_LPP_INDEX", str(lpp_miniature[1]))
    monkeypatch.delenv("ANALYSIS_LPP_BASE_URL", raising=False)
    monkeypatch.setattr(socket, "getaddrinfo", fail)
    started = time.monotonic()
    with pytest.raises(CorpusError, match=r"missing under .*s3.amazonaws.com cannot be "
                                          r"resolved: no network\?.*python -m analysis fetch "
                                          r"lpp --languages fr --participants sub-FR001.*"
                                          r"profile='demo'") as error:
        load_dataset(quick_lpp(n_participants=1), languages=["fr"])
    assert time.monotonic() - started < 2 and "\n" not in str(error.value)


def test_words_are_read_only_when_used_and_excluded_listeners_left_out(lpp_bucket,
                                                                       monkeypatch):
    from analysis.datasets import lpp_loader

    reads = []
    real = lpp_loader.read_textgrid
    monkeypatch.setattr(lpp_loader, "read_textgrid", lambda path: reads.append(path) or
                        real(path))
    spec = quick_lpp(n_participants=1, sections=[1, 2], excluded=["CN001"])
    dataset = load_dataset(spec, languages=["cn"])
    assert [p.id for p in dataset.participants] == ["sub-CN032"]  # CN001 left out first
    stimuli = dataset.stimuli["cn"]
    assert reads == [] and not any(s.words_loaded for s in stimuli)  # no TextGrid read
    assert len(stimuli[1].words) > 0 and [p.name for p in reads] == ["lppCN_section2.TextGrid"]
    stimuli[1].words
    assert len(reads) == 1  # kept
