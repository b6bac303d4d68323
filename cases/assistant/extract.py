"""Values the assistant finds in a customer's message: amounts of money, dates (also
relative ones, from the message's own time in the contact center's time zone) and card
endings. Pure functions: no database."""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import get_date_format
from babel.numbers import NumberFormatError, get_territory_currencies, parse_decimal

DEFAULT_LOCALE = "en_GB"

# Symbols and words that name a currency; "$" alone is the locale's dollar.
CURRENCY_SYMBOLS = {"£": "GBP", "€": "EUR", "¥": "JPY", "₹": "INR", "$": "$"}
CURRENCY_CODES = ("GBP", "EUR", "USD", "CAD", "AUD", "CHF", "JPY", "INR", "SEK", "NOK", "DKK")
CURRENCY_WORDS = {
    "pound": "GBP",
    "pounds": "GBP",
    "quid": "GBP",
    "euro": "EUR",
    "euros": "EUR",
    "dollar": "$",
    "dollars": "$",
    "bucks": "$",
}

_NUMBER = r"\d{1,3}(?:[.,\u00a0\u202f' ]\d{3})*(?:[.,]\d{1,2})?(?!\d)|\d+(?:[.,]\d{1,2})?(?!\d)"
_SYMBOL = "|".join(re.escape(s) for s in CURRENCY_SYMBOLS)
_CODE = "|".join(CURRENCY_CODES)
_WORD = "|".join(sorted(CURRENCY_WORDS, key=len, reverse=True))
AMOUNT_PATTERN = re.compile(
    rf"(?P<pre>{_SYMBOL}|\b(?:{_CODE})\b)\s?(?P<n1>{_NUMBER})"
    rf"|(?<![\d.,])(?P<n2>{_NUMBER})\s?(?:(?P<post>{_SYMBOL})|(?P<code>\b(?:{_CODE})\b)"
    rf"|(?P<word>\b(?:{_WORD})\b))",
    re.IGNORECASE,
)

