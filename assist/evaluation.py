"""Measuring the suggestions on a labelled set: top-1 and top-3 hit rates of the ranking
(BM25 with the intent, and on the text alone) and of a plain keyword match."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from assist import ranking
from assist.models import SuggestionKind


@dataclass(frozen=True)
class Case:
    line: int
    message: str
    intent: str
    expected: frozenset[str]  # keys: "article:<slug>" or "phrase:<shortcut>"


@dataclass(frozen=True)
class Rates:
    top1: float
    top3: float


def cases_read(path: Path) -> list[Case]:
    """The labelled lines: message TAB intent TAB key|key…; # starts a comment."""
    cases = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        parts = raw.split("\t")
        if len(parts) != 3:
            raise ValueError(f"{path}:{number}: expected 3 tab-separated fields, got {len(parts)}")
        message, intent, expected = parts
        keys = frozenset(key.strip() for key in expected.split("|") if key.strip())
        if not keys:
            raise ValueError(f"{path}:{number}: no expected phrase or article")
        cases.append(Case(number, message.strip(), intent.strip(), keys))
    return cases


def rates(cases: Iterable[Case], rank: Callable[[Case], list[str]]) -> Rates:
    """Hit rates: an expected key first, or among the first three."""
    cases = list(cases)
    top1 = top3 = 0
    for case in cases:
        keys = rank(case)
        top1 += bool(keys[:1] and keys[0] in case.expected)
        top3 += bool(case.expected & set(keys[:3]))
    return Rates(top1 / len(cases), top3 / len(cases)) if cases else Rates(0.0, 0.0)


def item_key(item: ranking.Item, names: dict[tuple[str, int], str]) -> str:
    kind = "article" if item.kind == SuggestionKind.ARTICLE else "phrase"
    return f"{kind}:{names.get((item.kind, item.id), item.id)}"
