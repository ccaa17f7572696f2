"""The Narratives reader on a tree built from every real file of the shared folder.

The expected numbers are read off the corpus's files: 873 raw scans in
``FILE_LISTING_annexed.tsv`` (per task as narratives.md lists them), 345 listeners in
``participants.tsv``, 27 scans in ``code/scan_exclude.json`` (26 listener-task entries).
"""
import json
import logging

import numpy as np
import pandas as pd
import pytest

from analysis.datasets import narratives, narratives_words
from analysis.datasets.lpp import CorpusError

# Scans and listeners per task after the default rules: scrambled notthefall and schema
# skipped, a listener's task left out when scan_exclude.json lists one of its scans. From the
# listing: lucy 16 - 2, merlin 36 - 1, milkyway 53 - 3, notthefallintact 56 - 2,
# prettymouth 40 - 2, shapessocial 59 - 1, slumlordreach 18 - 1, tunnel 23 - 2; pieman 96
# scans of 82 listeners, less sub-001 (2 runs listed), sub-013 and sub-014 (run-2 listed,
# run-1 left out with it) and six single-scan listeners: 84 scans of 73 listeners.
DEFAULT = {"21styear": (25, 25), "black": (46, 46), "bronx": (47, 47), "forgot": (46, 46),
           "lucy": (14, 14), "merlin": (35, 35), "milkyway": (50, 50),
           "notthefallintact": (54, 54), "pieman": (84, 73), "piemanpni": (46, 46),
           "prettymouth": (38, 38), "shapesphysical": (59, 59), "shapessocial": (58, 58),
           "sherlock": (36, 36), "slumlordreach": (17, 17), "tunnel": (21, 21)}
LISTENERS_DEFAULT = 319  # of 345: narratives.md's count with the authors' rules
ALL_SCANS, ALL_LISTENERS = 873, 345


