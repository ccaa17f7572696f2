import numpy as np
import pytest

from analysis.datasets import read_audio, restrict


def test_demo_world_restricted_to_some_sections(tiny_world):
    two = restrict(tiny_world, [1, 3])
    assert [s.section for s in two.stimuli["en"]] == [1, 3]
    assert two.participants[0].bold_paths == tiny_world.participants[0].bold_paths[0:3:2]
    assert two.simulated == tiny_world.simulated and two.name == tiny_world.name
    assert restrict(tiny_world, None) is tiny_world
    with pytest.raises(ValueError, match="sections"):
        restrict(tiny_world, [7])


def test_a_participant_stacks_its_sections_and_a_stimulus_its_scans(tiny_world):
    participant = tiny_world.participants[0]
    stimuli = tiny_world.stimuli[participant.language]
    assert participant.bold().shape == (sum(s.n_scans for s in stimuli), 20484)
    assert tiny_world.participants_of("fr") == [p for p in tiny_world.participants
                                                if p.language == "fr"]
    np.testing.assert_allclose(stimuli[0].scan_times(),
                               np.arange(stimuli[0].n_scans) * stimuli[0].tr)
    assert participant.digest() != tiny_world.participants[1].digest()
    tiny_world.check_language("fr")
    with pytest.raises(ValueError, match=r"language='de'.* stimuli in en, fr, cn only"):
        tiny_world.check_language("de")


def test_listeners_are_grouped_by_what_they_heard_and_unknown_ids_are_named(tiny_world):
    (stimuli, people), = tiny_world.groups("en")
    assert [p.id for p in people] == [p.id for p in tiny_world.participants_of("en")]
    assert [p.id for p in tiny_world.groups("en", [people[1].id])[0][1]] == [people[1].id]
    with pytest.raises(ValueError, match=r"participants=\['sub-XX99'\]: no participant"):
        tiny_world.groups("en", ["sub-XX99"])


def test_audio_is_read_as_mono_16_khz(tmp_path):
    import soundfile

    t = np.arange(44100) / 44100
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.zeros_like(t)], axis=1)
    soundfile.write(tmp_path / "a.wav", stereo.astype(np.float32), 44100)
    audio = read_audio(tmp_path / "a.wav")
    assert audio.shape == (16000,) and audio.dtype == np.float32
    assert np.abs(audio).max() == pytest.approx(0.5, abs=0.01)  # the channels averaged
    (tmp_path / "b.wav").write_bytes(b"RIFF")
    with pytest.raises(ValueError, match="cannot read audio"):
        read_audio(tmp_path / "b.wav")


def test_stimulus_words_given_or_read_once_on_first_access(tmp_path):
    import dataclasses

    import pandas as pd

    from analysis.datasets import Stimulus

    table = pd.DataFrame({"word": ["le", "prince"], "onset": [0.1, 0.5], "offset": [0.4, 1.0]})
    given = Stimulus("en", 1, tmp_path / "a.wav", table, n_scans=3, tr=2.0)  # positional
    assert given.words is table and given.words_loaded
    reads = []
    lazy = Stimulus(language="en", section=1, audio_path=tmp_path / "a.wav", n_scans=3, tr=2.0,
                    words_loader=lambda: reads.append(1) or table)
    assert not lazy.words_loaded and reads == []
    assert lazy.words is table and lazy.words is table and reads == [1]  # read once, kept
    assert lazy == given  # the words are not part of a stimulus's identity
    moved = dataclasses.replace(given, n_scans=4)
    assert moved.words is table and moved.n_scans == 4
    with pytest.raises(TypeError, match="give words .* or words_loader"):
        Stimulus("en", 1, tmp_path / "a.wav", n_scans=3, tr=2.0)
    broken = Stimulus("en", 2, tmp_path / "b.wav", n_scans=3, tr=2.0,
                      words_loader=lambda: pd.DataFrame({"word": []}))
    with pytest.raises(ValueError, match="section 2.*b.wav.*without columns \\['offset', "
                                         "'onset'\\]"):
        broken.words


def test_stimulus_excerpt_gives_the_first_seconds_and_words(tmp_path):
    import numpy as np
    import pandas as pd
    import soundfile

    from analysis.datasets import Stimulus

    soundfile.write(tmp_path / "a.wav", np.zeros(16000 * 6, dtype=np.float32), 16000)
    words = pd.DataFrame({"word": ["once", "upon", "a", "time", "there", "was", "a", "prince"],
                          "onset": [0.1, 0.4, 0.6, 0.8, 1.2, 1.5, 1.7, 3.8],
                          "offset": [0.3, 0.6, 0.7, 1.1, 1.4, 1.6, 1.9, 4.4]})
    stimulus = Stimulus("en", 1, tmp_path / "a.wav", words, n_scans=3, tr=2.0)
    waveform, caption = stimulus.excerpt(4.0)
    assert waveform.shape == (64000,)
    assert caption == "once upon a time there was …"  # six words, none after 3.5 s
    assert stimulus.excerpt(4.0, n_words=2)[1] == "once upon …"
