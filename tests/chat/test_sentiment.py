"""chat.sentiment, the scorer: chat cues (emoji, emoticons, slang, stretched words,
intensifiers, negation) move the score the right way, TextBlob's lexicon is kept, the
newest message weighs most, and the `sentiment_eval` command measures it on labelled
files and refuses files it cannot read, naming the line."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from textblob import TextBlob

from chat import sentiment
from chat.management.commands.sentiment_eval import metrics, read_labelled_file
from chat.models import SentimentLabel

POSITIVE, NEUTRAL, NEGATIVE = (
    SentimentLabel.POSITIVE,
    SentimentLabel.NEUTRAL,
    SentimentLabel.NEGATIVE,
)


def label(text: str) -> SentimentLabel:
    return sentiment.score([text]).label


# --- one message ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thanks, that fixed it!", POSITIVE),
        ("This is the worst service ever", NEGATIVE),
        ("I need to reset my password", NEUTRAL),
        ("My order is A-1009", NEUTRAL),
    ],
)
def test_plain_text_gets_the_obvious_label(text, expected):
    """Plain praise is positive, plain complaint negative, a bare request neutral."""
    assert label(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("👍", POSITIVE),
        ("👍🏽", POSITIVE),  # skin tone modifier
        ("❤️", POSITIVE),  # with the emoji variation selector
        ("🙏", POSITIVE),
        ("😡😡", NEGATIVE),
        ("💔", NEGATIVE),  # VADER alone scores "broken heart" positive
        ("🙄", NEGATIVE),
        ("👎", NEGATIVE),
    ],
)
def test_emoji_carry_sentiment(text, expected):
    """Chat emoji that VADER's own table misses or gets wrong are scored, also with
    skin tones and variation selectors."""
    assert label(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("thanks :)", POSITIVE),
        ("thanks:)", POSITIVE),  # glued to the word
        ("ok :(", NEGATIVE),
        (":'(", NEGATIVE),
        ("xD", POSITIVE),
        ("still waiting -_-", NEGATIVE),
    ],
)
def test_emoticons_carry_sentiment(text, expected):
    """Emoticons count, also when typed right after a word."""
    assert label(text) == expected


def test_an_emoticon_inside_a_url_is_not_an_emoticon():
    """A link's ":/" is no frown: URLs are not scored."""
    assert label("see https://example.com/:/help and http://x.io/:(") == NEUTRAL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ugh", NEGATIVE),
        ("wtf is this", NEGATIVE),
        ("the app keeps crashing", NEGATIVE),
        ("this is a ripoff", NEGATIVE),
        ("thx", POSITIVE),
        ("tysm", POSITIVE),
    ],
)
def test_chat_slang_carries_sentiment(text, expected):
    assert label(text) == expected


def test_support_requests_are_not_positive():
    """ "please" and "help" ask for something; they do not make a message happy."""
    assert label("please help") == NEUTRAL
    assert label("please help, my card was stolen") == NEGATIVE


@pytest.mark.parametrize(
    ("negated", "plain"),
    [("not bad", "bad"), ("not good", "good"), ("never happy with it", "happy with it")],
)
def test_negation_flips_the_sign(negated, plain):
    """ "not bad" is mildly positive, "not good" negative."""
    assert sentiment.text_score(negated) * sentiment.text_score(plain) < 0


def test_not_bad_is_positive_where_textblob_alone_is_also_right_but_vader_words_rule():
    """The two classic chat negations, as the ticket names them."""
    assert label("not bad") == POSITIVE
    assert label("not bad at all") == POSITIVE
    assert label("this is not good") == NEGATIVE


def test_intensifiers_capitals_and_exclamation_marks_strengthen():
    """Boosters, ALL CAPS and "!!!" each make the same words score further from 0."""
    base = sentiment.text_score("the agent was helpful")
    assert sentiment.text_score("the agent was really helpful") > base
    assert sentiment.text_score("the agent was HELPFUL") > base
    assert sentiment.text_score("the agent was helpful!!!") > base
    bad = sentiment.text_score("this is bad")
    assert sentiment.text_score("this is really bad") < bad


