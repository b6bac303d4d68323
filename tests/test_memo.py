"""config/memo.py: results kept for a while per process, misses and errors never."""

import pytest

from config import memo
from config.memo import memo_clear, memo_for


class Source:
    def __init__(self):
        self.calls = 0
        self.value: object = "first"

    def read(self, key: str) -> object:
        self.calls += 1
        if isinstance(self.value, Exception):
            raise self.value
        return self.value


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(memo.time, "monotonic", lambda: now[0])
    return now


def test_a_result_is_kept_for_its_seconds_then_read_again(clock):
    source = Source()
    read = memo_for(1.0)(source.read)

    assert read("a") == "first"
    source.value = "second"
    clock[0] += 0.9
    assert read("a") == "first"
    assert source.calls == 1

    clock[0] += 0.2
    assert read("a") == "second"
    assert source.calls == 2


def test_each_argument_has_its_own_result(clock):
    source = Source()
    read = memo_for(1.0)(source.read)

    read("a")
    read("b")
    read(key="a")

    assert source.calls == 3


def test_a_miss_or_an_error_is_never_kept(clock):
    source = Source()
    read = memo_for(1.0)(source.read)
    source.value = None
    assert read("a") is None
    assert read("a") is None
    source.value = LookupError("down")
    with pytest.raises(LookupError):
        read("a")
    source.value = "back"

    assert read("a") == "back"
    assert source.calls == 4


def test_the_memo_is_bounded_and_cleared_on_demand(clock):
    source = Source()
    read = memo_for(60.0)(source.read)
    for n in range(memo.MAX_ENTRIES + 10):
        read(str(n))
    calls = source.calls

    read("0")  # the oldest were dropped to stay within MAX_ENTRIES
    read(str(memo.MAX_ENTRIES + 9))  # the newest is still kept
    assert source.calls == calls + 1

    memo_clear()
    read(str(memo.MAX_ENTRIES + 9))
    assert source.calls == calls + 2
