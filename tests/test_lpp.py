import numpy as np
import pandas as pd
import pytest

from analysis.datasets import lpp

EN_WORD_ROWS = [1517, 1690, 1852, 1624, 1534, 1815, 1786, 1583, 1975]
EN_TEXTGRID_WORDS = [1521, 1694, 1864, 1650, 1548, 1832, 1788, 1583, 1973]


def test_english_textgrids_ascii_and_utf16_alike(shared_lpp):
    counts, encodings = [], []
    for k in range(1, 10):
        path = shared_lpp / lpp.textgrid_path("en", k)
        encodings.append(path.read_bytes()[:2] == b"\xfe\xff")
        words = lpp.read_textgrid(path)
        counts.append(len(words))
        assert list(words.columns) == ["word", "onset", "offset"]
        assert not words.word.isin(["#", ""]).any()
        assert (words.offset > words.onset).all() and words.onset.is_monotonic_increasing
    assert counts == EN_TEXTGRID_WORDS
    assert encodings == [False, False, True, True, True, True, False, False, False]
    last = lpp.read_textgrid(shared_lpp / lpp.textgrid_path("en", 9))
    assert 'na\\i"ve' in set(last.word)  # Praat's doubled quote undone
    assert not last.word.str.contains('""').any()


def test_english_word_table_and_its_known_bad_rows(shared_lpp):
    raw = lpp.read_word_table(shared_lpp, "en", drop_bad=False)
    assert raw.groupby("section").size().tolist() == EN_WORD_ROWS
    assert (raw.word == "n't").sum() >= 31 and (raw.word != "").all()
    clean = lpp.read_word_table(shared_lpp, "en")
    assert len(raw) - len(clean) == 3
    assert not {3919, 6775, 6781} & set(clean.index)


def test_participants_table(shared_lpp):
    table = lpp.read_participants(shared_lpp)
    assert len(table) == 112 and table.index[0] == "sub-CN001"  # BOM stripped from the header
    assert table.language.value_counts().to_dict() == {"en": 49, "cn": 35, "fr": 28}
    assert table.loc["sub-FR030", "correct_quiz_questions"] != table.loc[
        "sub-FR030", "correct_quiz_questions"]  # n/a is missing
    assert table.loc["sub-FR030", "sex"] == "M"  # no final newline: the last row is whole


def real_layout(root, listing):
    """Every path of the corpus listing as an empty file (raw runs, JSON sidecars, ...)."""
    for path in listing.path:
        if path.startswith(("sub-", "derivatives/")):
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).touch()


def test_index_runs_maps_every_participant_of_the_real_layout(shared_lpp, tmp_path):
    listing = pd.read_csv(shared_lpp / "FILE_LISTING.tsv", sep="\t")
    real_layout(tmp_path, listing)
    runs = lpp.index_runs(tmp_path)
    assert runs.groupby("language").participant.nunique().to_dict() == {
        "cn": 35, "en": 49, "fr": 28}
    assert all(sections == list(range(1, 10))
               for sections in runs.groupby("participant").section.apply(list))
    assert all(p.exists() for p in runs.bold_path)
    en057 = runs[runs.participant == "sub-EN057"]
    assert en057.run.tolist() == [str(r) for r in range(15, 24)]
    en061 = runs[runs.participant == "sub-EN061"]
    assert en061.run.tolist() == ["09", "11", "12", "13", "14", "19", "20", "21", "22"]
    cn032 = runs[runs.participant == "sub-CN032"]
    assert "03" not in cn032.run.tolist()  # the aborted raw run has no preprocessed version
    assert cn032.section[cn032.run == "05"].item() == 1
    fr = runs[runs.language == "fr"]
    assert (fr.run.astype(int) == fr.section).all()
    assert str(runs.stimulus_path.iloc[0]).endswith("stimuli/task-lppCN_section_1.wav")
    # the sizes of the real files follow the volume counts of the sections they are mapped to
    sizes = listing.set_index("path").size_bytes
    runs["size"] = [sizes[str(p.relative_to(tmp_path))] for p in runs.bold_path]
    runs["volumes"] = [lpp.expected_volumes(r.language, r.section) for r in runs.itertuples()]
    r = runs.groupby("participant").apply(lambda d: np.corrcoef(d["size"], d.volumes)[0, 1])
    assert r.min() > 0.95, r.sort_values().head()