def per_task(index: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """``{task: (scans, listeners)}`` of an index (a scan: participant, task and run)."""
    scans = index.drop_duplicates(["participant", "task", "run"])
    return {task: (len(group), group.participant.nunique())
            for task, group in scans.groupby("task")}


def n_scans(index: pd.DataFrame) -> int:
    return len(index.drop_duplicates(["participant", "task", "run"]))


@pytest.fixture(scope="module")
def default_index(narratives_tree):
    return narratives.index_scans(narratives_tree)


def test_scans_and_listeners_per_task_after_the_default_rules(default_index):
    assert per_task(default_index) == DEFAULT
    assert n_scans(default_index) == sum(s for s, _ in DEFAULT.values()) == 676
    assert default_index.participant.nunique() == LISTENERS_DEFAULT
    assert list(default_index.columns) == ["participant", "task", "run", "story", "condition",
                                           "audio_path", "audio_start", "onset", "duration",
                                           "tr", "bold_paths"]


def test_every_scan_without_rules_and_excluding_only_the_scans_listed(narratives_tree):
    everything = narratives.index_scans(narratives_tree, skip_scrambled=False,
                                        apply_exclusions=False)
    assert (n_scans(everything), everything.participant.nunique()) == (ALL_SCANS, ALL_LISTENERS)
    # one row per story: slumlordreach's 18 scans and schema's 124 runs have two each
    assert len(everything) == ALL_SCANS + 18 + 124
    by_scan = narratives.index_scans(narratives_tree, exclusion_unit="scan")
    assert (n_scans(by_scan), by_scan.participant.nunique()) == (678, 321)
    kept = by_scan[by_scan.task == "pieman"]
    assert set(kept.run[kept.participant.isin(["sub-013", "sub-014"])]) == {"1"}
    with pytest.raises(ValueError, match="exclusion_unit='run'; choose one of task, scan"):
        narratives.index_scans(narratives_tree, exclusion_unit="run")


def test_exclusions_on_and_off(narratives_tree, default_index):
    kept = narratives.index_scans(narratives_tree, apply_exclusions=False)
    # 27 scans listed, 3 of them of skipped tasks; 2 more runs left out with their task
    assert n_scans(kept) - n_scans(default_index) == 27 - 3 + 2
    assert kept.participant.nunique() == 328
    excluded = narratives.read_exclusions(narratives_tree)
    assert len(excluded) == 27 and excluded.groupby(["participant", "task"]).ngroups == 26
    pairs = set(zip(default_index.participant, default_index.task))
    assert not pairs & set(zip(excluded.participant, excluded.task))
    assert {("sub-001", "pieman"), ("sub-038", "milkyway")} <= set(zip(kept.participant,
                                                                       kept.task))


def test_scrambled_stories_and_schema_are_skipped_unless_asked(narratives_tree, default_index):
    assert not set(default_index.task) & set(narratives.SKIPPED_TASKS)
    assert not default_index.story.str.contains("scram").any()
    every = narratives.index_scans(narratives_tree, skip_scrambled=False)
    assert per_task(every)["notthefalllongscram"] == (22, 22)  # 24, 2 excluded
    assert per_task(every)["notthefallshortscram"] == (22, 22)  # 23, 1 excluded
    assert per_task(every)["schema"] == (124, 31)  # 4 runs each, none excluded
    schema = every[every.task == "schema"]
    assert set(schema.story) == {"bigbang", "friends", "himym", "santa", "seinfeld", "shame",
                                 "upintheair", "vinny"}
    assert (schema.audio_start == 0).all()  # each story its own WAV, movies dropped
    assert (n_scans(every), every.participant.nunique()) == (676 + 124 + 22 + 22, 336)


def test_milkyway_versions_come_from_the_condition(narratives_tree, default_index):
    milkyway = default_index[default_index.task == "milkyway"]
    assert milkyway.story.value_counts().to_dict() == {
        "milkywayoriginal": 17, "milkywayvodka": 17, "milkywaysynonyms": 16}
    assert (milkyway.story == "milkyway" + milkyway.condition).all()
    assert all(p.name == f"{s}_audio.wav" for p, s in zip(milkyway.audio_path, milkyway.story))
    every = narratives.index_scans(narratives_tree, apply_exclusions=False)
    assert every[every.task == "milkyway"].story.value_counts().to_dict() == {
        "milkywayoriginal": 18, "milkywayvodka": 18, "milkywaysynonyms": 17}  # as the tsv
    assert every.set_index(["participant", "task"]).story["sub-023", "milkyway"] == \
        "milkywayvodka"


def test_tr_is_read_per_scan_with_bids_inheritance(default_index, narratives_tree,
                                                   narratives_slow_milkyway):
    slow = set(narratives_slow_milkyway)  # scan sidecars of 1.52 s
    milkyway = default_index[default_index.task == "milkyway"]
    assert (milkyway.tr[milkyway.participant.isin(slow)] == 1.52).all()
    assert (milkyway.tr[~milkyway.participant.isin(slow)] == 1.5).all()  # top-level sidecar
    assert (default_index.tr[default_index.task != "milkyway"] == 1.5).all()
    assert milkyway.participant.isin(slow).sum() == 16  # 17, sub-038 excluded
    meta, read = narratives.read_sidecar(narratives_tree, "sub-023", "milkyway")
    assert meta["RepetitionTime"] == 1.52 and meta["TaskName"] == "milkyway"
    assert [p.name for p in read] == ["task-milkyway_bold.json",
                                      "sub-023_task-milkyway_bold.json"]


def test_slumlordreach_is_two_stories_in_one_wav(default_index):
    split = default_index[default_index.task == "slumlordreach"]
    assert len(split) == 2 * 17
    for _, scan in split.groupby("participant"):
        assert scan.story.tolist() == ["slumlord", "reach"]
        assert scan.onset.tolist() == [29.5, 969.5] and scan.duration.tolist() == [903.0, 825.0]
        # the WAV starts with the first music clip, 4.5 s into the scan
        assert scan.audio_start.tolist() == [25.0, 965.0]
        assert {p.name for p in scan.audio_path} == {"slumlordreach_audio.wav"}


def test_music_is_dropped_and_stories_placed_in_their_wav(default_index):
    pieman = default_index[default_index.task == "pieman"]
    assert (pieman.onset == 15.0).all() and (pieman.duration == 422.0).all()
    assert (pieman.audio_start == 15.0).all()  # after 13 s of music from the WAV's start
    merlin = default_index[default_index.task == "merlin"]
    assert (merlin.onset == 33.5).all() and (merlin.audio_start == 29.0).all()
    tunnel = default_index[default_index.task == "tunnel"]  # no music: the WAV is the story
    assert (tunnel.onset == 3.0).all() and (tunnel.audio_start == 0.0).all()
    assert default_index.groupby(["participant", "task", "run"], dropna=False).size().max() == 2


def test_prettymouth_scans_whose_story_overlaps_the_music_take_the_wav_place_of_the_others(
        narratives_tree, caplog):
    every = narratives.index_scans(narratives_tree, apply_exclusions=False)
    pretty = every[every.task == "prettymouth"].set_index("participant")
    assert pretty.onset["sub-038"] == 15.0 and pretty.onset["sub-105"] == 13.5
    assert (pretty.audio_start == 21.0).all()
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 2 and all("starts before the previous segment" in w
                                    for w in warned)
    assert "sub-038_task-prettymouth_events.tsv" in warned[0]


def test_multi_task_rows_of_participants_tsv(narratives_tree, default_index, caplog):
    table = narratives.read_participants(narratives_tree)
    assert table.participant.nunique() == ALL_LISTENERS
    sub016 = table[table.participant == "sub-016"].set_index("task")
    assert sub016.index.tolist() == ["pieman", "slumlordreach", "notthefallintact",
                                     "notthefallshortscram"]
    assert sub016.age.fillna("n/a").tolist() == ["n/a", "20", "20", "20"]
    assert sub016.comprehension["slumlordreach"] == "0.569"
    assert sub016.condition["notthefallintact"] == "intact-shortscram"
    rows = default_index[default_index.participant == "sub-016"]
    assert list(zip(rows.task, rows.run.fillna("-"), rows.story)) == [
        ("notthefallintact", "-", "notthefallintact"), ("pieman", "1", "pieman"),
        ("pieman", "2", "pieman"), ("slumlordreach", "-", "slumlord"),
        ("slumlordreach", "-", "reach")]
    assert rows.condition.fillna("n/a").tolist()[:3] == ["intact-shortscram", "n/a", "n/a"]
    sub023 = default_index[default_index.participant == "sub-023"].set_index("task")
    assert sub023.condition.fillna("n/a").to_dict() == {"milkyway": "vodka", "pieman": "n/a",
                                                        "prettymouth": "affair"}
    with caplog.at_level(logging.INFO, logger=narratives.__name__):
        narratives.index_scans(narratives_tree)
    assert "lists task black for sub-278, which has no scan of it" in caplog.text
    assert "lists task piemanpni for sub-280" in caplog.text


def test_bold_paths_are_the_authors_derivative_names(narratives_tree, shared_narratives,
                                                     default_index):
    meta = json.loads((shared_narratives / "code" / "task_meta.json").read_text())
    smoothed = {path.rsplit("/", 1)[1] for task in meta.values() for listener in task.values()
                for path in listener["bold"]["fsaverage6"]["sm6"]}
    clean = {name.replace("_desc-sm6", "_desc-clean") for name in smoothed}
    paths = [p for pair in default_index.bold_paths for p in pair]
    assert {p.name for p in paths} <= clean
    left, right = default_index.bold_paths.iloc[0]
    assert left.relative_to(narratives_tree).as_posix() == (
        "derivatives/afni-nosmooth/sub-001/func/"
        "sub-001_task-tunnel_space-fsaverage6_hemi-L_desc-clean.func.gii")
    assert right.name.endswith("hemi-R_desc-clean.func.gii")


def rewrite(path, old, new):
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))


