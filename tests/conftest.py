"""Shared fixtures: an isolated data home, tiny saved models, a tiny demo world, demo models
at tiny sizes, and the miniature of Le Petit Prince served on 127.0.0.1.

Test modules import nothing from each other nor from the helper modules of this folder
(``lpp_miniature``, which builds and serves the miniature corpus; ``narratives_miniature``,
which builds a Narratives tree from the real files): they get what they need from the
fixtures below.
"""
from __future__ import annotations

import dataclasses
import json
import socket

import numpy as np
import pandas as pd
import pytest

import lpp_miniature as miniature
import narratives_miniature
from analysis.config import Profile


@pytest.fixture(autouse=True)
def isolated_homes(tmp_path, monkeypatch):
    """Every test writes its data and build products under its own temporary folder."""
    monkeypatch.setenv("ANALYSIS_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("ANALYSIS_BUILD_DIR", str(tmp_path / "build"))
    return tmp_path


def _tiny_config(**overrides):
    from transformers import Wav2Vec2Config

    settings = dict(conv_dim=(8,) * 7, hidden_size=16, num_hidden_layers=2,
                    num_attention_heads=2, intermediate_size=32, num_conv_pos_embeddings=16,
                    num_conv_pos_embedding_groups=4, feat_extract_norm="layer",
                    vocab_size=8)
    settings.update(overrides)
    return Wav2Vec2Config(**settings)


@pytest.fixture
def tiny_config():
    """The configuration of a tiny wav2vec 2.0 (7 convolutional layers of 8 channels, 2
    transformer blocks of width 16), a fresh copy per test."""
    return _tiny_config()


@pytest.fixture(scope="session")
def save_tiny_model(tmp_path_factory):
    """``save_tiny_model(seed=0)``: a tiny wav2vec 2.0 initialised with ``seed``, saved to a
    new folder (as a reader's own model would be); returns the folder."""
    def save(seed: int = 0):
        import torch
        from transformers import Wav2Vec2Model

        folder = tmp_path_factory.mktemp(f"tiny-model-{seed}")
        torch.manual_seed(seed)
        Wav2Vec2Model(_tiny_config()).save_pretrained(folder)
        return folder

    return save


@pytest.fixture(scope="session")
def tiny_model_dir(save_tiny_model):
    """A tiny wav2vec 2.0 saved to a folder, as a reader's own model would be."""
    return save_tiny_model(0)


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory):
    """Two simulated listeners of the first sentences of each section of the story."""
    from analysis.demo.world import build_world

    root = tmp_path_factory.mktemp("demo")
    return build_world(n_participants=2, sentences_per_section=5, root=root)


@pytest.fixture
def two_groups(tiny_world):
    """The tiny world with its second listener hearing the first two sections only (as a
    Narratives listener hears some of the stories): ``(dataset, those sections, listener)``."""
    first, second = tiny_world.participants_of("en")[:2]
    stimuli = tiny_world.stimuli["en"][:2]
    partial = dataclasses.replace(second, bold_paths=second.bold_paths[:2],
                                  stimuli=tuple(stimuli))
    return dataclasses.replace(tiny_world, participants=[first, partial]), stimuli, partial


@pytest.fixture
def tiny_profile():
    return Profile("test", "tiny fits for tests", languages=("en",), n_participants=2,
                   n_folds=3, inner_folds=2, alphas=tuple(np.logspace(0, 4, 3)))


TINY_DEMO = {"steps": 4, "batch_size": 2, "crop_seconds": 1.0, "conv_dim": [8] * 7,
             "hidden_size": 16, "num_layers": 2, "num_heads": 2, "intermediate_size": 32,
             "codebook": [2, 8], "num_negatives": 5, "n_checkpoints": 2, "threads": 1}


@pytest.fixture
def tiny_demo(monkeypatch, tiny_world):
    """The demo family's models at tiny sizes (4 training steps, checkpoints at steps 2 and
    4), trained on 12 sentences of training speech per language; returns the tiny world."""
    from analysis.demo import zoo

    monkeypatch.setenv(zoo.ENVIRONMENT, json.dumps(TINY_DEMO))
    monkeypatch.setattr(zoo, "SPEECH_SENTENCES", 12)
    return tiny_world


