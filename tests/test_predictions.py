import numpy as np
import pytest

from analysis import encoding
from analysis.predictions import example_predictions


@pytest.mark.slow
def test_example_predictions_are_held_out_and_ranked(tiny_world, tiny_profile, tiny_model_dir):
    example = example_predictions(tiny_world, tiny_profile, str(tiny_model_dir), "en")
    assert example.participant == "sub-EN01" and example.layer == 8  # 7 conv + 2 blocks
    n_scans = sum(s.n_scans for s in tiny_world.stimuli["en"])
    assert example.observed.shape == example.predicted.shape == (n_scans, 3)
    assert example.r_map.shape == (20484,)
    assert example.r[0] == pytest.approx(np.nanmax(example.r_map))
    assert example.r[0] >= example.r[1] >= example.r[2]
    np.testing.assert_allclose(example.r, encoding.pearson_r(example.observed.astype(float),
                                                             example.predicted.astype(float)),
                               rtol=1e-5)
    again = example_predictions(tiny_world, tiny_profile, str(tiny_model_dir), "en")  # cached
    np.testing.assert_array_equal(again.predicted, example.predicted)
    with pytest.raises(ValueError, match="layer=99"):
        example_predictions(tiny_world, tiny_profile, str(tiny_model_dir), "en", layer=99)
    with pytest.raises(ValueError, match="participant='sub-FR01'"):
        example_predictions(tiny_world, tiny_profile, str(tiny_model_dir), "en",
                            participant="sub-FR01")
