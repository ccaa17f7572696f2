import hashlib
import logging
import subprocess
import sys

import pandas as pd
import pytest

from analysis.cli import main
from analysis.datasets import download
from analysis.datasets.download import DownloadError, RemoteFile


def entries(bucket, pattern):
    index = download.read_index()
    rows = index[index.path.str.contains(pattern)]
    return [RemoteFile(p, int(s), m) for p, s, m in zip(rows.path, rows["size"], rows.md5)]


def test_full_download_then_nothing_to_do(lpp_bucket, tmp_path, caplog):
    caplog.set_level(logging.INFO, "analysis")
    files = download.plan_lpp(n_participants=0)
    index = download.read_index()
    assert len(files) == len(index)  # the whole miniature: 6 participants, 3 languages
    got = download.fetch(files, tmp_path / "lpp", progress=False)
    assert len(got) == len(files)
    for f in files:
        assert hashlib.md5((tmp_path / "lpp" / f.path).read_bytes()).hexdigest() == f.md5
    assert not list((tmp_path / "lpp").rglob("*.part"))
    assert any("downloaded" in r.message and "/s" in r.message for r in caplog.records)
    served = sum(len(v) for v in lpp_bucket.requests.values())
    assert download.fetch(files, tmp_path / "lpp", progress=False) == []
    assert sum(len(v) for v in lpp_bucket.requests.values()) == served  # no request at all


def test_interrupted_download_is_resumed_with_a_range_request(lpp_bucket, tmp_path):
    [f] = entries(lpp_bucket, "sub-EN061.*run-09")
    lpp_bucket.faults[f.path] = ["cut"]
    download.fetch([f], tmp_path, backoff=0.01, progress=False)
    ranges = lpp_bucket.requests[f.path]
    assert len(ranges) == 2 and ranges[0] is None
    start = int(ranges[1].removeprefix("bytes=").removesuffix("-"))  # resumed, not restarted:
    assert f.size // 2 - download.CHUNK < start <= f.size // 2  # what came, less a read
    assert hashlib.md5((tmp_path / f.path).read_bytes()).hexdigest() == f.md5


