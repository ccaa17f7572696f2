import hashlib

import pytest

from analysis import perceptimatic


@pytest.fixture
def served(tmp_path, monkeypatch, perceptimatic_release, serve_folder):
    """A fake release served on 127.0.0.1 where the real one lies: ``(bucket, md5, size)``."""
    root = tmp_path / "server" / "DATA"
    root.mkdir(parents=True)
    path = perceptimatic_release(root)
    bucket = serve_folder(tmp_path / "server")
    monkeypatch.setenv("ANALYSIS_PERCEPTIMATIC_URL",
                       f"{bucket.url}/DATA/{perceptimatic.FILENAME}")
    return bucket, hashlib.md5(path.read_bytes()).hexdigest(), path.stat().st_size


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
