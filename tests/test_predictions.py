import numpy as np
import pytest

from analysis import encoding
from analysis.predictions import ExamplePredictions, example_predictions


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


def test_example_numbers_keep_the_window_one_row_per_vertex():
    times = np.arange(10) * 2.0
    observed = np.arange(30.0).reshape(10, 3)
    example = ExamplePredictions("sub-1", "en", "m", 9, times, np.array([4, 5, 6]), observed,
                                 -observed, np.array([0.5, 0.4, 0.3]), np.zeros(20484))
    numbers = example.numbers(window=6.0)
    assert numbers["times"].tolist() == [0.0, 2.0, 4.0, 6.0]
    assert numbers["observed"].shape == numbers["predicted"].shape == (3, 4)
    assert numbers["observed"][1].tolist() == [1.0, 4.0, 7.0, 10.0]  # vertex 5's series
    assert (numbers["participant"], numbers["layer"]) == ("sub-1", 9)
    assert numbers["vertices"].tolist() == [4, 5, 6] and numbers["r"].tolist() == [0.5, 0.4, 0.3]
