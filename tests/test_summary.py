import pytest

from analysis.datasets.summary import corpus_participants, participants_per_corpus, summarize


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


def test_corpus_counts_of_the_real_participants_table_after_the_paper_exclusions(shared_lpp):
    from analysis.config import get_profile
    from analysis.datasets import Dataset
    from analysis.datasets.summary import count_source

    corpus = Dataset("lpp", {"en": [], "fr": [], "cn": []}, [], simulated=False)
    every = corpus_participants(corpus, root=shared_lpp, download=False)
    assert every.to_dict() == {"en": 49, "fr": 28, "cn": 35}
    paper = corpus_participants(corpus, root=shared_lpp, download=False,
                                excluded=get_profile("paper").excluded)
    assert paper.to_dict() == {"en": 49, "fr": 28, "cn": 33}
    assert paper.attrs == {"source": "participants.tsv of OpenNeuro ds003643",
                           "excluded": ["sub-CN018", "sub-CN019"]}
    assert count_source(corpus) == "participants.tsv of OpenNeuro ds003643"
    kept = corpus_participants(corpus, root=shared_lpp, download=False,
                               excluded=get_profile("paper", {"excluded": []}).excluded)
    assert kept["cn"] == 35
    with pytest.raises(ValueError, match="excluded: 'CN-18'"):
        corpus_participants(corpus, root=shared_lpp, download=False, excluded=["CN-18"])


def test_corpus_counts_of_the_demo_world_are_its_listeners(tiny_world):
    from analysis.datasets.summary import count_source

    first = tiny_world.participants[0]
    counts = corpus_participants(tiny_world, excluded=[first.id.removeprefix("sub-")])
    assert counts[first.language] == 1 and counts.sum() == len(tiny_world.participants) - 1
    assert counts.attrs == {"source": count_source(tiny_world), "excluded": [first.id]}
    assert count_source(tiny_world) == "the listeners of the demo data set"


def test_a_selection_of_the_demo_world_counts_the_whole_world(tiny_world):
    from analysis.demo.world import select

    one = select(tiny_world, ["en"], n_participants=1)
    assert len(one.participants) == 1 and one.corpus_size == {"en": 2}
    assert corpus_participants(one).to_dict() == {"en": 2}
    table = participants_per_corpus(one)
    assert table.to_dict("records") == [{"corpus": "demo", "language": "en", "analysed": 1,
                                         "in the corpus": 2}]
