"""Measuring the assistant on a labelled set (tests/data/cases.tsv): top-1 and top-3 of
the ranking, and the accuracy of each extractor. Pure functions: no database."""

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from cases.assistant.extract import (
    Money,
    amounts_find,
    card_endings_find,
    dates_find,
    locale_get,
)
from cases.assistant.ranking import CaseTypeIndex, CaseTypeText


@dataclass(frozen=True)
class LabelledLine:
    text: str
    case_type: str  # the prefix
    amount: Money | None
    date: date | None
    card: str


def labelled_lines_read(path: Path) -> list[LabelledLine]:
    rows = [
        line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")
    ]
    lines = []
    for row in csv.DictReader(rows, delimiter="\t"):
        amount = None
        if row["amount"]:
            value, currency = row["amount"].split()
            amount = Money(Decimal(value), currency)
        lines.append(
            LabelledLine(
                text=row["text"],
                case_type=row["case_type"],
                amount=amount,
                date=date.fromisoformat(row["date"]) if row["date"] else None,
                card=row["card"] or "",
            )
        )
    return lines


@dataclass
class Evaluation:
    lines: int = 0
    top1: int = 0
    top3: int = 0
    amount: int = 0
    date: int = 0
    card: int = 0
    misses: list[str] = field(default_factory=list)

    def rate(self, hits: int) -> float:
        return hits / self.lines if self.lines else 0.0

    def summary(self) -> str:
        return (
            f"{self.lines} lines: top-1 {self.rate(self.top1):.1%}, "
            f"top-3 {self.rate(self.top3):.1%}; "
            f"amount {self.rate(self.amount):.1%}, date {self.rate(self.date):.1%}, "
            f"card ending {self.rate(self.card):.1%}"
        )


def _same_money(found: Money | None, expected: Money | None) -> bool:
    if found is None or expected is None:
        return found is expected
    return found.amount == expected.amount and found.currency == expected.currency


def evaluate(
    *,
    lines: Iterable[LabelledLine],
    case_types: Sequence[CaseTypeText],
    prefixes: dict[int, str],
    now: datetime,
    locale: str = "en_GB",
) -> Evaluation:
    """Rank and extract each line as the assistant does (the first value found in the
    line pre-fills a field) and count the hits; an extractor hits a line when what it
    pre-fills equals the label, empty included."""
    index = CaseTypeIndex(case_types)
    babel_locale = locale_get(locale)
    result = Evaluation()
    for line in lines:
        result.lines += 1
        ranked = [prefixes[s.case_type_id] for s in index.rank(texts=[line.text], limit=3)]
        result.top1 += bool(ranked) and ranked[0] == line.case_type
        result.top3 += line.case_type in ranked
        if ranked[:1] != [line.case_type]:
            result.misses.append(f"rank {ranked} for {line.case_type}: {line.text}")
        amounts = amounts_find(line.text, locale=babel_locale)
        amount = amounts[0].value if amounts else None
        if _same_money(amount if isinstance(amount, Money) else None, line.amount):
            result.amount += 1
        else:
            result.misses.append(f"amount {amount} for {line.amount}: {line.text}")
        dates = dates_find(line.text, now=now, locale=babel_locale)
        found_date = dates[0].value if dates else None
        if found_date == line.date:
            result.date += 1
        else:
            result.misses.append(f"date {found_date} for {line.date}: {line.text}")
        cards = card_endings_find(line.text)
        card = cards[0].value if cards else ""
        if card == line.card:
            result.card += 1
        else:
            result.misses.append(f"card {card!r} for {line.card!r}: {line.text}")
    return result
