import hashlib
import logging
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest

from analysis.cli import main
from analysis.datasets import download
from analysis.datasets.download import DownloadError, OfflineError, RemoteFile


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


def test_offline_fetch_fails_at_once_naming_the_host(no_dns, tmp_path, monkeypatch):
    monkeypatch.delenv("ANALYSIS_LPP_BASE_URL", raising=False)
    f = RemoteFile("participants.json", 10, "0" * 32)
    started = time.monotonic()
    with pytest.raises(OfflineError, match=r"^cannot resolve s3.amazonaws.com \(.*\): no "
                                           r"network\?.*profile='demo'") as error:
        download.fetch([f], tmp_path, progress=False)
    elapsed = time.monotonic() - started
    assert elapsed < 1, elapsed  # the requirement is 10 s; no retry, no backoff
    assert error.value.host == "s3.amazonaws.com" and no_dns == ["s3.amazonaws.com"]
    assert "\n" not in str(error.value)


def test_offline_cli_fetch_prints_one_line(no_dns, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ANALYSIS_LPP_BASE_URL", raising=False)
    started = time.monotonic()
    code = main(["fetch", "lpp", "--participants", "EN057", "--sections", "1",
                 "--data-home", str(tmp_path)])
    assert code == 1 and time.monotonic() - started < 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("error: cannot resolve s3.amazonaws.com"), err
    assert not (tmp_path / "lpp").exists() or not list((tmp_path / "lpp").rglob("*.part"))


def test_a_name_that_stops_resolving_is_not_retried(no_dns, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(download, "probe", lambda url, timeout=None: None)  # resolved once
    f = RemoteFile("participants.json", 10, "0" * 32)
    with pytest.raises(OfflineError, match="cannot resolve corpus.invalid"):
        download.fetch([f], tmp_path, url="http://corpus.invalid/ds003643", retries=5,
                       progress=False)
    assert no_dns == ["corpus.invalid"]  # asked once: neither urllib3 nor fetch retried
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_probe_gives_up_on_a_name_server_that_does_not_answer(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: time.sleep(5))
    started = time.monotonic()
    with pytest.raises(OfflineError, match="cannot resolve example.org .no answer from the "
                                           "name server in 0.2 s"):
        download.probe("https://example.org/x", timeout=0.2)
    assert time.monotonic() - started < 1


def test_a_connection_reset_is_still_retried(lpp_bucket, tmp_path, monkeypatch, caplog):
    from urllib3.connectionpool import HTTPConnectionPool

    [f] = entries(lpp_bucket, "participants.json")
    original, resets = HTTPConnectionPool._make_request, []

    def reset_once(self, *args, **kwargs):
        if not resets:
            resets.append(1)
            raise ConnectionResetError(104, "Connection reset by peer")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(HTTPConnectionPool, "_make_request", reset_once)
    download.fetch([f], tmp_path, backoff=0.01, progress=False)
    assert resets == [1] and len(lpp_bucket.requests[f.path]) == 1  # the reset never got there
    assert hashlib.md5((tmp_path / f.path).read_bytes()).hexdigest() == f.md5
    assert "Retrying" in caplog.text  # urllib3 retried it


def test_excluded_participants_are_left_out_before_choosing(tmp_path):
    """The shipped checksum list: the paper profile's exclusions (CN018, CN019)."""
    def chosen(**plan):
        return sorted({f.path.split("/")[1] for f in download.plan_lpp(["cn"], kinds=["bold"],
                                                                         **plan)})

    assert len(chosen(n_participants=0)) == 35
    kept = chosen(n_participants=0, excluded=("CN018", "sub-CN019"))
    assert len(kept) == 33 and not {"sub-CN018", "sub-CN019"} & set(kept)
    assert chosen(n_participants=17)[-1] == "sub-CN018"
    assert chosen(n_participants=17, excluded=["CN018", "CN019"])[-1] == "sub-CN020"
    assert "sub-CN018" in chosen(participants=["CN018"], excluded=["CN018"])  # named: kept
    with pytest.raises(ValueError, match="excluded: 'CN18' is not a participant id"):
        chosen(n_participants=1, excluded=["CN18"])


def test_cli_fetch_of_the_paper_profile_plans_no_excluded_file(tmp_path, capsys):
    args = ["fetch", "lpp", "--languages", "cn", "--kinds", "bold", "--dry-run",
            "--data-home", str(tmp_path)]
    assert main(args + ["--profile", "paper"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{33 * 9} files") and "CN018" not in out and "CN019" not in out
    assert main(args) == 0  # lpp: the first three
    assert capsys.readouterr().out.startswith(f"{3 * 9} files")