CARD_PATTERN = re.compile(
    r"(?:end(?:s|ing)?(?:\s+(?:in|with))?|last\s+(?:4|four)(?:\s+digits)?(?:\s+(?:are|is|of))?"
    r"|(?:\*{2,}|x{2,}|•{2,})\s?)"
    r"[\s:#-]*(?P<digits>\d{4})\b",
    re.IGNORECASE,
)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH = r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"  # noqa: E501
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(?P<year>\d{4}))?"
RELATIVE_DAYS = {
    "day before yesterday": 2,
    "yesterday": 1,
    "last night": 1,
    "today": 0,
    "this morning": 0,
    "this afternoon": 0,
    "earlier today": 0,
    "tonight": 0,
}
DATE_PATTERNS = (
    ("iso", re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b")),
    (
        "numeric",
        re.compile(r"\b(?P<a>\d{1,2})(?P<sep>[/.])(?P<b>\d{1,2})(?:(?P=sep)(?P<y>\d{4}|\d{2}))?\b"),
    ),
    ("day_month", re.compile(rf"\b{_DAY}(?:\s+of)?\s+{_MONTH}\b{_YEAR}", re.IGNORECASE)),
    ("month_day", re.compile(rf"\b{_MONTH}\s+{_DAY}\b{_YEAR}", re.IGNORECASE)),
    (
        "ago",
        re.compile(
            r"\b(?P<n>\d+|a|an|one|two|three|four|five|six)\s+(?P<unit>days?|weeks?)\s+ago\b", re.I
        ),
    ),
    (
        "weekday",
        re.compile(
            r"\b(?P<last>last\s+|this\s+past\s+|on\s+)?(?P<wd>" + "|".join(WEEKDAYS) + r")\b", re.I
        ),
    ),
    (
        "relative",
        re.compile(r"\b(?:the\s+)?(?P<rel>" + "|".join(RELATIVE_DAYS) + r")\b", re.IGNORECASE),
    ),
)
SMALL_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def as_json(self) -> dict[str, str]:
        return {"amount": f"{self.amount:.2f}", "currency": self.currency}


@dataclass(frozen=True)
class Found:
    """A value and the words of the message it was read from."""

    value: Money | date | str
    text: str


def locale_get(name: str | None) -> Locale:
    """The customer's locale (`en_GB`, `de-DE`, `fr`), the default when unknown."""
    for candidate in (name, DEFAULT_LOCALE):
        if not candidate:
            continue
        try:
            return Locale.parse(str(candidate).replace("-", "_"))
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    return Locale.parse(DEFAULT_LOCALE)


def locale_currency(locale: Locale) -> str:
    """The currency of the locale's territory (en_GB → GBP, de_DE → EUR, en → USD)."""
    territory = locale.territory or {"en": "US", "de": "DE", "fr": "FR"}.get(locale.language, "")
    currencies = get_territory_currencies(territory) if territory else []
    return currencies[0] if currencies else "USD"


def number_parse(text: str, locale: Locale) -> Decimal | None:
    """A number written the locale's way (1,234.50 in en_GB, 1.234,50 in de_DE)."""
    cleaned = text.strip().replace("\u202f", "\u00a0")
    # A short number with a decimal comma or point, whichever the locale uses (49,99 or 49.99).
    if re.fullmatch(r"\d+[.,]\d{1,2}", cleaned):
        return Decimal(cleaned.replace(",", "."))
    try:
        return parse_decimal(cleaned, locale=locale, strict=False)
    except NumberFormatError:
        return None


def _dollar(locale: Locale) -> str:
    currency = locale_currency(locale)
    return currency if currency in ("USD", "CAD", "AUD", "NZD") else "USD"


def amounts_find(text: str, *, locale: Locale) -> list[Found]:
    """Every amount of money with a currency sign, code or word: "£250", "250 euros",
    "EUR 1.234,50" (de)."""
    found = []
    for match in AMOUNT_PATTERN.finditer(text):
        number = match.group("n1") or match.group("n2")
        amount = number_parse(number, locale)
        if amount is None:
            continue
        mark = (
            match.group("pre")
            or match.group("post")
            or match.group("code")
            or match.group("word")
            or ""
        )
        currency = (
            CURRENCY_SYMBOLS.get(mark)
            or CURRENCY_WORDS.get(mark.lower())
            or (mark.upper() if mark.upper() in CURRENCY_CODES else "")
        )
        if currency == "$":
            currency = _dollar(locale)
        found.append(Found(Money(amount=amount, currency=currency), match.group(0).strip()))
    return found


def card_endings_find(text: str) -> list[Found]:
    """A card's last four digits: "ending 4921", "last four digits are 4921", "****4921"."""
    return [Found(m.group("digits"), m.group(0).strip()) for m in CARD_PATTERN.finditer(text)]


def _month_number(name: str) -> int:
    name = name.lower()
    return next(i for i, month in enumerate(MONTHS, start=1) if month.startswith(name[:3]))


def _past(day: int, month: int, year: int | None, today: date) -> date | None:
    """The date; without a year, the latest one not after today."""
    try:
        if year is not None:
            return date(year, month, day)
        candidate = date(today.year, month, day)
        return candidate if candidate <= today else date(today.year - 1, month, day)
    except ValueError:
        return None


def _day_first(locale: Locale) -> bool:
    """Whether the locale writes short dates day first (en_GB 03/05 is 3 May, en_US is 5 March)."""
    pattern = get_date_format("short", locale=locale).pattern.lower()
    return pattern.find("d") < pattern.find("m")


def dates_find(text: str, *, now: datetime, locale: Locale) -> list[Found]:
    """Every date the text names, relative ones counted from `now` (the message's time in
    the contact center's time zone): "yesterday", "on Monday" (the latest Monday not after
    today), "last Monday" (the one before today), "3 days ago", "3rd March", "03/05" (by the
    locale's order), "2026-03-05". Dates without a year are the latest such day not in the
    future."""
    today = now.date()
    found: list[tuple[int, Found]] = []
    taken: list[range] = []

    def add(match: re.Match, value: date | None) -> None:
        span = range(match.start(), match.end())
        if value is None or any(set(span) & set(other) for other in taken):
            return
        taken.append(span)
        found.append((match.start(), Found(value, match.group(0).strip())))

    for kind, pattern in DATE_PATTERNS:
        for m in pattern.finditer(text):
            if kind == "iso":
                add(m, _past(int(m["d"]), int(m["m"]), int(m["y"]), today))
            elif kind == "numeric":
                if m["sep"] == "." and not m["y"]:
                    continue  # 12.50 is an amount, not a date
                a, b = int(m["a"]), int(m["b"])
                day, month = (a, b) if _day_first(locale) else (b, a)
                year = m["y"]
                full_year = (int(year) + 2000 if len(year) == 2 else int(year)) if year else None
                add(m, _past(day, month, full_year, today))
            elif kind in ("day_month", "month_day"):
                year = int(m["year"]) if m["year"] else None
                add(m, _past(int(m["day"]), _month_number(m["month"]), year, today))
            elif kind == "ago":
                n = m["n"].lower()
                count = int(n) if n.isdigit() else SMALL_NUMBERS.get(n, 1)
                days = count * (7 if m["unit"].lower().startswith("week") else 1)
                add(m, today - timedelta(days=days))
            elif kind == "weekday":
                back = (today.weekday() - WEEKDAYS.index(m["wd"].lower())) % 7
                qualifier = (m["last"] or "").strip().lower()
                if back == 0 and qualifier in ("last", "this past"):
                    back = 7
                add(m, today - timedelta(days=back))
            else:
                add(m, today - timedelta(days=RELATIVE_DAYS[m["rel"].lower()]))
    return [item for _, item in sorted(found, key=lambda pair: pair[0])]