def test_stretched_words_are_read_as_the_word():
    """ "sooo goooood" scores like "so good"."""
    assert sentiment.text_score("sooo goooood") == pytest.approx(sentiment.text_score("so good"))
    assert label("nooooo this is terrrible") == NEGATIVE


def test_one_angry_word_outweighs_a_polite_thanks():
    """Negative cues weigh double (calibrated): thanks plus a frown is negative."""
    assert label("thanks :(") == NEGATIVE
    assert label("thanks but this is useless") == NEGATIVE


def test_textblob_part_is_textblobs_polarity():
    """The TextBlob half is exactly `TextBlob(text).sentiment.polarity` (read without the
    wrapper, which is slower)."""
    for text in ("A gorgeous, witty film", "Effective but too tepid biopic", "meh"):
        assert sentiment.text_features(text).textblob == TextBlob(text).sentiment.polarity


def test_scores_stay_in_range_and_empty_text_is_neutral():
    for text in ("", "   ", "GREAT!!!! 😍😍😍 love love love", "HATE 😡😡😡 worst!!!! ffs"):
        value = sentiment.text_score(text)
        assert -1.0 <= value <= 1.0
    assert sentiment.text_score("") == 0.0
    assert label("   ") == NEUTRAL


def test_a_long_message_is_scored_quickly():
    """Long texts are read in chunks: a 5,000-character message takes milliseconds, not
    the quadratic time VADER's rules would take on it whole."""
    import time

    text = ("The app is not good but the agent was really great! " * 100)[:5000]
    started = time.perf_counter()
    value = sentiment.text_score(text)
    assert time.perf_counter() - started < 0.05
    assert -1.0 <= value <= 1.0


def test_a_short_message_takes_under_a_millisecond():
    texts = ["hi, my card was declined again 😡", "thanks so much!!", "ok", "not bad :)"] * 50
    sentiment.text_score("warm up")
    import time

    started = time.perf_counter()
    for text in texts:
        sentiment.text_score(text)
    # "Well under 1 ms" is ~0.1-0.3 ms here; the bound leaves room for a busy machine.
    assert (time.perf_counter() - started) / len(texts) < 0.001


def test_bad_input_is_refused_clearly():
    with pytest.raises(TypeError, match="list of texts"):
        sentiment.score("just one string")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not int"):
        sentiment.score([42])  # type: ignore[list-item]


# --- several messages -----------------------------------------------------------------


def test_no_message_is_neutral():
    result = sentiment.score([])
    assert (result.label, result.score, result.scores, result.weights) == (NEUTRAL, 0.0, (), ())


def test_the_newest_message_weighs_most():
    """Angry then happy reads as happy; happy then angry as angry."""
    angry, happy = "This is useless, I'm furious", "Thank you so much, all fixed!"
    assert sentiment.score([angry, happy]).label == POSITIVE
    assert sentiment.score([happy, angry]).label == NEGATIVE
    three = sentiment.score([angry, angry, happy])
    assert three.weights[2] > three.weights[1] > three.weights[0]
    assert sum(three.weights) == pytest.approx(1.0)


def test_the_score_is_the_weighted_mean_of_the_message_scores():
    texts = ["terrible", "ok", "great, thanks"]
    result = sentiment.score(texts)
    assert result.scores == tuple(round(sentiment.text_score(t), 4) for t in texts)
    expected = sum(w * s for w, s in zip(result.weights, result.scores, strict=True))
    assert result.score == pytest.approx(expected, abs=1e-4)
    assert result.label == sentiment.label_for(result.score)


def test_labels_use_the_calibrated_neutral_band():
    band = sentiment.CALIBRATED.neutral_band
    assert sentiment.label_for(band) == POSITIVE
    assert sentiment.label_for(-band) == NEGATIVE
    assert sentiment.label_for(band / 2) == NEUTRAL
    assert sentiment.label_for(0.0) == NEUTRAL


# --- sentiment_eval -------------------------------------------------------------------


