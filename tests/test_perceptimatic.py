import hashlib

import numpy as np
import pandas as pd
import pytest

from analysis import perceptimatic
from lpp_miniature import LocalBucket


def fake_release(folder, n_listeners=8, seed=0):
    """A release with the real file's columns: English listeners better on EN triplets."""
    rng = np.random.default_rng(seed)
    rows = []
    for listener in range(n_listeners):
        for t in range(40):
            stimulus = "EN" if t % 2 else "FR"
            p_right = 0.8 if stimulus == "EN" else 0.6
            answer = 1 if rng.random() < p_right else -1
            rows.append({"individual": listener, "language": "english",
                         "filename": f"{stimulus}{100 + t}", "TGT": "p", "OTH": "b",
                         "correct_answer": 3 * answer, "binarized_answer": answer,
                         "nb_stimuli": t})
    path = folder / perceptimatic.FILENAME
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def served(tmp_path, monkeypatch):
    root = tmp_path / "server" / "DATA"
    root.mkdir(parents=True)
    path = fake_release(root)
    with LocalBucket(tmp_path / "server") as bucket:
        monkeypatch.setenv("ANALYSIS_PERCEPTIMATIC_URL",
                           f"{bucket.url}/DATA/{perceptimatic.FILENAME}")
        yield bucket, hashlib.md5(path.read_bytes()).hexdigest(), path.stat().st_size


def test_release_downloaded_once_and_verified(served):
    bucket, md5, size = served
    path = perceptimatic.fetch(md5=md5, size=size)
    assert path == perceptimatic.release_path() and path.stat().st_size == size
    assert not path.with_name(path.name + ".part").exists()
    perceptimatic.fetch(md5=md5)  # present: not downloaded again
    assert len(bucket.requests[f"DATA/{perceptimatic.FILENAME}"]) == 1


def test_a_release_with_another_checksum_is_refused_and_not_kept(served):
    with pytest.raises(perceptimatic.PerceptimaticError, match="MD5 .* instead of 0+"):
        perceptimatic.fetch(md5="0" * 32)
    path = perceptimatic.release_path()
    assert not path.exists() and not path.with_name(path.name + ".part").exists()


def test_unreachable_server_says_what_to_do(monkeypatch):
    monkeypatch.setenv("ANALYSIS_PERCEPTIMATIC_URL", "http://127.0.0.1:9/none.csv")
    with pytest.raises(perceptimatic.PerceptimaticError, match="run once with internet"):
        perceptimatic.fetch(retries=0)


def test_human_accuracy_native_above_non_native(served):
    result = perceptimatic.human_abx()
    per = result["per_listener"]
    assert result["n_listeners"] == 8 and (per.n_native == 20).all()
    assert result["mean"]["native"] == pytest.approx(per.native.mean())
    assert result["mean"]["native"] > result["mean"]["non-native"]
    low, high = result["ci"]["native"]
    assert low <= result["mean"]["native"] <= high
    assert result["p"] < 0.05 and result["stars"] != "n.s."


def test_a_file_without_the_columns_is_refused(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(perceptimatic.PerceptimaticError, match="not the Perceptimatic"):
        perceptimatic.read_answers(bad)
