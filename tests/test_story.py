from analysis.demo import story


def test_story_versions_are_aligned_and_mandarin_is_segmented():
    shapes = {lang: [len(s) for s in story.sections(lang)] for lang in story.LANGUAGES}
    assert len(set(map(tuple, shapes.values()))) == 1 and len(shapes["en"]) >= 3
    raw = story.sections("cn")[0][0]
    assert " " in raw and " " not in story.display(raw, "cn")
    words = story.words_of("安娜 笑了， 这 是 第一 次。", "cn")
    assert words == ["安娜", "笑了", "这", "是", "第一", "次"]
    assert "".join(story.words_of(raw, "cn")) in story.display(raw, "cn").replace("，", "")
