import pytest

from analysis.demo import story, training_speech, training_text


@pytest.mark.parametrize("language", sorted(training_text.GRAMMARS))
def test_training_text_is_distinct_repeatable_and_never_the_story(language):
    text = training_text.sentences(language, training_speech.N_SENTENCES, seed=0)
    keys = [training_text.normalised(s, language) for s in text]
    assert len(set(keys)) == len(text) == training_speech.N_SENTENCES
    heard = {training_text.normalised(s, language) for sec in story.sections(language)
             for s in sec}
    assert not heard & set(keys)
    assert text == training_text.sentences(language, training_speech.N_SENTENCES, seed=0)
    assert text != training_text.sentences(language, training_speech.N_SENTENCES, seed=1)
    assert all(len(story.words_of(s, language)) >= 5 for s in text)


def test_a_story_sentence_is_never_drawn(monkeypatch):
    """The filter itself: a grammar that can only write a story sentence writes nothing."""
    sentence = story.sections("en")[0][2]  # "Every morning she climbed them again to put it out."
    grammar = {"templates": (sentence[:-1] + "{S}{V}{O}{P}{T}.",), "S": ("",), "V": ("",),
               "O": ("",), "P": ("",), "T": ("",)}
    monkeypatch.setitem(training_text.GRAMMARS, "en", grammar)
    with pytest.raises(ValueError, match="only 0 distinct"):
        training_text.sentences("en", 1)


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="training texts exist"):
        training_text.sentences("de", 3)
