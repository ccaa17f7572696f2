"""How linear phones are in the demo's speech, with one voice and with varied voices.

For each language, speaks the whole demo story twice (one espeak-ng voice at its own pitch
and the base rate, no noise; then the world's varied voices, prosody and noise for
``--seed``), and the models' training text (:mod:`analysis.demo.training_speech`) once, timing
each. Then fits a multinomial logistic regression from one standardised 40-band log-mel frame
(20 ms) to the phone being spoken, on the story's first sections, and reports its accuracy on
the held-out last section (sentences it never saw), with the majority-class rate for chance.

    python benchmarks/speech_variability.py --languages en fr
"""
from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np

log = logging.getLogger("speech_variability")


def phone_decoding(spoken, held_out: int = 1) -> tuple[float, float, int]:
    """Held-out accuracy of phone decoding from one log-mel frame, its chance level, classes.

    Parameters
    ----------
    spoken : list of :class:`analysis.demo.speaking.SpokenSection`, in story order
    held_out : last sections scored (the others train the decoder)
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from analysis import acoustics, framing

    names = sorted({framing.phone_label(p) for s in spoken for p in s.phones.phone})
    inventory = {p: i for i, p in enumerate(names)}
    X, y, test = [], [], []
    for k, section in enumerate(spoken):
        mel = acoustics.model_frame_log_mel(section.waveform)
        labels = framing.frame_labels(section.phones, len(mel), inventory)
        keep = labels >= 0
        X.append(mel[keep])
        y.append(labels[keep])
        test.append(np.full(keep.sum(), k >= len(spoken) - held_out))
    X, y, test = np.concatenate(X), np.concatenate(y), np.concatenate(test)
    train = ~test & np.isin(y, np.unique(y[~test]))
    decoder = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    decoder.fit(X[train], y[train])
    accuracy = float(np.mean(decoder.predict(X[test]) == y[test]))
    chance = float(np.mean(y[test] == np.bincount(y[train]).argmax()))
    return accuracy, chance, len(np.unique(y[train]))


def main() -> None:
    from analysis.demo import speaking, story, training_speech, world

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", nargs="+", default=["en", "fr", "cn"])
    parser.add_argument("--seed", type=int, default=0, help="the world's seed")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    rows = []
    for language in args.languages:
        sections = [list(s) for s in story.sections(language)]
        row = {"language": language}
        for label, seed in (("one voice", None),
                            ("varied", (args.seed, world.STORY_STREAM,
                                        story.LANGUAGES.index(language)))):
            started = time.perf_counter()
            spoken = speaking.speak(sections, language, story.RATES[language], seed)
            seconds = time.perf_counter() - started
            minutes = sum(len(s.waveform) for s in spoken) / 16000 / 60
            started = time.perf_counter()
            accuracy, chance, n_classes = phone_decoding(spoken)
            log.info("%s story, %s: %.2f min of audio spoken in %.1f s; phone from one log-mel "
                     "frame: %.1f %% held out (chance %.1f %%, %d phones; fit %.0f s)",
                     language, label, minutes, seconds, 100 * accuracy, 100 * chance,
                     n_classes, time.perf_counter() - started)
            row[label] = (minutes, seconds, accuracy, chance)
        with tempfile.TemporaryDirectory() as root:
            started = time.perf_counter()
            spoken = training_speech.load(language, root=Path(root))
            seconds = time.perf_counter() - started
            minutes = sum(len(s.waveform()) for s in spoken) / 16000 / 60
        log.info("%s training text: %d sentences, %.2f min of audio spoken and stored in %.1f s",
                 language, training_speech.N_SENTENCES, minutes, seconds)
        row["training"] = (minutes, seconds)
        rows.append(row)
    for row in rows:
        log.info("%s", row)


if __name__ == "__main__":
    main()