def test_a_participants_row_whose_columns_are_not_aligned_is_refused(narratives_subset):
    root = narratives_subset("sub-016")
    rewrite(root / "participants.tsv", "n/a,n/a,intact-shortscram,intact-shortscram",
            "n/a,intact-shortscram,intact-shortscram")
    with pytest.raises(CorpusError, match=r"participants.tsv, line 17 \(sub-016\): 4 tasks "
                                          r"\(pieman,.*\) but 3 values of condition"):
        narratives.index_scans(root)


def test_broken_events_are_refused_naming_the_file_and_the_rule(narratives_subset):
    root = narratives_subset("sub-016", "sub-023")
    func = root / "sub-016" / "func"
    events = func / "sub-016_task-notthefallintact_events.tsv"
    rewrite(events, "\tmusic\t", "\tspeech\t")
    with pytest.raises(CorpusError, match=r"notthefallintact_events.tsv, line 2: trial_type "
                                          r"'speech' unknown"):
        narratives.index_scans(root)
    rewrite(events, "\tspeech\t", "\tmusic\t")
    rewrite(events, "29.5\t547.0", "29.5\tlong")
    with pytest.raises(CorpusError, match="line 3: duration must be a number.*'long'"):
        narratives.index_scans(root)
    rewrite(events, "29.5\tlong\tstory\tnotthefallintact_audio.wav",
            "29.5\t547.0\tstory\tn/a")
    with pytest.raises(CorpusError, match="line 3: a story segment without stim_file"):
        narratives.index_scans(root)
    events.write_text("onset\tduration\ttrial_type\tstim_file\n"
                      "4.5\t22.0\tmusic\tnotthefallintact_audio.wav\n")
    with pytest.raises(CorpusError, match="notthefallintact_events.tsv: no story segment"):
        narratives.index_scans(root)


