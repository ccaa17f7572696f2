import logging

import numpy as np
import pytest

from analysis import config, designs, models
from analysis.cache import Cache


def test_designs_stack_each_section_and_shift_the_null(tiny_world, tiny_model_dir):
    model = str(tiny_model_dir)
    stimuli = tiny_world.stimuli["en"]
    built = designs.designs_for(tiny_world, model, "en")
    assert isinstance(built, designs.Designs)
    assert built.n_layers == 9 and built.n_scans == sum(s.n_scans for s in stimuli)

    # each layer is every section's regressors stacked in time, from their own products
    cache, lazy = Cache(config.cache_dir()), designs._LazyModel(model)
    weights = models.fingerprint(model)
    per_section = [designs._stimulus_regressors(*designs.regressor_keys(weights, s), s, cache,
                                                lazy)
                   for s in stimuli]
    assert lazy._model is None  # every section's regressors were cached: no model loaded
    for index in (0, 3, 8):
        expected = np.vstack([section[index] for section in per_section])
        np.testing.assert_allclose(built.layer(index), expected, rtol=1e-6)
        np.testing.assert_array_equal(
            built.layer(index, null=True),
            np.roll(built.layer(index), int(built.n_scans * designs.NULL_SHIFT), axis=0))

    # the same call finds the product again; another language or PCA is another product
    assert designs.designs_for(tiny_world, model, "en").digest == built.digest
    reduced = designs.designs_for(tiny_world, model, "en", n_components=2)
    assert reduced.digest != built.digest and reduced.layer(8).shape == (built.n_scans, 2)
    with pytest.raises(ValueError, match="language='de'"):
        designs.designs_for(tiny_world, model, "de")


def test_design_key_follows_the_model_stimuli_and_settings(tiny_world, tiny_model_dir,
                                                           save_tiny_model):
    stimuli = tiny_world.stimuli["en"]
    key = designs.design_key(str(tiny_model_dir), stimuli)
    assert key["stage"] == designs.DESIGNS and len(key["sections"]) == len(stimuli)
    assert key["null_shift"] == designs.NULL_SHIFT and key["n_components"] is None
    act, reg = designs.regressor_keys(models.fingerprint(str(tiny_model_dir)), stimuli[0])
    assert key["sections"][0] == {"activations": act, "regressors": reg}
    assert reg["n_scans"] == stimuli[0].n_scans and act["window"] == 10.0
    assert designs.design_key(str(tiny_model_dir), stimuli) == key  # deterministic
    assert designs.design_key(str(tiny_model_dir), stimuli, n_components=3) != key
    assert designs.design_key(str(tiny_model_dir), stimuli[:2]) != key
    assert designs.design_key(str(save_tiny_model(1)), stimuli) != key


def test_designs_are_memory_mapped_and_a_corrupted_one_is_recomputed(tiny_world,
                                                                     tiny_model_dir, caplog):
    stimuli = tiny_world.stimuli["en"]
    cache = Cache(config.cache_dir())
    key = designs.design_key(str(tiny_model_dir), stimuli)
    assert designs.load_designs(cache, key) is None  # not computed yet
    built = designs.build_designs(str(tiny_model_dir), key, stimuli, cache)
    assert built.n_layers == 9 and built.n_scans == sum(s.n_scans for s in stimuli)
    layer = built.layer(8)
    assert isinstance(layer, np.memmap) and layer.dtype == np.float32
    np.testing.assert_allclose(layer.std(0), 1, atol=1e-4)  # z-scored regressors
    with pytest.raises(ValueError, match="layer 9 does not exist"):
        built.layer(9)
    assert designs.load_designs(cache, key) == built

    before = np.array(built.layer(4))
    (built.folder / "layer04.npy").write_bytes(b"half")
    with caplog.at_level(logging.WARNING, logger="analysis"):
        assert designs.load_designs(cache, key) is None
    assert "designs" in caplog.text and "corrupted" in caplog.text
    again = designs.build_designs(str(tiny_model_dir), key, stimuli, cache)
    np.testing.assert_array_equal(again.layer(4), before)


def test_a_key_for_other_stimuli_is_refused(tiny_world, tiny_model_dir):
    stimuli = tiny_world.stimuli["en"]
    key = designs.design_key(str(tiny_model_dir), stimuli[:1])
    with pytest.raises(ValueError, match=f"1 sections but {len(stimuli)} stimuli"):
        designs.build_designs(str(tiny_model_dir), key, stimuli, Cache(config.cache_dir()))


def test_the_model_is_loaded_only_when_called(monkeypatch):
    loaded = []
    monkeypatch.setattr(models, "load_model", lambda name: loaded.append(name) or "model")
    lazy = designs._LazyModel("random")
    assert loaded == [] and lazy.normalize() is True
    assert lazy() == "model" and lazy() == "model"
    assert loaded == ["random"]
