"""The assistant's extractors: amounts by locale, relative and written dates, card endings."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from cases.assistant.extract import (
    Money,
    amounts_find,
    card_endings_find,
    dates_find,
    locale_currency,
    locale_get,
)

# Wednesday 25 November 2026, 10:00 in London.
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/London"))
GB = locale_get("en_GB")


def test_an_amount_with_a_pound_sign():
    [found] = amounts_find("someone took £250 from my card on Monday", locale=GB)
    assert found.value == Money(Decimal("250"), "GBP")
    assert found.text == "£250"


def test_amounts_are_read_the_locale_s_way():
    de = locale_get("de-DE")
    [found] = amounts_find("Es wurden 1.234,50 € abgebucht", locale=de)
    assert found.value == Money(Decimal("1234.50"), "EUR")
    [found] = amounts_find("charged 1,234.50 GBP", locale=GB)
    assert found.value == Money(Decimal("1234.50"), "GBP")


def test_a_dollar_is_the_locale_s_dollar():
    assert amounts_find("$40", locale=locale_get("en_CA"))[0].value.currency == "CAD"
    assert amounts_find("$40", locale=GB)[0].value.currency == "USD"


def test_a_bare_number_is_no_amount():
    assert amounts_find("my card ends 1234 and I am 45", locale=GB) == []


def test_the_locale_s_currency():
    assert locale_currency(locale_get("en_GB")) == "GBP"
    assert locale_currency(locale_get("fr_FR")) == "EUR"
    assert locale_currency(locale_get("nonsense")) == "GBP"  # the default locale


def test_relative_dates_count_from_the_message_time():
    def first(text: str, now: datetime = NOW) -> date:
        return dates_find(text, now=now, locale=GB)[0].value

    assert first("on Monday") == date(2026, 11, 23)
    assert first("yesterday") == date(2026, 11, 24)
    assert first("last Wednesday") == date(2026, 11, 18)
    assert first("on Wednesday") == date(2026, 11, 25)
    assert first("3 days ago") == date(2026, 11, 22)
    assert first("a week ago") == date(2026, 11, 18)
    # Just after midnight in London it is already Thursday (23:30 UTC on Wednesday is not).
    late = datetime(2026, 11, 26, 0, 30, tzinfo=ZoneInfo("Europe/London"))
    assert first("yesterday", late) == date(2026, 11, 25)


def test_written_dates_by_the_locale_s_order():
    assert dates_find("on 03/11", now=NOW, locale=GB)[0].value == date(2026, 11, 3)
    assert dates_find("on 03/11", now=NOW, locale=locale_get("en_US"))[0].value == date(2026, 3, 11)
    assert dates_find("the 3rd of November", now=NOW, locale=GB)[0].value == date(2026, 11, 3)
    # Without a year: the latest such day not in the future.
    assert dates_find("December 24", now=NOW, locale=GB)[0].value == date(2025, 12, 24)


def test_an_amount_is_not_a_date():
    assert dates_find("£12.50", now=NOW, locale=GB) == []


def test_card_endings():
    assert card_endings_find("the card ending in 4921")[0].value == "4921"
    assert card_endings_find("last four digits are 1234")[0].value == "1234"
    assert card_endings_find("card ****5678")[0].value == "5678"
    assert card_endings_find("I paid 1234 pounds") == []
