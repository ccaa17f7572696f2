import numpy as np

from analysis.cache import Cache, array_digest, key_digest


def test_product_is_computed_once_then_reused(tmp_path):
    cache, calls = Cache(tmp_path), []

    def compute():
        calls.append(1)
        return {"x": np.arange(5.0)}

    first = cache.get("stage", {"a": 1}, compute)
    second = cache.get("stage", {"a": 1}, compute)
    np.testing.assert_array_equal(first["x"], second["x"])
    assert len(calls) == 1
    cache.get("stage", {"a": 2}, compute)
    assert len(calls) == 2


def test_corrupted_product_is_detected_and_recomputed(tmp_path, caplog):
    cache = Cache(tmp_path)
    cache.get("stage", {"a": 1}, lambda: {"x": np.arange(1000.0)})
    data_path, _ = cache.paths("stage", {"a": 1})
    with open(data_path, "wb") as handle:  # a valid file with wrong values: only the
        np.savez(handle, x=np.zeros(1000))  # checksum can tell
    out = cache.get("stage", {"a": 1}, lambda: {"x": np.arange(1000.0)})
    np.testing.assert_array_equal(out["x"], np.arange(1000.0))
    assert "corrupted" in caplog.text
    caplog.clear()
    data_path.write_bytes(data_path.read_bytes()[:100])  # truncated
    out = cache.get("stage", {"a": 1}, lambda: {"x": np.arange(1000.0)})
    np.testing.assert_array_equal(out["x"], np.arange(1000.0))
    assert "corrupted" in caplog.text


def test_unfinished_product_is_not_taken_for_whole(tmp_path):
    cache = Cache(tmp_path)
    data_path, receipt = cache.paths("stage", {"a": 1})
    data_path.parent.mkdir(parents=True)
    data_path.write_bytes(b"half a file")  # an interrupted write leaves no receipt
    out = cache.get("stage", {"a": 1}, lambda: {"x": np.ones(3)})
    np.testing.assert_array_equal(out["x"], np.ones(3))
    assert receipt.exists()


def test_key_digest_is_order_independent():
    assert key_digest({"a": 1, "b": [1, 2]}) == key_digest({"b": [1, 2], "a": 1})
    assert key_digest({"a": 1}) != key_digest({"a": 2})


def test_file_checksums(tmp_path):
    import hashlib

    from analysis.cache import file_digest, md5sum
    from analysis.datasets import download

    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 100_000)
    assert md5sum(path) == hashlib.md5(path.read_bytes()).hexdigest()
    assert file_digest(path, chunk=1000) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert download.md5sum is md5sum  # the downloader checks files with the same function


def test_an_array_digest_follows_its_values_not_its_memory_layout():
    a = np.arange(12.0).reshape(3, 4)
    assert array_digest(a) == array_digest(np.asfortranarray(a)) == array_digest(a.copy())
    b = a.copy()
    b[2, 3] += 1e-9
    assert array_digest(b) != array_digest(a)
