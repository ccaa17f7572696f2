"""The Narratives downloader: checksum list, plan, raw files from a bucket on 127.0.0.1,
derivatives and alignments from a local DataLad release."""
import hashlib
import logging
import subprocess
import sys
import time

import pandas as pd
import pytest

from analysis.cli import main
from analysis.datasets import download, narratives, narratives_datalad, narratives_download
from analysis.datasets.download import UNKNOWN_SIZE, DownloadError, RemoteFile

nd = narratives_download


def md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def entry(pattern: str) -> RemoteFile:
    index = nd.read_index()
    [row] = index[index.path.str.contains(pattern)].itertuples()
    return RemoteFile(row.path, int(row.size), row.md5)


# --- the checksum list and the plan (the shipped list; no network) -----------------------

def test_shipped_index_is_derived_from_the_listing_and_the_copies(shared_narratives, tmp_path):
    out = tmp_path / "index.tsv.gz"
    n = nd.write_index(shared_narratives / "FILE_LISTING_annexed.tsv", shared_narratives, out)
    assert out.read_bytes() == nd.INDEX.read_bytes()  # regenerated, byte for byte
    index = nd.read_index(out)
    assert n == len(index) == 29 + 8 + 2 * 873
    assert index.kind.value_counts().to_dict() == {"raw": 2 * 873, "stimuli": 29, "top": 8}
    listing = pd.read_csv(shared_narratives / "FILE_LISTING_annexed.tsv", sep="\t")
    wavs = index[index.kind == "stimuli"].set_index("path")
    assert (listing.set_index("path").loc[wavs.index, "md5"] == wavs.md5).all()
    # the events and sidecars of milkyway (53 scans) and slumlordreach (18) are not copied
    unknown = index[index["size"] == UNKNOWN_SIZE]
    assert len(unknown) == 2 * (53 + 18) and (unknown.md5 == "").all()
    assert set(unknown.path.str.extract(r"task-([a-z]+)")[0]) == {"milkyway", "slumlordreach"}
    known = index[(index.kind == "raw") & (index["size"] >= 0)].sample(5, random_state=0)
    for row in known.itertuples():
        assert md5(shared_narratives / row.path) == row.md5
    scans = nd.scans(index)
    assert (len(scans), scans.participant.nunique()) == (873, 345)


def test_index_command_names_a_listing_without_its_columns(tmp_path):
    listing = tmp_path / "listing.tsv"
    listing.write_text("path\tsize\nstimuli/x_audio.wav\t1\n")
    with pytest.raises(DownloadError, match="listing.tsv: columns path, size_bytes, md5"):
        nd.write_index(listing, tmp_path, tmp_path / "out.tsv.gz")


def test_plan_selects_participants_tasks_and_kinds():
    plan = nd.plan(participants=["1"], kinds=["raw", "stimuli", "bold", "alignments"])
    assert {f.path for f in plan.raw} == {
        "sub-001/func/sub-001_task-pieman_run-1_events.tsv",
        "sub-001/func/sub-001_task-pieman_run-1_bold.json",
        "sub-001/func/sub-001_task-pieman_run-2_events.tsv",
        "sub-001/func/sub-001_task-pieman_run-2_bold.json",
        "sub-001/func/sub-001_task-tunnel_events.tsv",
        "sub-001/func/sub-001_task-tunnel_bold.json",
        "stimuli/pieman_audio.wav", "stimuli/tunnel_audio.wav"}
    assert len(plan.derived) == 3 * 2 + 2
    assert "derivatives/afni-nosmooth/sub-001/func/sub-001_task-tunnel_space-fsaverage6_hemi-R_" \
           "desc-clean.func.gii" in plan.derived
    assert "stimuli/gentle/pieman/align.json" in plan.derived
    milkyway = nd.plan(tasks=["milkyway", "slumlordreach"], n_participants=2,
                       kinds=["stimuli", "alignments", "atlas"])
    assert {f.path for f in milkyway.raw} == {
        "stimuli/milkywayoriginal_audio.wav", "stimuli/milkywayvodka_audio.wav",
        "stimuli/milkywaysynonyms_audio.wav", "stimuli/slumlordreach_audio.wav"}
    assert {p.split("/")[2] for p in milkyway.derived if "gentle" in p} == {
        "milkywayoriginal", "milkywayvodka", "milkywaysynonyms", "slumlord", "reach"}
    assert set(nd.ATLAS) <= set(milkyway.derived)
    tasks = set(nd.select_scans(nd.read_index()).task)
    assert len(tasks) == 16 and not tasks & set(nd.SKIPPED_TASKS)  # skipped, as the reader
    with pytest.raises(ValueError, match="tasks: nosuchtask are not tasks"):
        nd.plan(tasks=["nosuchtask"])
    with pytest.raises(ValueError, match="participants: sub-999 have no scan"):
        nd.plan(participants=["999"])
    with pytest.raises(ValueError, match="participants: 'x1' is not a participant id"):
        nd.plan(participants=["x1"])
    with pytest.raises(ValueError, match="kinds: 'annotations' is not one of"):
        nd.plan(kinds=["annotations"])