def write(tmp_path, name: str, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return path


GOOD = (
    "1\t2.5\tI love it, works great :)\r\n"
    "2\t-3.1\tThis is terrible, total waste of money\r\n"
    "3\t0.1\tThe box arrived on Tuesday\r\n"
    "4\t-1.5\tnot good at all\r\n"
    "5\t1.2\tnot bad\r\n"
    "6\t-2.0\tugh 😡\r\n"
).encode()


def test_eval_reads_crlf_files_with_three_classes(tmp_path):
    items = read_labelled_file(write(tmp_path, "good.txt", GOOD))
    assert [item.item_id for item in items] == ["1", "2", "3", "4", "5", "6"]
    assert [item.label for item in items] == [
        POSITIVE,
        NEGATIVE,
        NEUTRAL,
        NEGATIVE,
        POSITIVE,
        NEGATIVE,
    ]
    assert items[5].text == "ugh 😡"  # no line end left on the text


def test_eval_prints_both_scorers_per_file(tmp_path):
    path = write(tmp_path, "good.txt", GOOD)
    out = StringIO()
    call_command("sentiment_eval", str(path), "--folds", "0", stdout=out)
    text = out.getvalue()
    assert "good.txt" in text
    assert "accuracy" in text and "macro-F1" in text and "neg-recall" in text
    assert "neg-precision" in text
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.strip()}
    ours, textblob = rows["chat.sentiment"], rows["TextBlob"]
    assert ours[1] == textblob[1] == "6"  # n
    assert float(ours[2]) == 1.0  # every one of these right
    assert float(textblob[2]) < 1.0  # TextBlob misses the emoji and the neutral box


def test_eval_cross_validates(tmp_path):
    path = write(tmp_path, "good.txt", GOOD * 2)
    out = StringIO()
    call_command("sentiment_eval", str(path), "--folds", "3", stdout=out)
    text = out.getvalue()
    assert "3-fold cross-validation" in text
    assert text.count("  fold ") == 3
    assert "cross-validated accuracy" in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"1\t2.5\tfine\r\n2\t-1.0\r\n", r"line 2: expected 3 tab-separated fields"),
        (b"1\tgreat\tfine\r\n", r"line 1: the rating 'great' is not a number"),
        (b"1\t2\tok\n\n3\t9\ttoo high\n", r"line 3: the rating 9 is outside -4\.\.4"),
        (b"1\t2\t   \n", r"line 1: the text is empty"),
        (b"1\t2\tok\n2\t1\t\xff\xfe\n", r"line 2: not UTF-8 text"),
        (b"\r\n\r\n", r"holds no labelled text"),
    ],
)
def test_eval_names_the_bad_line(tmp_path, content, message):
    path = write(tmp_path, "bad.txt", content)
    with pytest.raises(CommandError, match=message):
        call_command("sentiment_eval", str(path), "--folds", "0", stdout=StringIO())


def test_eval_refuses_a_missing_file_or_a_directory(tmp_path):
    with pytest.raises(CommandError, match=r"nope\.txt: no such file"):
        call_command("sentiment_eval", str(tmp_path / "nope.txt"), stdout=StringIO())
    with pytest.raises(CommandError, match="is a directory"):
        call_command("sentiment_eval", str(tmp_path), stdout=StringIO())


def test_eval_refuses_one_fold(tmp_path):
    path = write(tmp_path, "good.txt", GOOD)
    with pytest.raises(CommandError, match="--folds must be 0"):
        call_command("sentiment_eval", str(path), "--folds", "1", stdout=StringIO())


def test_metrics():
    """Accuracy, macro and weighted F1 and negative precision and recall on a small
    worked case."""
    truth = ["positive", "positive", "negative", "negative", "neutral"]
    guess = ["positive", "negative", "negative", "negative", "positive"]
    found = metrics(truth, guess)
    assert found.accuracy == pytest.approx(3 / 5)
    assert found.negative_recall == 1.0
    assert found.negative_precision == pytest.approx(2 / 3)
    # F1: positive 0.5, negative 0.8, neutral 0.
    assert found.macro_f1 == pytest.approx((0.5 + 0.8 + 0) / 3)
    assert found.weighted_f1 == pytest.approx((0.5 * 2 + 0.8 * 2 + 0) / 5)
