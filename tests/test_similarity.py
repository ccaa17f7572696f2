import numpy as np
import pytest
from scipy.stats import ortho_group

from analysis import similarity


def test_cka_ignores_rotation_and_scale_but_not_a_change_of_content():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 20)) @ rng.standard_normal((20, 20))
    rotated = 3.0 * X @ ortho_group.rvs(20, random_state=1) + 5.0
    assert similarity.linear_cka(X, rotated) == pytest.approx(1.0)
    assert similarity.linear_cka(X, X[:, :10]) < 1.0
    unrelated = similarity.linear_cka(X, rng.standard_normal((500, 20)))
    assert 0.0 < unrelated < 0.2  # chance level for 500 frames of 20 dimensions
    assert np.isnan(similarity.linear_cka(X, np.ones((500, 3))))
    with pytest.raises(ValueError, match=r"X \(500, 20\) and Y \(499, 20\)"):
        similarity.linear_cka(X, X[:-1])


def test_layer_cka_is_one_for_a_model_against_itself_and_less_for_another(
        tiny_world, save_tiny_model, monkeypatch):
    stimuli = tiny_world.stimuli["en"][:2]
    first, second = str(save_tiny_model(0)), str(save_tiny_model(1))
    computed = []
    extract = similarity._activations
    monkeypatch.setattr(similarity, "_activations",
                        lambda name, s: computed.append(name) or extract(name, s))
    cka = similarity.layer_cka([first, second], first, stimuli)
    assert computed.count(first) == 2 and computed.count(second) == 1  # reference once
    assert cka[first].shape == cka[second].shape == (9,)  # 7 convolutional + 2 transformer
    np.testing.assert_allclose(cka[first], 1.0, atol=1e-6)
    assert (cka[second] < 0.999).all()
    monkeypatch.setattr(similarity, "_activations", lambda *a: pytest.fail("recomputed"))
    again = similarity.layer_cka([first, second], first, stimuli)
    np.testing.assert_array_equal(again[second], cka[second])
