import pytest

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
