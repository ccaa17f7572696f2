"""Shared fixtures: an isolated data home, a tiny saved model and a tiny demo world."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.config import Profile


@pytest.fixture(autouse=True)
def isolated_homes(tmp_path, monkeypatch):
    """Every test writes its data and build products under its own temporary folder."""
    monkeypatch.setenv("ANALYSIS_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("ANALYSIS_BUILD_DIR", str(tmp_path / "build"))
    return tmp_path


def tiny_config(**overrides):
    from transformers import Wav2Vec2Config

    settings = dict(conv_dim=(8,) * 7, hidden_size=16, num_hidden_layers=2,
                    num_attention_heads=2, intermediate_size=32, num_conv_pos_embeddings=16,
                    num_conv_pos_embedding_groups=4, feat_extract_norm="layer",
                    vocab_size=8)
    settings.update(overrides)
    return Wav2Vec2Config(**settings)


def save_tiny_model(folder, seed: int = 0):
    """A tiny wav2vec 2.0 initialised with ``seed``, saved to ``folder``; returns ``folder``."""
    import torch
    from transformers import Wav2Vec2Model

    torch.manual_seed(seed)
    Wav2Vec2Model(tiny_config()).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny wav2vec 2.0 saved to a folder, as a reader's own model would be."""
    return save_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory):
    """Two simulated listeners of the first sentences of each section of the story."""
    from analysis.demo.world import build_world

    root = tmp_path_factory.mktemp("demo")
    return build_world(n_participants=2, sentences_per_section=5, root=root)


@pytest.fixture
def tiny_profile():
    return Profile("test", "tiny fits for tests", languages=("en",), n_participants=2,
                   n_folds=3, inner_folds=2, alphas=tuple(np.logspace(0, 4, 3)))


@pytest.fixture(scope="session")
def shared_lpp():
    """The shared folder of real corpus files; the test is skipped, saying why, without it."""
    from lpp_miniature import SHARED

    if not (SHARED / "FILE_LISTING.tsv").exists():
        pytest.skip(f"{SHARED} (real files of the corpus, shared beside the project) is absent; "
                    "set ANALYSIS_SHARED_LPP to its location to run this test")
    return SHARED


@pytest.fixture(scope="session")
def lpp_miniature(tmp_path_factory, shared_lpp):
    """A miniature corpus (EN057, EN061, FR001, FR002, CN001, CN032) and its checksum list:
    ``(root, index path)``."""
    from lpp_miniature import build_miniature

    root = tmp_path_factory.mktemp("bucket") / "lpp"
    return root, build_miniature(root)


@pytest.fixture
def lpp_bucket(lpp_miniature, monkeypatch):
    """The miniature served on 127.0.0.1, and the downloader pointed at it and its index."""
    from lpp_miniature import LocalBucket

    root, index = lpp_miniature
    monkeypatch.setenv("ANALYSIS_LPP_INDEX", str(index))
    with LocalBucket(root) as bucket:
        monkeypatch.setenv("ANALYSIS_LPP_BASE_URL", bucket.url)
        yield bucket
