"""Settings read from the environment: config/env.py."""

import pytest

from config.env import env_seconds


def _seconds(monkeypatch, raw: str | None) -> float:
    if raw is None:
        monkeypatch.delenv("SOME_SECONDS", raising=False)
    else:
        monkeypatch.setenv("SOME_SECONDS", raw)
    return env_seconds("SOME_SECONDS", 0.25, low=0, high=60)


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, 0.25), ("", 0.25), ("0.5", 0.5), ("2", 2.0), (" 60 ", 60.0)]
)
def test_seconds_are_read_with_fractions_and_default_when_unset(monkeypatch, raw, expected):
    assert _seconds(monkeypatch, raw) == expected


@pytest.mark.parametrize("raw", ["0", "-1", "60.5", "nan", "inf"])
def test_seconds_out_of_range_are_refused_saying_the_range(monkeypatch, raw):
    with pytest.raises(
        ValueError, match=r"SOME_SECONDS=.* out of range: use more than 0 and at most 60"
    ):
        _seconds(monkeypatch, raw)


def test_seconds_that_are_not_a_number_are_refused(monkeypatch):
    with pytest.raises(ValueError, match=r"SOME_SECONDS='soon' is not a number of seconds"):
        _seconds(monkeypatch, "soon")