def test_slumlordreach_without_its_two_stories_is_refused(narratives_subset):
    root = narratives_subset("sub-016")
    events = root / "sub-016" / "func" / "sub-016_task-slumlordreach_events.tsv"
    lines = events.read_text().splitlines()
    events.write_text("\n".join(lines[:3]) + "\n")  # music, slumlord: reach cut
    with pytest.raises(CorpusError, match=r"slumlordreach_events.tsv: 1 story segments, but "
                                          r"slumlordreach holds 2 stories in order "
                                          r"\(slumlord, reach\)"):
        narratives.index_scans(root)


def test_milkyway_events_and_condition_must_agree(narratives_subset):
    root = narratives_subset("sub-023")
    events = root / "sub-023" / "func" / "sub-023_task-milkyway_events.tsv"
    rewrite(events, "milkywayvodka_audio.wav", "milkywayoriginal_audio.wav")
    with pytest.raises(CorpusError, match=r"milkyway_events.tsv: stim_file milkywayoriginal_"
                                          r"audio.wav but .*participants.tsv says the listener "
                                          r"heard milkywayvodka"):
        narratives.index_scans(root)
    rewrite(events, "milkywayoriginal_audio.wav", "milkyway_audio.wav")  # unnamed version
    assert set(narratives.index_scans(root).story) >= {"milkywayvodka"}
    rewrite(root / "participants.tsv", "n/a,affair,vodka", "n/a,affair,n/a")
    with pytest.raises(CorpusError, match=r"participants.tsv: sub-023's condition for "
                                          r"milkyway is n/a; it must be one of original, "
                                          r"vodka, synonyms"):
        narratives.index_scans(root)


def test_a_scan_without_repetition_time_is_refused(narratives_subset):
    root = narratives_subset("sub-016", "sub-129")
    (root / "task-milkyway_bold.json").unlink()  # sub-129's TR is inherited from it
    with pytest.raises(CorpusError, match=r"sub-129_task-milkyway: no positive RepetitionTime "
                                          r"in its BOLD sidecars \(no sidecar"):
        narratives.index_scans(root)
    (root / "task-milkyway_bold.json").write_text('{"RepetitionTime": 1.5}')
    assert set(narratives.index_scans(root).tr) == {1.5}
    sidecar = root / "sub-016" / "func" / "sub-016_task-pieman_run-1_bold.json"
    rewrite(sidecar, '"RepetitionTime": 1.5', '"RepetitionTime": 0')
    with pytest.raises(CorpusError, match=r"sub-016_task-pieman_run-1: no positive "
                                          r"RepetitionTime.*sub-016_task-pieman_run-1_bold.json"
                                          r"; found 0"):
        narratives.index_scans(root)


def test_scans_and_exclusions_must_match_participants_tsv(narratives_subset):
    root = narratives_subset("sub-016")
    func = root / "sub-016" / "func"
    extra = func / "sub-016_task-lucy_events.tsv"
    extra.write_text((func / "sub-016_task-pieman_run-1_events.tsv").read_text())
    with pytest.raises(CorpusError, match=r"sub-016_task-lucy_events.tsv: a scan of task lucy, "
                                          r"but .*participants.tsv does not list lucy for "
                                          r"sub-016"):
        narratives.index_scans(root)
    extra.unlink()
    rewrite(root / "code" / "scan_exclude.json", '"sub-053_task-lucy"', '"sub-053_task-black"')
    with pytest.raises(CorpusError, match=r"scan_exclude.json: lucy / sub-053 lists "
                                          r"'sub-053_task-black', which is not a scan of that "
                                          r"task and participant"):
        narratives.index_scans(root)
    assert n_scans(narratives.index_scans(root, apply_exclusions=False)) == 4
    (root / "code" / "scan_exclude.json").unlink()
    with pytest.raises(CorpusError, match="scan_exclude.json is missing.*apply_exclusions"
                                          "=False"):
        narratives.index_scans(root)