@pytest.fixture(scope="session")
def shared_lpp():
    """The shared folder of real corpus files; the test is skipped, saying why, without it."""
    shared = miniature.SHARED
    if not (shared / "FILE_LISTING.tsv").exists():
        pytest.skip(f"{shared} (real files of the corpus, shared beside the project) is absent; "
                    "set ANALYSIS_SHARED_LPP to its location to run this test")
    return shared


@pytest.fixture(scope="session")
def lpp_miniature(tmp_path_factory, shared_lpp):
    """A miniature corpus (EN057, EN061, FR001, FR002, CN001, CN032) and its checksum list:
    ``(root, index path)``."""
    root = tmp_path_factory.mktemp("bucket") / "lpp"
    return root, miniature.build_miniature(root)


@pytest.fixture(scope="session")
def shared_narratives():
    """The shared folder of real Narratives files; the test is skipped, saying why, without
    it."""
    shared = narratives_miniature.SHARED
    if not narratives_miniature.LISTING.exists():
        pytest.skip(f"{shared} (real files of the Narratives corpus, shared beside the project) "
                    "is absent; set ANALYSIS_SHARED_NARRATIVES to its location to run this test")
    return shared


@pytest.fixture(scope="session")
def narratives_tree(tmp_path_factory, shared_narratives):
    """A Narratives tree built from every real file of the shared folder (see
    ``narratives_miniature``), shared by the tests that only read it."""
    return narratives_miniature.build_tree(tmp_path_factory.mktemp("narratives") / "ds002345")


@pytest.fixture(scope="session")
def narratives_slow_milkyway(shared_narratives):
    """The 17 ``milkyway`` listeners whose scans have a TR of 1.52 s in the built tree (a
    scan sidecar overriding the top-level ``task-milkyway_bold.json`` of 1.5 s)."""
    return narratives_miniature.milkyway_slow()


@pytest.fixture
def narratives_subset(tmp_path, shared_narratives):
    """``narratives_subset(*participants)``: a tree of only those listeners (``sub-001``...),
    with the real ``participants.tsv``, for tests that alter its files; returns its root."""
    def build(*participants):
        return narratives_miniature.build_tree(tmp_path / "ds002345", set(participants))
    return build


@pytest.fixture
def gentle_alignment():
    """``gentle_alignment(words=...) -> dict``: a Gentle alignment in its documented form,
    from ``(word, start, end, case)`` rows (default: six words, one not found in the audio)."""
    return narratives_miniature.gentle_alignment


@pytest.fixture
def serve_folder():
    """``serve_folder(root)``: serve ``root`` on 127.0.0.1 as the corpus's bucket would
    (Range requests, 404s, faults injected per file; see ``lpp_miniature.LocalBucket``);
    returns the running bucket (``.url``, ``.requests``, ``.faults``), stopped after the
    test."""
    running = []

    def serve(root):
        bucket = miniature.LocalBucket(root).__enter__()
        running.append(bucket)
        return bucket

    yield serve
    for bucket in running:
        bucket.__exit__(None, None, None)


@pytest.fixture
def lpp_bucket(lpp_miniature, serve_folder, monkeypatch):
    """The miniature served on 127.0.0.1, and the downloader pointed at it and its index."""
    root, index = lpp_miniature
    monkeypatch.setenv("ANALYSIS_LPP_INDEX", str(index))
    bucket = serve_folder(root)
    monkeypatch.setenv("ANALYSIS_LPP_BASE_URL", bucket.url)
    return bucket


@pytest.fixture(scope="session")
def narratives_raw(tmp_path_factory, shared_narratives):
    """The raw files of three Narratives listeners (sub-001, sub-016, sub-023: pieman runs,
    tunnel, slumlordreach, notthefall, prettymouth, milkyway) as the bucket serves them, with
    short WAVs, and their listing and checksum list: ``(root, listing, index)``."""
    folder = tmp_path_factory.mktemp("narratives-bucket")
    return narratives_miniature.build_bucket(folder / "ds002345", folder / "lists")