def test_index_refuses_a_missing_section(tmp_path):
    for run in (15, 16, 17, 18, 19, 20, 21, 22):  # EN057 without its run 23
        path = tmp_path / lpp.bold_path("EN057", str(run))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    with pytest.raises(lpp.CorpusError, match="sub-EN057/func: 8 preprocessed runs.*exactly 9"):
        lpp.index_runs(tmp_path)


def test_index_refuses_french_runs_that_are_not_sections(tmp_path):
    for run in range(2, 11):
        path = tmp_path / lpp.bold_path("FR001", f"{run:02d}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    with pytest.raises(lpp.CorpusError, match="FR runs must be 01-09"):
        lpp.index_runs(tmp_path)


def test_volume_count_is_checked_naming_the_file_and_the_rule(tmp_path, write_run):
    good, bad = tmp_path / "good.nii.gz", tmp_path / "bad.nii.gz"
    write_run(good, 282, voxel=40)
    write_run(bad, 281, voxel=40)
    assert lpp.check_volumes(good, "en", 1) == 282
    with pytest.raises(lpp.CorpusError, match="bad.nii.gz: 281 volumes.*section 1.*has 282"):
        lpp.check_volumes(bad, "en", 1)
    assert len(lpp.frame_times("fr", 6)) == 378 and lpp.frame_times("cn", 1)[1] == 2.0


def test_textgrid_decoding_is_by_bom_not_by_name(tmp_path, textgrid):
    intervals = [("", 0, 0.4), ('le "petit"', 0.4, 1.0), ("prince", 1.0, 1.5), (" ", 1.5, 2)]
    for utf16 in (True, False):
        path = tmp_path / f"lppEN_section{int(utf16)}.TextGrid"
        path.write_bytes(textgrid(intervals, "text words", utf16=utf16))
        words = lpp.read_textgrid(path)
        assert words.word.tolist() == ['le "petit"', "prince"]
        np.testing.assert_allclose(words.onset, [0.4, 1.0])
    (tmp_path / "bad.TextGrid").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(lpp.CorpusError, match="bad.TextGrid"):
        lpp.read_textgrid(tmp_path / "bad.TextGrid")


def test_stimulus_audio_is_read_at_16_khz(lpp_miniature):
    root, _ = lpp_miniature
    audio = lpp.read_stimulus(root, "fr", 2)
    assert audio.dtype == np.float32 and len(audio) == 4 * 16000
    with pytest.raises(lpp.CorpusError, match="fetch lpp"):
        lpp.read_stimulus(root / "nowhere", "fr", 2)


def test_textgrid_with_several_tiers_picks_the_words(tmp_path, textgrid):
    one = textgrid([("#", 0, 1), ("a", 1, 2)], "phones").decode()
    two = textgrid([("#", 0, 1), ("mot", 1, 2)], "Words").decode()
    body = two[two.index("    item [1]:"):].replace("item [1]", "item [2]")
    path = tmp_path / "two.TextGrid"
    path.write_text(one.replace("size = 1 ", "size = 2 ") + body)
    assert lpp.read_textgrid(path).word.tolist() == ["mot"]
    assert lpp.read_textgrid(path, tier="phones").word.tolist() == ["a"]
    with pytest.raises(lpp.CorpusError, match="no interval tier named 'x'"):
        lpp.read_textgrid(path, tier="x")


def test_audio_longer_than_its_scans_is_refused(tmp_path):
    import soundfile

    path = tmp_path / "task-lppEN_section-5.wav"
    soundfile.write(path, np.zeros(8000 * 531), 8000)  # 531 s; section 5: 265 scans, 530 s
    with pytest.raises(lpp.CorpusError, match="section-5.wav: 531.0 s.*265 scans.*530 s"):
        lpp.check_audio(path, "en", 5)
    assert lpp.check_audio(path, "en", 6) == pytest.approx(531)