def test_cli_dry_run_shows_the_plan_of_each_profile(tmp_path, capsys):
    args = ["fetch", "narratives", "--kinds", "raw", "--dry-run", "--data-home", str(tmp_path)]
    assert main(args + ["--tasks", "pieman"]) == 0  # lpp: the first three listeners
    out = capsys.readouterr().out
    assert out.startswith("raw files: 12 files")  # two pieman runs of sub-001, -002, -003
    assert main(args + ["--profile", "paper"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"raw files: {2 * 702} files")  # 873 scans less 124 + 24 + 23
    assert "of which 142 have no size nor MD5" in out
    assert main(["fetch", "narratives", "--languages", "en", "--dry-run"]) == 2
    assert "--languages: not an option of `fetch narratives`" in capsys.readouterr().err
    assert main(["fetch", "narratives", "--kinds", "annotations", "--dry-run"]) == 2
    assert main(["fetch", "lpp", "--tasks", "pieman", "--dry-run"]) == 2


def test_cli_fetch_help_explains_the_narratives_options():
    result = subprocess.run([sys.executable, "-m", "analysis", "fetch", "--help"],
                            capture_output=True, text=True, check=True)
    for option in ("--tasks", "--datalad-source", "narratives", "alignments", "atlas"):
        assert option in result.stdout


# --- raw files from the bucket ------------------------------------------------------------

def test_raw_download_then_nothing_to_do(narratives_bucket, narratives_raw, tmp_path, capsys):
    root = narratives_raw[0]
    args = ["fetch", "narratives", "--kinds", "top", "raw", "stimuli", "--profile", "paper",
            "--data-home", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    index = nd.read_index()
    assert len(nd.select_scans(index)) == 10  # 11 scans of the three, less shortscram
    # the top-level files come first; code/scan_exclude.json lists sub-001's two pieman runs
    corpus = tmp_path / "narratives"
    assert ("sub-001", "pieman") in nd.excluded_tasks(corpus)
    assert "left out: the scans of 26 listener-tasks" in out
    assert f"raw files: {8 + 2 * 8 + 8} files" in out  # top, events + sidecars, WAVs
    assert "sub-001_task-pieman" not in out
    fetched = [p for p in corpus.rglob("*") if p.is_file()]
    assert len(fetched) == 8 + 2 * 8 + 8 and not list(corpus.rglob("*.part"))
    for path in fetched:
        assert path.read_bytes() == (root / path.relative_to(corpus)).read_bytes()
    served = sum(len(v) for v in narratives_bucket.requests.values())
    assert main(args) == 0
    assert "to download: 0 files" in capsys.readouterr().out
    assert sum(len(v) for v in narratives_bucket.requests.values()) == served
    # the reader finds every raw file it needs there
    index = narratives.index_scans(corpus)
    assert set(index.participant) == {"sub-001", "sub-016", "sub-023"}
    assert set(index.task[index.participant == "sub-001"]) == {"tunnel"}
    # named participants are kept, excluded or not
    assert main(args + ["--participants", "001"]) == 0
    assert "to download: 4 files" in capsys.readouterr().out  # pieman: 2 runs x 2


def test_interrupted_wav_is_resumed_with_a_range_request(narratives_bucket, tmp_path):
    f = entry("stimuli/tunnel_audio.wav")
    narratives_bucket.faults[f.path] = ["cut"]
    nd.fetch_raw([f], tmp_path, backoff=0.01, progress=False)
    ranges = narratives_bucket.requests[f.path]
    assert len(ranges) == 2 and ranges[0] is None and ranges[1].startswith("bytes=")
    assert md5(tmp_path / f.path) == f.md5


def test_corrupted_once_is_downloaded_again_always_corrupted_fails(narratives_bucket,
                                                                   tmp_path, caplog):
    once, always = entry("sub-001_task-tunnel_events"), entry("sub-023_task-pieman_bold.json")
    narratives_bucket.faults[once.path] = ["corrupt"]
    narratives_bucket.faults[always.path] = ["corrupt"] * 5
    nd.fetch_raw([once], tmp_path, progress=False)
    assert md5(tmp_path / once.path) == once.md5 and "MD5" in caplog.text
    with pytest.raises(DownloadError, match=f"{always.path}.*MD5.*after two downloads"):
        nd.fetch_raw([always], tmp_path, progress=False)
    assert not (tmp_path / always.path).exists()
    assert not (tmp_path / (always.path + ".part")).exists()


def test_missing_file_fails_naming_its_url(narratives_bucket, tmp_path):
    ghost = RemoteFile("sub-001/func/sub-001_task-ghost_events.tsv", 10, "0" * 32)
    with pytest.raises(DownloadError, match=f"{narratives_bucket.url}/{ghost.path}: 404"):
        nd.fetch_raw([ghost], tmp_path, progress=False)
    unlisted = RemoteFile("sub-001/func/sub-001_task-ghost_bold.json", UNKNOWN_SIZE, "")
    with pytest.raises(DownloadError, match=f"{unlisted.path}: 404"):
        nd.fetch_raw([unlisted], tmp_path, progress=False)
    assert not list(tmp_path.rglob("*.json*"))


def test_a_file_without_checksum_is_downloaded_whole_and_a_cut_one_again(
        narratives_bucket, narratives_raw, tmp_path, caplog):
    caplog.set_level(logging.INFO, "analysis")
    path = "sub-023/func/sub-023_task-milkyway_events.tsv"
    f = RemoteFile(path, UNKNOWN_SIZE, "")
    narratives_bucket.faults[path] = ["cut"]
    nd.fetch_raw([f], tmp_path, backoff=0.01, progress=False)
    assert narratives_bucket.requests[path] == [None, None]  # not resumed: started again
    assert (tmp_path / path).read_bytes() == (narratives_raw[0] / path).read_bytes()
    assert not (tmp_path / (path + ".part")).exists()
    assert "no checksum in the list" in caplog.text
    assert download.missing([f], tmp_path) == []  # present: whole, as renamed last


def test_offline_cli_fetch_prints_one_line(no_dns, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ANALYSIS_NARRATIVES_BASE_URL", raising=False)
    started = time.monotonic()
    code = main(["fetch", "narratives", "--participants", "001", "--kinds", "top", "raw",
                 "--data-home", str(tmp_path)])
    assert code == 1 and time.monotonic() - started < 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("error: cannot resolve s3.amazonaws.com"), err
    assert "$ANALYSIS_NARRATIVES_BASE_URL" in err[0]


def test_missing_tools_are_named_with_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(narratives_datalad.shutil, "which", lambda name: None)
    code = main(["fetch", "narratives", "--participants", "001", "--data-home",
                 str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "git-annex (program on PATH)" in err
    assert "apt-get install git-annex" in err and "datalad==" in err
    assert not (tmp_path / "narratives").exists()  # nothing started


# --- derivatives and alignments from a DataLad release ------------------------------------

def test_release_files_are_got_verified_and_linked_for_the_reader(
        narratives_bucket, narratives_release, tmp_path, capsys):
    release, files = narratives_release()
    args = ["fetch", "narratives", "--participants", "001", "023", "--data-home",
            str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    derived = nd.plan(participants=["001", "023"]).derived
    assert len(derived) == 2 * 6 + 2 + 6  # 6 scans, atlas, gentle of 6 stories
    assert f"DataLad release: {len(derived)} files; to get: {len(derived)} files" in out
    corpus, clone = tmp_path / "narratives", tmp_path / "narratives-datalad"
    for path in derived:
        assert (corpus / path).read_bytes() == files[path]  # through the links
    other = "derivatives/afni-nosmooth/sub-016/func/sub-016_task-slumlordreach_space-" \
            "fsaverage6_hemi-L_desc-clean.func.gii"
    assert (clone / other).is_symlink() and not (clone / other).exists()  # not planned: not got
    left, right = narratives.bold_paths(corpus, "sub-023", "milkyway")
    assert left.read_bytes() == files[str(left.relative_to(corpus))] and right.exists()
    assert narratives.read_alignment(narratives.alignment_path(corpus, "milkywayvodka")).shape[0]
    assert main(args) == 0
    assert "to get: 0 files, 0 B" in capsys.readouterr().out


def test_interrupted_release_download_gets_the_rest(narratives_bucket, narratives_release,
                                                    tmp_path, monkeypatch, capsys):
    narratives_release()
    monkeypatch.setattr(narratives_datalad, "BATCH", 4)
    original, calls = narratives_datalad.get, []
    paths = nd.plan(participants=["016"], kinds=["bold", "alignments"]).derived

    def interrupted(dataset, todo, total, progress=True):
        calls.append(len(todo))
        original(dataset, todo[:4], total, progress)  # one batch, then the connection drops
        raise DownloadError("connection lost (simulated)")

    monkeypatch.setattr(narratives_datalad, "get", interrupted)
    args = ["fetch", "narratives", "--participants", "016", "--kinds", "bold", "alignments",
            "--data-home", str(tmp_path)]
    assert main(args) == 1 and "connection lost" in capsys.readouterr().err
    monkeypatch.setattr(narratives_datalad, "get", original)
    assert main(args) == 0
    assert f"to get: {len(paths) - 4} files" in capsys.readouterr().out
    clone = tmp_path / "narratives-datalad"
    assert all((clone / p).exists() for p in paths)
    assert not [p for p in (clone / "derivatives").rglob("*") if p.name.endswith(".part")]


def _corrupt_source(release, relative: str) -> None:
    """Alter the content of an annexed file in the release itself (its key unchanged)."""
    path = (release / relative).resolve()
    path.parent.chmod(0o755)
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))


def test_corrupted_release_file_fails_naming_it_and_is_not_kept(
        narratives_bucket, narratives_release, tmp_path, capsys):
    release, files = narratives_release()
    bad = "derivatives/afni-nosmooth/sub-001/func/sub-001_task-tunnel_space-fsaverage6_hemi-L_" \
          "desc-clean.func.gii"
    _corrupt_source(release, bad)
    code = main(["fetch", "narratives", "--participants", "001", "--kinds", "bold",
                 "--data-home", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and bad.split("/")[-1] in err, err
    clone = tmp_path / "narratives-datalad"
    assert not (clone / bad).exists()  # no content under its name
    good = bad.replace("hemi-L", "hemi-R")
    assert (clone / good).read_bytes() == files[good]


def test_verify_gets_again_a_file_altered_in_the_clone(narratives_bucket, narratives_release,
                                                       tmp_path, capsys, caplog):
    _, files = narratives_release()
    args = ["fetch", "narratives", "--participants", "001", "--kinds", "atlas",
            "--data-home", str(tmp_path)]
    assert main(args) == 0
    clone = tmp_path / "narratives-datalad"
    _corrupt_source(clone, nd.ATLAS[0])
    assert main(args) == 0 and "to get: 0 files" in capsys.readouterr().out  # size: not read
    assert main(args + ["--verify"]) == 0
    assert "to get: 1 files" in capsys.readouterr().out
    assert (clone / nd.ATLAS[0]).read_bytes() == files[nd.ATLAS[0]]
    assert "differs from its git-annex key" in caplog.text


def test_missing_release_files_fail_naming_them(narratives_bucket, narratives_release,
                                                tmp_path, capsys):
    release, _ = narratives_release()
    gone = "stimuli/gentle/tunnel/align.json"
    subprocess.run(["git", "rm", "-q", "tunnel/align.json"], cwd=release / "stimuli/gentle",
                   check=True)
    subprocess.run(["git", "commit", "-qm", "remove"], cwd=release / "stimuli/gentle",
                   check=True)
    subprocess.run(["git", "commit", "-qam", "update"], cwd=release, check=True)
    code = main(["fetch", "narratives", "--participants", "001", "--kinds", "alignments",
                 "--data-home", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and f"not in the Narratives DataLad release" in err and gone in err
    # a file listed by the release whose content no remote has
    dropped = "derivatives/afni-nosmooth/sub-001/func/sub-001_task-tunnel_space-fsaverage6_" \
              "hemi-R_desc-clean.func.gii"
    subprocess.run(["git", "annex", "drop", "--force", "-q", dropped.split("/", 2)[2]],
                   cwd=release / "derivatives/afni-nosmooth", check=True)
    code = main(["fetch", "narratives", "--participants", "001", "--kinds", "bold",
                 "--data-home", str(tmp_path / "other")])
    err = capsys.readouterr().err
    assert code == 1 and dropped.split("/")[-1] in err, err