@pytest.fixture
def narratives_bucket(narratives_raw, serve_folder, monkeypatch):
    """The raw miniature served on 127.0.0.1, and the downloader pointed at it and its
    checksum list."""
    root, _, index = narratives_raw
    monkeypatch.setenv("ANALYSIS_NARRATIVES_INDEX", str(index))
    bucket = serve_folder(root)
    monkeypatch.setenv("ANALYSIS_NARRATIVES_BASE_URL", bucket.url)
    return bucket


def _datalad_or_skip():
    import shutil

    pytest.importorskip("datalad", reason="DataLad is not installed (pip install "
                                          "'datalad==1.7.1'): the DataLad tests are skipped")
    if shutil.which("git-annex") is None:
        pytest.skip("git-annex is not installed (apt-get install git-annex): the DataLad "
                    "tests are skipped")


@pytest.fixture
def narratives_release(narratives_raw, tmp_path, monkeypatch):
    """``narratives_release()``: a new local DataLad release of the miniature (derivatives
    and alignments in nested subdatasets), the downloader pointed at it; returns its root and
    files, ``(root, {relative path: content})``. Skipped, saying why, without DataLad or
    git-annex."""
    _datalad_or_skip()
    for variable in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(variable, "analysis tests")
    for variable in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(variable, "tests@example.org")
    made = []

    def build():
        files = narratives_miniature.release_files(narratives_raw[0])
        root = narratives_miniature.build_release(tmp_path / f"release-{len(made)}", files)
        made.append(root)
        monkeypatch.setenv("ANALYSIS_NARRATIVES_DATALAD", str(root))
        return root, files

    return build


@pytest.fixture
def write_run():
    """``write_run(path, n_volumes, voxel=16.0, rng=None)``: a preprocessed run as the
    corpus has them (int16, MNI affine, TR 2 s), on a coarse grid."""
    return miniature.write_run


@pytest.fixture
def textgrid():
    """``textgrid(intervals, tier, utf16=False) -> bytes``: a TextGrid in Praat's long text
    format, ASCII or UTF-16 BE with a BOM."""
    return miniature.textgrid


@pytest.fixture
def perceptimatic_release():
    """``perceptimatic_release(folder, n_listeners=8, seed=0)``: a Perceptimatic release with
    the real file's columns, English listeners better on English triplets (p = 0.8) than on
    French ones (p = 0.6), written to ``folder``; returns its path."""
    def write(folder, n_listeners: int = 8, seed: int = 0):
        from analysis import perceptimatic

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

    return write


# A full-size synthetic participant (tests/fullsize_participant.py): the real grid's box and
# affine, the real volume counts, per-run offsets and drifts, signal planted in spheres at
# published MNI coordinates. The test suite runs a cut-down version (2 sections, 4 mm voxels,
# 16 kHz audio); ``tests/test_fullsize.py``'s slow test and ``benchmarks/fullsize_lpp.py`` run
# the full size.
FULLSIZE_CUT = {"sections": (1, 2), "voxel": 4.0, "rate": 16000}
FULLSIZE_FULL = {"sections": tuple(range(1, 10)), "voxel": 2.0, "rate": 44100}


