import numpy as np
import pandas as pd
import pytest

import lpp_miniature as miniature
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
    seconds = miniature.real_audio_seconds("fr", 2)  # written at 1 kHz, read at 16 kHz
    assert audio.dtype == np.float32 and len(audio) == int(seconds * 16000)
    with pytest.raises(lpp.CorpusError, match="fetch lpp"):
        lpp.read_stimulus(root / "nowhere", "fr", 2)


def long_textgrid(tiers) -> str:
    """A TextGrid in Praat's long text format with several tiers: ``{name: intervals}`` for
    interval tiers, ``{name: [(mark, time), ...]}`` with ``"points:"`` prefixed names for
    point tiers."""
    end = max(rows[-1][-1] for rows in tiers.values())
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "xmin = 0 ",
             f"xmax = {end} ", "tiers? <exists> ", f"size = {len(tiers)} ", "item []: "]
    for k, (name, rows) in enumerate(tiers.items(), 1):
        points = name.startswith("points:")
        lines += [f"    item [{k}]:",
                  f'        class = "{"TextTier" if points else "IntervalTier"}" ',
                  f'        name = "{name.removeprefix("points:")}" ', "        xmin = 0 ",
                  f"        xmax = {end} ",
                  f"        {'points' if points else 'intervals'}: size = {len(rows)} "]
        for i, row in enumerate(rows, 1):
            label = row[0].replace('"', '""')
            if points:
                lines += [f"        points [{i}]:", f"            number = {row[1]} ",
                          f'            mark = "{label}" ']
            else:
                lines += [f"        intervals [{i}]:", f"            xmin = {row[1]} ",
                          f"            xmax = {row[2]} ", f'            text = "{label}" ']
    return "\n".join(lines) + "\n"


def test_textgrid_with_several_tiers_picks_the_words(tmp_path):
    words = [("#", 0, 1), ("mot", 1, 2), ("long", 2, 3)]
    phones = [("", 0, 1), ("m", 1, 1.3), ("o", 1.3, 1.7), ("t", 1.7, 2), ("l", 2, 2.5),
              ("ong", 2.5, 3)]
    path = tmp_path / "two.TextGrid"
    path.write_text(long_textgrid({"phones": phones, "points:events": [("boa", 1.5)],
                                   "tier 3": words}))
    assert lpp.read_textgrid(path).word.tolist() == ["mot", "long"]
    assert lpp.read_textgrid(path, tier="phones").word.tolist() == ["m", "o", "t", "l", "ong"]
    with pytest.raises(lpp.CorpusError, match="no interval tier named 'x'.*'phones'"):
        lpp.read_textgrid(path, tier="x")


def test_real_english_words_are_found_among_phones_and_sentences(shared_lpp, tmp_path):
    """The tier rule on the real words of EN section 1, beside a tier cutting each word into
    letters (as phones cut words) and a tier of the stretches between silences."""
    real = shared_lpp / lpp.textgrid_path("en", 1)
    tiers = lpp.read_tiers(real)
    [(name, (kind, rows))] = tiers.items()
    assert (name, kind, len(rows)) == ("TokensAlign", "IntervalTier", 1712)
    phones, sentences, current = [], [], []
    for label, start, stop in rows:
        if label in ("#", ""):
            phones.append(("", start, stop))
            if current:
                sentences.append((" ".join(w for w, *_ in current), current[0][1],
                                  current[-1][2]))
            sentences.append(("", start, stop))
            current = []
            continue
        current.append((label, start, stop))
        cuts = np.linspace(start, stop, len(label) + 1)
        phones += [(ch, a, b) for ch, a, b in zip(label, cuts[:-1], cuts[1:])]
    path = tmp_path / "three.TextGrid"
    path.write_text(long_textgrid({"sentences": sentences, "phones": phones,
                                   "words": [tuple(r) for r in rows]}))
    words = lpp.read_textgrid(path)
    assert len(words) == EN_TEXTGRID_WORDS[0]
    pd.testing.assert_frame_equal(words, lpp.read_textgrid(real))


def test_textgrid_whose_words_tier_is_ambiguous_lists_its_tiers(tmp_path):
    one = [("#", 0, 1), ("mot", 1, 2)]
    two = [("", 0, 1), ("word", 1, 2)]
    path = tmp_path / "ambiguous.TextGrid"
    path.write_text(long_textgrid({"a": one, "b": two, "points:p": [("x", 0.5)]}))
    with pytest.raises(lpp.CorpusError, match=r"ambiguous.TextGrid: cannot tell which tier "
                       r"holds the words \('a', 'b' could each.*'a' \(IntervalTier, 2 "
                       r"intervals, 1 labelled\).*'p' \(TextTier, 1 points\).*tier="):
        lpp.read_textgrid(path)
    path.write_text(long_textgrid({"a": [("#", 0, 1)], "b": [("", 0, 1)]}))
    with pytest.raises(lpp.CorpusError, match="none qualifies"):
        lpp.read_textgrid(path)
    assert lpp.read_textgrid(path, tier="a").empty


def test_audio_up_to_one_tr_longer_than_its_scans_is_a_warning(tmp_path, caplog):
    import soundfile

    path = tmp_path / "task-lppCN_section_1.wav"  # section 1 of CN: 283 scans, 566 s
    soundfile.write(path, np.zeros(int(8000 * 566.005)), 8000)  # a few ms longer
    assert lpp.check_audio(path, "cn", 1) == pytest.approx(566.005)
    assert "section_1.wav: 566.005 s of audio, 0.005 s more than the 283 scans" in caplog.text
    soundfile.write(path, np.zeros(8000 * 567), 8000)  # 1 s longer: still within a TR
    assert lpp.check_audio(path, "cn", 1) == pytest.approx(567)


def test_audio_longer_than_its_scans_by_more_than_a_tr_is_refused(tmp_path, caplog):
    import soundfile

    path = tmp_path / "task-lppEN_section-5.wav"
    soundfile.write(path, np.zeros(8000 * 533), 8000)  # 533 s; section 5: 265 scans, 530 s
    with pytest.raises(lpp.CorpusError, match=r"section-5.wav: 533.000 s of audio.*265 scans"
                                              r".*530 s.*by 3.000 s, more than one TR"):
        lpp.check_audio(path, "en", 5)
    assert not caplog.records


def test_audio_that_ends_more_than_a_tr_before_the_extra_scans_is_refused(tmp_path):
    import soundfile

    path = tmp_path / "task-lppEN_section-6.wav"  # 343 scans, the last 4 after the audio
    soundfile.write(path, np.zeros(8000 * 533), 8000)  # 533 s: 145 s short of 678 s
    with pytest.raises(lpp.CorpusError, match=r"section-6.wav: 533.000 s of audio.*until 678 s"
                                              r".*ends 145.000 s early"):
        lpp.check_audio(path, "en", 6)
    soundfile.write(path, np.zeros(8000 * 677), 8000)  # 1 s short: within a TR
    assert lpp.check_audio(path, "en", 6) == pytest.approx(677)


def test_participant_ids_are_normalised_or_refused():
    assert lpp.participant_id("CN018") == lpp.participant_id("sub-cn018") == "sub-CN018"
    with pytest.raises(ValueError, match="excluded: 'CN18' is not a participant id"):
        lpp.participant_id("CN18", "excluded")