def test_read_alignment_keeps_unaligned_words_out(tmp_path, gentle_alignment, caplog):
    path = tmp_path / "pieman" / "align.json"
    path.parent.mkdir()
    path.write_text(json.dumps(gentle_alignment()))
    with caplog.at_level(logging.INFO, logger=narratives_words.__name__):
        words = narratives.read_alignment(path)
    assert words.word.tolist() == ["Once", "upon", "a", "time", "there"]
    assert words.onset.tolist() == [0.5, 0.81, 1.02, 1.1, 2.0]
    assert words.offset.tolist() == [0.81, 1.02, 1.1, 1.52, 2.31]
    assert "5 words aligned, 1 unaligned" in caplog.text
    assert narratives.alignment_path(tmp_path.parent, "slumlord").as_posix().endswith(
        "stimuli/gentle/slumlord/align.json")


def test_read_alignment_refuses_broken_files(tmp_path, gentle_alignment):
    path = tmp_path / "align.json"
    with pytest.raises(CorpusError, match="align.json is missing.*fetch narratives"):
        narratives.read_alignment(path)
    path.write_text('{"words": [')
    with pytest.raises(CorpusError, match="align.json: not JSON"):
        narratives.read_alignment(path)
    path.write_text('{"transcript": "x"}')
    with pytest.raises(CorpusError, match="align.json: no 'words' list"):
        narratives.read_alignment(path)
    path.write_text(json.dumps(gentle_alignment([("x", 2.0, 1.0, "success")])))
    with pytest.raises(CorpusError, match=r"word 0 \('x'\) is aligned .* start=2.0, end=1.0"):
        narratives.read_alignment(path)



ICOSAHEDRAL = (12, 42, 162, 642, 2562, 10242)  # vertices of orders 0 to 5


def fsaverage5_spheres():
    from nilearn.datasets import load_fsaverage

    sphere = load_fsaverage("fsaverage5")["sphere"]
    return [sphere.parts[h].coordinates for h in ("left", "right")]


def test_fsaverage5_is_nested_in_its_own_orders():
    """The ordering that makes fsaverage5 the first vertices of fsaverage6 holds at every
    order of nilearn's fsaverage5 sphere: order k is the first vertices of order k + 1, the
    rest the midpoints of its edges."""
    for sphere in fsaverage5_spheres():
        assert len(sphere) == narratives.FSAVERAGE5_VERTICES
        for coarse, fine in zip(ICOSAHEDRAL, ICOSAHEDRAL[1:]):
            assert narratives.check_nested(sphere[:coarse], sphere[:fine]) < 1e-3


def test_check_nested_refuses_spheres_that_are_not_nested():
    sphere = fsaverage5_spheres()[0]
    with pytest.raises(ValueError, match="2562 and 10241 vertices are not icosahedral"):
        narratives.check_nested(sphere[:2562], sphere[:-1])
    moved = sphere.copy()
    moved[[5, 6]] = moved[[6, 5]]  # two vertices of the coarse order swapped
    with pytest.raises(ValueError, match="vertex 5 of the fine sphere .* not the coarse "
                                         "mesh's, in order"):
        narratives.check_nested(sphere[:2562], moved)
    shuffled = sphere.copy()
    shuffled[2562:] = np.random.default_rng(0).permutation(shuffled[2562:])
    assert narratives.check_nested(sphere[:2562], shuffled) < 1e-3  # order of added: free
    shuffled[3000] += [1.0, 0.0, 0.0]  # 1 mm off its edge's midpoint on a 100 mm sphere
    with pytest.raises(ValueError, match="vertex 3000 .* midpoint .* not the subdivision's"):
        narratives.check_nested(sphere[:2562], shuffled)