@pytest.fixture(scope="session")
def fullsize_home(tmp_path_factory):
    """A data home shared by the full-size tests: the designs computed to plant the signal
    are cached there, so the analysis finds them instead of extracting them again (and a
    participant analysed by one test is not analysed again by the next); removed at the end
    of the session."""
    import shutil

    home = tmp_path_factory.mktemp("fullsize-home")
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def fullsize_model_dir(tmp_path_factory):
    """The random model of the full-size tests: wav2vec 2.0 Base's architecture in miniature
    (group normalisation of the first convolution, as Base; 8 channels, 2 blocks of width
    16), randomly initialised (seed 0), saved to a folder."""
    import torch
    from transformers import Wav2Vec2Model

    folder = tmp_path_factory.mktemp("fullsize-model")
    torch.manual_seed(0)
    Wav2Vec2Model(_tiny_config(feat_extract_norm="group")).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def build_fullsize(tmp_path_factory, fullsize_home, fullsize_model_dir):
    """``build_fullsize(**options)``: ``fullsize_participant.build_participant`` of EN057
    with ``fullsize_model_dir`` (its layer 4, a convolutional layer of 8 units, drives the
    spheres) and ``options``, built once per session for each set of options; returns its
    ``Participant`` record (root, checksum list, sections, spheres, ``localise(scores)``)."""
    import shutil

    import torch

    import fullsize_participant as fullsize

    built = {}  # the full-size tree is 1.5 GB: removed at the end of the session

    def build(**options):
        key = tuple(sorted(options.items()))
        if key not in built:
            root = tmp_path_factory.mktemp("fullsize") / "lpp"
            threads = torch.get_num_threads()
            torch.set_num_threads(1)  # the model's features: one thread beats two on busy cores
            try:
                built[key] = fullsize.build_participant(
                    root, model=str(fullsize_model_dir), layer=4,
                    cache_root=fullsize_home / "cache", **options)
            finally:
                torch.set_num_threads(threads)
        return built[key]

    yield build
    for participant in built.values():
        shutil.rmtree(participant.root.parent, ignore_errors=True)


@pytest.fixture
def fullsize_participant(build_fullsize, fullsize_home, isolated_homes, monkeypatch):
    """The cut-down full-size participant: sections 1 and 2 at their real volume counts (282
    and 298), the corpus's box and affine at 4 mm (37 x 46 x 38 voxels), each run with its
    own offset (500-1500) and linear and quadratic drift; the data home is
    ``fullsize_home`` for the test."""
    monkeypatch.setenv("ANALYSIS_DATA_HOME", str(fullsize_home))
    return build_fullsize(**FULLSIZE_CUT)


@pytest.fixture
def fullsize_steady(build_fullsize, fullsize_home, isolated_homes, monkeypatch):
    """The same participant (same audio, noise and signal) with neither offsets (every run at
    1000) nor drifts; the data home is ``fullsize_home`` for the test."""
    monkeypatch.setenv("ANALYSIS_DATA_HOME", str(fullsize_home))
    return build_fullsize(**FULLSIZE_CUT, offsets=False, drifts=False)


@pytest.fixture
def fullsize_participant_full(build_fullsize, fullsize_home, isolated_homes, monkeypatch):
    """The participant at full size: nine runs on the corpus's 2 mm grid (73 x 90 x 74) at
    the real volume counts, 44.1 kHz audio (about 2 minutes to build on two cores)."""
    monkeypatch.setenv("ANALYSIS_DATA_HOME", str(fullsize_home))
    return build_fullsize(**FULLSIZE_FULL)


@pytest.fixture
def autocorrelated():
    """A function ``(n=300, p=20, t=40, seed=0, rho=0.8) -> (X, Y)``: features and noise with
    AR(1) autocorrelation in time, half the targets driven by a planted linear map (for the
    ridge and encoding tests)."""
    def make(n=300, p=20, t=40, seed=0, rho=0.8):
        rng = np.random.default_rng(seed)

        def ar(shape):
            x = rng.standard_normal(shape)
            for i in range(1, shape[0]):
                x[i] = rho * x[i - 1] + np.sqrt(1 - rho ** 2) * x[i]
            return x

        X = ar((n, p))
        W = rng.standard_normal((p, t)) * (rng.random(t) < 0.5)
        return X, X @ W / np.sqrt(p) + 2 * ar((n, t))
    return make


@pytest.fixture
def no_dns(monkeypatch):
    """Name resolution fails as it does offline; returns the hosts asked for, in order."""
    asked = []

    def fail(host, *args, **kwargs):
        asked.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    return asked
