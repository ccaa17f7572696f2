import numpy as np
import pytest

from analysis import encoding
from analysis.datasets.summary import corpus_participants, summarize


def test_summary_of_the_demo_world(tiny_world):
    table = summarize(tiny_world)
    assert sorted(table.index) == sorted(tiny_world.stimuli)
    for language, stimuli in tiny_world.stimuli.items():
        row = table.loc[language]
        assert row.participants == 2 and row.sections == len(stimuli)
        assert row.sentences == 5 * row.sections  # sentences_per_section=5
        assert row.words == sum(len(s.words) for s in stimuli)
        seconds = sum(len(s.waveform()) / 16000 for s in stimuli)
        assert row.hours == pytest.approx(seconds / 3600, rel=1e-3)
    assert corpus_participants(tiny_world).to_dict() == dict.fromkeys(tiny_world.stimuli, 2)


@pytest.mark.slow
def test_example_predictions_are_held_out_and_ranked(tiny_world, tiny_profile, tiny_model_dir):
    from analysis.predictions import example_predictions

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
