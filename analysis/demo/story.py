"""The demo world's story, written for this project, in parallel English, French and Mandarin.

The text lives in ``analysis/demo/story/<language>.txt`` (UTF-8): one sentence per line, the
same number of sentences per section in every language (sentence ``i`` of a section is a
translation of sentence ``i`` in every other language), sections separated by a blank line,
lines starting with ``#`` ignored. Mandarin is written in simplified characters with a space
between words: the story's own word segmentation, which espeak-ng does not provide. Spaces are
removed for display and synthesis, and the words give the rows of the word table.

``STORY[language]`` is a list of sections; each section is a list of sentences as displayed
and spoken. :func:`words_of` gives a sentence's words.
"""
from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

LANGUAGES = ("en", "fr", "cn")
VOICES = {"en": "en", "fr": "fr", "cn": "cmn"}
# espeak-ng speaking rates (its "words per minute"), chosen so that every version lasts
# 16 to 18 minutes with the pauses between sentences (measured durations in the chapter).
RATES = {"en": 135, "fr": 125, "cn": 170}
# Languages written without spaces between words: their files separate words with spaces.
SEGMENTED = frozenset({"cn"})
# Punctuation that is never part of a word (ASCII and full-width CJK).
_PUNCTUATION = ",.;:!?\"()，。、；：！？“”‘’（）《》…—"
_SPLIT = re.compile(r"[\s" + re.escape(_PUNCTUATION) + r"]+")


@lru_cache(maxsize=None)
def sections(language: str) -> tuple[tuple[str, ...], ...]:
    """The story's sections in ``language`` as written in its file (Mandarin segmented).

    Returns
    -------
    tuple (sections) of tuples (sentences) of str
    """
    if language not in LANGUAGES:
        raise ValueError(f"language={language!r}: the demo story exists in "
                         f"{', '.join(LANGUAGES)}.")
    name = f"{language}.txt"
    text = resources.files("analysis.demo").joinpath("story", name).read_text(encoding="utf-8")
    found: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if line.strip():
            found[-1].append(line.strip())
        elif found[-1]:
            found.append([])
    result = tuple(tuple(s) for s in found if s)
    if not result:
        raise ValueError(f"analysis/demo/story/{name} holds no sentence.")
    return result


def display(sentence: str, language: str) -> str:
    """A sentence as shown and spoken: Mandarin without its word-separating spaces."""
    return re.sub(r"\s+", "", sentence) if language in SEGMENTED else sentence


def words_of(sentence: str, language: str) -> list[str]:
    """The words of a sentence as written in the story file, punctuation removed."""
    return [w for w in _SPLIT.split(sentence) if w]


def _story() -> dict[str, list[list[str]]]:
    story = {lang: [[display(s, lang) for s in section] for section in sections(lang)]
             for lang in LANGUAGES}
    shapes = {lang: [len(section) for section in secs] for lang, secs in story.items()}
    if len({tuple(v) for v in shapes.values()}) != 1:
        raise ValueError(f"the story's versions are not sentence-aligned: sentences per "
                         f"section {shapes}; fix analysis/demo/story/*.txt.")
    return story


STORY: dict[str, list[list[str]]] = _story()