def test_fsaverage6_extends_fsaverage5_when_its_sphere_is_at_hand():
    """The check on fsaverage6 itself, whose sphere nilearn does not ship: it runs where
    ``ANALYSIS_FSAVERAGE6_SPHERE`` names FreeSurfer's ``fsaverage6/surf/lh.sphere`` (or a
    GIFTI sphere of its left hemisphere)."""
    import os

    import nibabel

    path = os.environ.get("ANALYSIS_FSAVERAGE6_SPHERE")
    if not path:
        pytest.skip("fsaverage6's sphere is not at hand (nilearn ships fsaverage5 only); set "
                    "ANALYSIS_FSAVERAGE6_SPHERE to fsaverage6/surf/lh.sphere to check it")
    if path.endswith((".gii", ".gii.gz")):
        fine = nibabel.load(path).agg_data("NIFTI_INTENT_POINTSET")
    else:
        fine = nibabel.freesurfer.read_geometry(path)[0]
    assert narratives.check_nested(fsaverage5_spheres()[0], fine) < 1e-3


def write_gifti(path, data):
    """A GIFTI time series, one float32 data array per volume: ``data`` of shape
    (n_scans, n_vertices)."""
    import nibabel

    arrays = [nibabel.gifti.GiftiDataArray(row.astype(np.float32),
                                           intent="NIFTI_INTENT_NONE",
                                           datatype="NIFTI_TYPE_FLOAT32") for row in data]
    path.parent.mkdir(parents=True, exist_ok=True)
    nibabel.save(nibabel.gifti.GiftiImage(darrays=arrays), path)


def test_surface_bold_is_read_onto_fsaverage5_left_then_right(narratives_subset):
    root = narratives_subset("sub-016")
    index = narratives.index_scans(root)
    left, right = index.bold_paths[index.task == "pieman"].iloc[0]
    vertices = np.arange(narratives.FSAVERAGE6_VERTICES)
    write_gifti(left, vertices + 100000 * np.arange(3)[:, None])
    write_gifti(right, -vertices - 100000 * np.arange(3)[:, None])
    data = narratives.read_surface_bold((left, right))
    assert data.shape == (3, 20484) and data.dtype == np.float32
    np.testing.assert_array_equal(data[1, :10242], np.arange(10242) + 100000)
    np.testing.assert_array_equal(data[2, 10242:], -np.arange(10242) - 200000)


def test_surface_bold_that_breaks_a_rule_is_refused(tmp_path):
    left, right = tmp_path / "hemi-L.func.gii", tmp_path / "hemi-R.func.gii"
    write_gifti(left, np.zeros((3, narratives.FSAVERAGE6_VERTICES)))
    write_gifti(right, np.zeros((3, narratives.FSAVERAGE5_VERTICES)))
    with pytest.raises(CorpusError, match=r"hemi-R.func.gii: \(3, 10242\) values, but a "
                                          r"hemisphere of fsaverage6 has 40962"):
        narratives.read_surface_bold((left, right))
    write_gifti(right, np.zeros((4, narratives.FSAVERAGE6_VERTICES)))
    with pytest.raises(CorpusError, match="hemi-L.func.gii has 3 volumes but .*hemi-R.func.gii "
                                          "has 4"):
        narratives.read_surface_bold((left, right))
    right.write_bytes(right.read_bytes()[:1000])
    with pytest.raises(CorpusError, match="hemi-R.func.gii: cannot read it as GIFTI"):
        narratives.read_surface_bold((left, right))
    right.unlink()
    with pytest.raises(CorpusError, match="hemi-R.func.gii is missing"):
        narratives.read_surface_bold((left, right))


def test_scans_must_last_until_their_story_ends(default_index):
    slumlordreach = default_index[default_index.task == "slumlordreach"].iloc[-1]
    end = slumlordreach.onset + slumlordreach.duration  # reach ends at 1794.5 s
    narratives.check_covers("scan.func.gii", 1196, 1.5, end)  # 1794 s: within one TR
    with pytest.raises(CorpusError, match=r"scan.func.gii: 1195 volumes of 1.5 s cover 1792.5 "
                                          r"s, but the scan's story ends at 1794.5 s"):
        narratives.check_covers("scan.func.gii", 1195, 1.5, end)


def test_the_tree_holds_every_real_file_unchanged(narratives_tree, shared_narratives):
    real = [p for p in shared_narratives.rglob("*") if p.is_file()]
    # every scan's events but those of milkyway (53) and slumlordreach (18): 873 - 71
    assert sum(p.name.endswith("_events.tsv") for p in real) == 802
    for path in real:
        assert (narratives_tree / path.relative_to(shared_narratives)).read_bytes() == \
            path.read_bytes(), path
