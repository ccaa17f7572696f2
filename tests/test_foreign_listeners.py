"""Foreign listeners: the native model's advantage in listeners who know the stimulus's
language, against listeners who hear it without knowing it."""
import numpy as np
import pytest

from analysis.demo import foreign_listeners, world


def test_an_advantage_beyond_the_foreign_one_is_detected_only_when_larger():
    rng = np.random.default_rng(0)
    foreign = rng.normal(0.01, 0.005, 12)
    larger = foreign_listeners.compare(rng.normal(0.03, 0.005, 12), foreign)
    assert larger["detected"] and larger["p"] < 0.05 and larger["mean_difference"] > 0
    smaller = foreign_listeners.compare(rng.normal(-0.01, 0.005, 12), foreign)
    assert smaller["p"] < 0.05 and not smaller["detected"]
    alike = foreign_listeners.compare(rng.normal(0.01, 0.005, 12), foreign)
    assert alike["p"] > 0.05 and not alike["detected"]
    with pytest.raises(ValueError, match="at least 2 in each"):
        foreign_listeners.compare(foreign[:1], foreign)


def test_the_foreign_group_is_drawn_after_the_listeners_the_claims_test(tiny_world,
                                                                        monkeypatch):
    asked = {}

    def named_world(name, seed=None, n_participants=0):
        asked.update(name=name, seed=seed, n_participants=n_participants)
        return tiny_world  # two listeners per language

    monkeypatch.setattr(world, "named_world", named_world)
    group = foreign_listeners.foreign_group(seed=3, n_listeners=1)
    assert asked == {"name": "no-language", "seed": 3, "n_participants": 2}
    assert [p.id for p in group.participants] == [tiny_world.participants_of("en")[1].id]
    assert list(group.stimuli) == ["en"]


def test_verdicts_name_the_foreign_advantage_and_each_world():
    rows = [{"group": "foreign", "region": "STS", "advantage": 0.02, "n": 12, "p": 0.001,
             "detected": True},
            {"group": "main", "region": "STS", "planted": True, "advantage": 0.03,
             "foreign_advantage": 0.02, "n": 12, "p": 0.2, "detected": False}]
    lines = foreign_listeners.verdicts(rows)
    assert lines[0].startswith("foreign listeners (12): the native model's advantage STS "
                               "+0.0200 (p = 0.001, detected)")
    assert lines[1] == ("main world (12 listeners): STS +0.0300 against +0.0200 (p = 0.2; "
                        "planted, not beyond it).")