def test_partial_file_left_by_an_earlier_run_is_resumed(lpp_bucket, lpp_miniature, tmp_path):
    [f] = entries(lpp_bucket, "task-lppFR_section_3.wav")
    part = tmp_path / (f.path + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes((lpp_miniature[0] / f.path).read_bytes()[:1000])
    download.fetch([f], tmp_path, progress=False)
    assert lpp_bucket.requests[f.path] == ["bytes=1000-"]
    assert (tmp_path / f.path).read_bytes() == (lpp_miniature[0] / f.path).read_bytes()


def test_corrupted_once_is_downloaded_again(lpp_bucket, tmp_path, caplog):
    [f] = entries(lpp_bucket, "sub-FR001.*run-02")
    lpp_bucket.faults[f.path] = ["corrupt"]
    download.fetch([f], tmp_path, progress=False)
    assert len(lpp_bucket.requests[f.path]) == 2
    assert "MD5" in caplog.text
    assert hashlib.md5((tmp_path / f.path).read_bytes()).hexdigest() == f.md5


def test_always_corrupted_fails_naming_the_file_and_keeps_nothing(lpp_bucket, tmp_path):
    [f] = entries(lpp_bucket, "sub-CN032.*run-05")
    lpp_bucket.faults[f.path] = ["corrupt"] * 5
    with pytest.raises(DownloadError, match=f"{f.path}.*MD5.*after two downloads"):
        download.fetch([f], tmp_path, progress=False)
    assert len(lpp_bucket.requests[f.path]) == 2
    assert not (tmp_path / f.path).exists()
    assert not (tmp_path / (f.path + ".part")).exists()


def test_missing_file_fails_naming_its_url(lpp_bucket, tmp_path):
    ghost = RemoteFile("derivatives/sub-EN999/func/ghost.nii.gz", 10, "0" * 32)
    with pytest.raises(DownloadError, match=f"{lpp_bucket.url}/{ghost.path}: 404"):
        download.fetch([ghost], tmp_path, progress=False)
    assert len(lpp_bucket.requests[ghost.path]) == 1  # a 404 is not retried


def test_unreachable_server_fails_after_retries(tmp_path, lpp_miniature, monkeypatch):
    monkeypatch.setenv("ANALYSIS_LPP_INDEX", str(lpp_miniature[1]))
    [f] = entries(None, "participants.json")
    with pytest.raises(DownloadError, match="127.0.0.1:9/participants.json"):
        download.fetch([f], tmp_path, url="http://127.0.0.1:9", retries=1, backoff=0.01,
                       progress=False)


def test_plan_selects_participants_sections_and_kinds(lpp_bucket):
    files = {f.path for f in download.plan_lpp(["en"], ["EN061"], sections=[1, 9],
                                               kinds=["bold", "stimuli"])}
    assert files == {
        "derivatives/sub-EN061/func/sub-EN061_task-lppEN_run-09_space-MNIColin27_desc-"
        "preproc_bold.nii.gz",
        "derivatives/sub-EN061/func/sub-EN061_task-lppEN_run-22_space-MNIColin27_desc-"
        "preproc_bold.nii.gz",
        "stimuli/task-lppEN_section-1.wav", "stimuli/task-lppEN_section-9.wav"}
    firsts = {f.path.split("/")[1] for f in download.plan_lpp(n_participants=1, kinds=["bold"])}
    assert firsts == {"sub-EN057", "sub-FR001", "sub-CN001"}
    with pytest.raises(ValueError, match="sub-EN058"):
        download.plan_lpp(participants=["EN058"])


def test_cli_fetch_shows_the_size_then_downloads(lpp_bucket, tmp_path, capsys):
    args = ["fetch", "lpp", "--participants", "FR002", "--sections", "1", "2",
            "--data-home", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "to download: 12 files" in out  # 2 runs, 2 WAVs, 2 TextGrids, 1 word table, 5 top
    assert (tmp_path / "lpp" / "stimuli/task-lppFR_section_2.wav").exists()
    assert main(args + ["--kinds", "bold"]) == 0
    assert "to download: 0 files" in capsys.readouterr().out
    assert main(["fetch", "lpp", "--participants", "XX001"]) == 2


def test_cli_fetch_help_explains_each_option():
    result = subprocess.run([sys.executable, "-m", "analysis", "fetch", "--help"],
                            capture_output=True, text=True, check=True)
    for option in ("--languages", "--participants", "--profile", "--sections", "--kinds",
                   "--data-home", "--base-url", "--verify", "--retries", "--dry-run"):
        assert option in result.stdout


def test_shipped_index_is_the_listing_of_the_needed_files(shared_lpp, tmp_path):
    out = tmp_path / "index.tsv.gz"
    n = download.write_index(shared_lpp / "FILE_LISTING.tsv", out)
    assert out.read_bytes() == download.INDEX.read_bytes()  # regenerated, byte for byte
    index = download.read_index(out)
    assert n == len(index) == 1008 + 27 + 30 + 5
    assert index.kind.value_counts().to_dict() == {"bold": 1008, "stimuli": 27,
                                                   "annotations": 30, "top": 5}
    listing = pd.read_csv(shared_lpp / "FILE_LISTING.tsv", sep="\t").set_index("path")
    assert (listing.loc[index.path, "md5"].values == index.md5.values).all()


def test_server_copy_shorter_than_listed_fails_naming_the_file(lpp_bucket, tmp_path):
    [f] = entries(lpp_bucket, "participants.json")
    longer = RemoteFile(f.path, f.size + 10, f.md5)
    with pytest.raises(DownloadError, match=f"{f.path}: size {f.size} instead of {f.size + 10}"):
        download.fetch([longer], tmp_path, progress=False)
    assert not (tmp_path / (f.path + ".part")).exists()


def test_verify_downloads_again_a_file_altered_in_place(lpp_bucket, tmp_path):
    [f] = entries(lpp_bucket, "lppFR_section2.TextGrid")
    download.fetch([f], tmp_path, progress=False)
    path = tmp_path / f.path
    path.write_bytes(b"x" * f.size)  # same size, other bytes
    assert download.fetch([f], tmp_path, progress=False) == []  # sizes only: not noticed
    assert download.fetch([f], tmp_path, verify=True, progress=False) == [path]
    assert hashlib.md5(path.read_bytes()).hexdigest() == f.md5
