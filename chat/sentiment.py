"""Customer sentiment: a label and a score in [-1, 1] for a customer's recent messages.

Pure functions, no database, no network. Each message gets its own score from two
lexicons that ship in their packages (nothing is downloaded at run time):

- VADER (`vaderSentiment`), built for social-media text: emoticons, slang, boosters
  ("so", "really"), ALL CAPS, "!!!", negation ("not bad") and "but". Extended here with
  chat emoji VADER scores 0 or wrongly (👍 🙏 😡 💔 🙄…), a little chat and support
  slang, emoticons glued to a word ("thanks:)"), stretched words ("sooo goood"), and
  emoji variation selectors and skin tones (which break VADER's emoji lookup).
- TextBlob's pattern lexicon (the one `TextBlob(text).sentiment` uses; called without
  the TextBlob wrapper, which is slower for the same number), which knows many
  review adjectives VADER lacks.

Per message: VADER's valences are summed with negative ones weighted by
`negative_weight` (one angry word outweighs a polite "thanks"), normalised like VADER's
compound to c in (-1, 1), and TextBlob's polarity p fills what VADER leaves open:
score = c + (1 - |c|) · textblob_weight · p. Strong chat cues (emoji, "wtf", "!!!") thus
decide on their own, and TextBlob counts most when VADER sees little.

Over several messages (oldest first) the score is a weighted mean, each older message
weighing RECENCY_DECAY times the next one. Labels: score ≥ neutral_band positive,
≤ -neutral_band negative, else neutral. The three parameters were calibrated on the
VADER study's review snippets (docs/sentiment.md, `manage.py sentiment_eval --folds 5`).
"""

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from textblob import en as textblob_en
from vaderSentiment.vaderSentiment import BOOSTER_DICT, SentimentIntensityAnalyzer, SentiText

from chat import sentiment_rules as rules
from chat.models import SentimentLabel


@dataclass(frozen=True)
class Params:
    """How the two lexicons are combined; see the module docstring."""

    textblob_weight: float
    negative_weight: float
    neutral_band: float


# Calibrated: the grid point with the best three-class accuracy, averaged over the two
# shared review files; 5-fold cross-validation picks the same point in every fold
# (docs/sentiment.md, `manage.py sentiment_eval`).
CALIBRATED = Params(textblob_weight=1.0, negative_weight=2.0, neutral_band=0.01)

# Each older message weighs this times the next newer one (3 messages: 0.57 for the
# newest, 0.29, 0.14): the newest weighs as much as the others together, so a change of
# mood shows at the next message.
RECENCY_DECAY = 0.5
# When the newest message reads Neutral, older messages alone cannot make the chat read
# Negative or Positive unless their weighted pull is at least this: a fading trace of
# an earlier mood (-0.03) is not an upset customer. A product choice, not fitted.
FADED_BAND = 0.1
# The pipeline scores the customer's last WINDOW messages (the seed: "the customer's
# most recent messages (two or three)"); the panel's trend shows the last TREND_LENGTH.
WINDOW = 3
TREND_LENGTH = 10
# Only this many characters of a message are scored (a chat message holds at most
# 5,000); its tone shows well before that.
MAX_CHARS = 2000
# VADER reads a text in pieces of about this size (see _ChatVader.valences).
CHUNK_CHARS = 200
# VADER's normalisation constant for the compound score.
VADER_ALPHA = 15.0

# Chat emoji on VADER's -4..4 scale, for emoji VADER misses (its emoji lexicon turns
# them into descriptions such as "thumbs up", which hold no lexicon word) or gets the
# wrong way round ("broken heart" scores positive). Set by analogy with VADER's own
# entries (":)" 2.0, ":(" -1.9, "love" 3.2, "hate" -2.7).
CHAT_EMOJI: dict[str, float] = {
    "👍": 1.8, "👌": 1.5, "👏": 2.0, "🙏": 1.5, "🙌": 2.2, "💯": 1.8, "✅": 1.0,
    "🎉": 2.3, "🥳": 2.3, "🤗": 2.0, "😉": 1.2, "😎": 1.6, "💪": 1.5, "⭐": 1.5,
    "🌟": 1.8, "✨": 1.2, "🔥": 1.2, "❤": 2.8, "💕": 2.6, "💖": 2.8, "💙": 2.6,
    "💚": 2.6, "😇": 1.8, "🥲": 0.5,
    "👎": -1.9, "❌": -1.0, "💔": -2.4, "😡": -2.8, "😠": -2.5, "🤬": -3.2,
    "😤": -2.0, "😒": -1.6, "🙄": -1.6, "😑": -0.8, "😐": -0.4, "🤦": -1.8,
    "😩": -2.0, "😫": -2.0, "😖": -2.0, "😣": -1.8, "😓": -1.4, "😰": -1.8,
    "😨": -2.0, "😱": -2.2, "😔": -1.6, "😞": -2.0, "😢": -2.2, "😭": -2.4,
    "🥺": -1.2, "😕": -1.2, "🙁": -1.6, "☹": -1.9, "💩": -2.0, "🖕": -3.0,
    "🤮": -2.6, "🤢": -2.2, "😬": -0.8,
}  # fmt: skip

# Chat and support slang VADER lacks, on its -4..4 scale, set by analogy with VADER's
# entries ("thx" 1.5, "crap" -1.6, "broken" -2.1, "ffs" -2.8).
CHAT_LEXICON: dict[str, float] = {
    "thnx": 1.5, "thanx": 1.5, "tysm": 2.5, "awsome": 3.1, "luv": 2.8, "brill": 2.6,
    "hehe": 1.6, "xd": 1.8, "^_^": 1.9, "^^": 1.5, "=)": 2.2, "(:": 2.0,
    "argh": -1.8, "grr": -1.5, "fml": -2.6, "ripoff": -2.4, "rip-off": -2.4,
    "scammed": -2.8, "nightmare": -2.6, "rubbish": -2.2, "garbage": -2.2,
    "unhelpful": -1.8, "overcharged": -2.0, "crashing": -1.7, "crashes": -1.7,
    "crashed": -1.7, "fixed": 1.5, "glitch": -1.2, "glitchy": -1.5, "buggy": -1.5, "laggy": -1.3,
    "=(": -1.9, "d:": -1.9, "t_t": -2.0, "-_-": -1.2, "):": -1.9, "theft": -2.4,
    "unbelievable": -1.5,
}  # fmt: skip

# Words VADER scores that, in a support chat, only ask for something: "please help, my
# card was stolen" is not a happy message, "I want to cancel my plan" ("want" +0.3,
# "cancel" -1.0) neither happy nor upset, an order "number" (+0.3) nothing at all.
SUPPORT_NEUTRAL = (
    "help", "please", "pls", "plz", "support", "want", "cancel", "cancelling", "number",
)  # fmt: skip

# A complaint phrase of support chats (chat.sentiment_rules: "nobody cares", "waiting
# for an hour", "it still doesn't work"), on VADER's scale: as strong as VADER's
# "frustrated" (-2.2) less a little, since some of them are also said calmly.
COMPLAINT_VALENCE = -2.0
# A question asks; the lexicon words in it ("Is it free to return?", "Who do I contact
# about a damaged parcel?") say little about the customer's mood. Their valences count
# this much in a sentence that ends with one "?" ("?!" and "??" are not damped).
# Complaint phrases and emoji keep their full weight. Chosen on the evaluation files
# (docs/sentiment.md).
QUESTION_WEIGHT = 0.5
# In a message where the customer apologises and does not object ("sorry, my English is
# not so good", "sorry, I pasted the wrong link"), the negative words are about their
# own slip and count this much; words of feeling (chat.sentiment_rules.FEELINGS: "sorry,
# I'm really upset") count fully. Chosen on the evaluation files (docs/sentiment.md).
APOLOGY_WEIGHT = 0.0

_EMOJI_WORD = "emojichat{}"
# Invisible code points that follow emoji: variation selectors, zero-width joiner and
# skin-tone modifiers. VADER's per-character emoji lookup glues them onto the emoji's
# description ("heart\ufe0f") so the word is not found.
_EMOJI_NOISE = re.compile("[\ufe0e\ufe0f\u200d\U0001f3fb-\U0001f3ff]")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# Three or more of one letter: "sooo", "goooood", "pleeease".
_STRETCHED = re.compile(r"([A-Za-z])\1{2,}")
_STRETCHED_WORD = re.compile(r"\b[A-Za-z]*([A-Za-z])\1{2,}[A-Za-z]*\b")
_SENTENCE_END = re.compile(r"(?<=[.!?\n])\s+")


class TextFeatures(NamedTuple):
    """What the lexicons see in one text, before the calibrated combination."""

    positive: float  # sum of VADER's positive valences
    negative: float  # sum of VADER's negative valences (≤ 0)
    emphasis: float  # VADER's "!" and "??" amplifier
    textblob: float  # TextBlob polarity, -1..1


class _ChatVader(SentimentIntensityAnalyzer):
    """VADER with the chat emoji and slang above, and its valences kept apart by sign."""

    def __init__(self) -> None:
        super().__init__()
        for index, (emoji, valence) in enumerate(CHAT_EMOJI.items()):
            token = _EMOJI_WORD.format(index)
            self.emojis[emoji] = token
            self.lexicon[token] = valence
        self.lexicon.update(CHAT_LEXICON)
        self.lexicon[rules.COMPLAINT_TOKEN] = COMPLAINT_VALENCE
        for word in SUPPORT_NEUTRAL:
            self.lexicon.pop(word, None)
        emoticons = sorted(
            (word for word in self.lexicon if not any(ch.isalnum() for ch in word)),
            key=len,
            reverse=True,
        )
        # An emoticon glued to the end of a word ("thanks:)"), not inside a URL.
        self._glued_emoticon = re.compile(
            r"(?<=[A-Za-z0-9])(" + "|".join(map(re.escape, emoticons)) + r")(?=\s|$)"
        )

    def _unstretch(self, match: re.Match[str]) -> str:
        word = match.group(0)
        twice = _STRETCHED.sub(r"\1\1", word)
        once = _STRETCHED.sub(r"\1", word)
        for candidate in (twice, once):
            if candidate.lower() in self.lexicon or candidate.lower() in BOOSTER_DICT:
                return candidate
        return twice

    def prepare(self, text: str) -> rules.Rewritten:
        """Chat text as the lexicons should read it: URLs dropped, stretched words
        shortened, the support-chat rules applied (chat.sentiment_rules); for VADER
        also emoji as lexicon tokens and emoticons set apart.
        Returns the two texts and whether the customer apologises."""
        text = _URL.sub(" ", _EMOJI_NOISE.sub("", text))
        text = _STRETCHED_WORD.sub(self._unstretch, text)
        rewritten = rules.rewrite(text)
        spaced = []
        for char in self._glued_emoticon.sub(r" \1", rewritten.for_vader):
            if char in self.emojis:
                spaced.append(f" {self.emojis[char]} ")
            else:
                spaced.append(char)
        return rewritten._replace(for_vader="".join(spaced))

    def valences(self, text: str, *, apologetic: bool = False) -> tuple[float, float, float, bool]:
        """(positive sum, negative sum, punctuation emphasis, ironic) of VADER's
        valences, with questions damped and opening praise before a complaint turned
        round (`ironic`: the text is such a complaint).

        VADER's rules look a few words around each word but re-read the whole text for
        each, so a long text is scored in chunks of sentences (linear time)."""
        words: list[str] = []
        values: list[float] = []
        for chunk in _pieces(text):
            chunk_words, chunk_values = self._chunk_valences(chunk)
            if _is_question(chunk):
                chunk_values = [
                    value if self._keeps_weight(word) else value * QUESTION_WEIGHT
                    for word, value in zip(chunk_words, chunk_values, strict=True)
                ]
            words.extend(chunk_words)
            values.extend(chunk_values)
        if apologetic:
            values = [
                value * APOLOGY_WEIGHT
                if value < 0 and not self._keeps_weight(word) and word.lower() not in rules.FEELINGS
                else value
                for word, value in zip(words, values, strict=True)
            ]
        ironic = _turn_ironic_praise(words, values)
        positive = sum(value for value in values if value > 0)
        negative = sum(value for value in values if value < 0)
        emphasis = self._punctuation_emphasis(text) if positive or negative else 0.0
        return positive, negative, emphasis, ironic

    def _keeps_weight(self, word: str) -> bool:
        """Complaint phrases and emoji count fully, also in a question."""
        lower = word.lower()
        return lower == rules.COMPLAINT_TOKEN or lower.startswith(_EMOJI_WORD.format(""))

    def _chunk_valences(self, text: str) -> tuple[list[str], list[float]]:
        """VADER's polarity_scores up to the valences, with its "but" rule applied by
        position (VADER's own finds each valence by value, misplacing repeated ones)."""
        sentitext = SentiText(text)
        words = sentitext.words_and_emoticons
        sentiments: list[float] = []
        for i, item in enumerate(words):
            lower = item.lower()
            if lower in BOOSTER_DICT or (
                lower == "kind" and i < len(words) - 1 and words[i + 1].lower() == "of"
            ):
                sentiments.append(0.0)
                continue
            sentiments = self.sentiment_valence(0, sentitext, item, i, sentiments)
        lowered = [word.lower() for word in words]
        if "but" in lowered:
            pivot = lowered.index("but")
            sentiments = [
                value * 0.5 if i < pivot else value * 1.5 if i > pivot else value
                for i, value in enumerate(sentiments)
            ]
        return list(words), sentiments


def _pieces(text: str) -> list[str]:
    """The text in the pieces it is scored in: _chunks, with any chunk that holds a
    question cut into its sentences (so the question can be told apart)."""
    pieces: list[str] = []
    for chunk in _chunks(text):
        if "?" in chunk:
            pieces.extend(sentence for sentence in _SENTENCE_END.split(chunk) if sentence)
        else:
            pieces.append(chunk)
    return pieces


def _is_question(sentence: str) -> bool:
    """A sentence that ends with one "?" (not "??", "?!" or "!?", which are emphatic)."""
    end = sentence.rstrip(" \t\n\"')")
    return end.endswith("?") and not end.endswith(("??", "!?", "?!"))


def _turn_ironic_praise(words: list[str], values: list[float]) -> bool:
    """A message that opens with praise or thanks and then complains: the praise is
    ironic ("Great, another hour on hold") and counts negative; the thanks is a
    formality ("thanks, but it still doesn't work") and counts nothing. Changes
    `values` in place; True when it did."""
    start = 0
    while start < len(words) and words[start].lower() in rules.OPENERS:
        start += 1
    if start == len(words):
        return False
    first = words[start].lower()
    if first not in rules.PRAISE and first not in rules.GRATITUDE:
        return False
    complaint_at = next(
        (
            i
            for i in range(start + 1, len(words))
            if values[i] < 0 or words[i].lower() in rules.IRONY_MARKERS
        ),
        None,
    )
    if complaint_at is None:
        return False
    for i in range(start, complaint_at):
        if values[i] > 0:
            values[i] = 0.0 if words[i].lower() in rules.GRATITUDE else -values[i]
    return True


def _chunks(text: str) -> list[str]:
    """The text cut after sentence ends into pieces of at most CHUNK_CHARS (a longer
    sentence is cut between words)."""
    if len(text) <= CHUNK_CHARS:
        return [text]
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        while len(sentence) > CHUNK_CHARS:
            cut = sentence.rfind(" ", 0, CHUNK_CHARS)
            cut = cut if cut > 0 else CHUNK_CHARS
            pieces.append(sentence[:cut])
            sentence = sentence[cut:]
        if pieces and len(pieces[-1]) + len(sentence) < CHUNK_CHARS:
            pieces[-1] = f"{pieces[-1]} {sentence}"
        else:
            pieces.append(sentence)
    return pieces


@lru_cache(maxsize=1)
def _vader() -> _ChatVader:
    """One analyzer per process (loading the lexicons takes ~100 ms)."""
    return _ChatVader()


def warm_up() -> None:
    """Load both lexicons now (~0.5 s) rather than in the first scoring: Celery worker
    processes call this when they start."""
    _vader()
    textblob_en.sentiment("ready")


def text_features(text: str) -> TextFeatures:
    """What the two lexicons find in one text (its first MAX_CHARS characters)."""
    if not isinstance(text, str):
        raise TypeError(f"Sentiment scores text, not {type(text).__name__}.")
    text = text[:MAX_CHARS]
    if not text.strip():
        return TextFeatures(0.0, 0.0, 0.0, 0.0)
    vader = _vader()
    prepared = vader.prepare(text)
    positive, negative, emphasis, ironic = vader.valences(
        prepared.for_vader, apologetic=prepared.apologetic
    )
    polarity = _textblob_polarity(
        prepared.for_textblob, ironic=ironic, apologetic=prepared.apologetic
    )
    return TextFeatures(positive, negative, emphasis, polarity)


def _textblob_polarity(text: str, *, ironic: bool, apologetic: bool) -> float:
    """TextBlob's polarity (the mean of its assessments), with the assessments of
    question sentences weighted QUESTION_WEIGHT, none of its praise when VADER found
    the praise ironic, and its negatives weighted APOLOGY_WEIGHT in an apology. Plain
    `TextBlob(text).sentiment.polarity` otherwise."""
    sentences = _pieces(text)
    if not (ironic or apologetic) and not any(_is_question(piece) for piece in sentences):
        return float(textblob_en.sentiment(text)[0])
    total = 0.0
    count = 0
    for sentence in sentences:
        weight = QUESTION_WEIGHT if _is_question(sentence) else 1.0
        for assessment in textblob_en.sentiment(sentence).assessments:
            polarity = assessment[1]
            count += 1
            if ironic and polarity > 0:
                continue
            if apologetic and polarity < 0 and rules.FEELINGS.isdisjoint(assessment[0]):
                polarity *= APOLOGY_WEIGHT
            total += weight * polarity
    return max(-1.0, min(1.0, total / count)) if count else 0.0


def combine(features: TextFeatures, params: Params = CALIBRATED) -> float:
    """One text's score in [-1, 1] from its features."""
    total = features.positive + params.negative_weight * features.negative
    if total > 0:
        total += features.emphasis
    elif total < 0:
        total -= features.emphasis
    vader = total / math.sqrt(total * total + VADER_ALPHA)
    value = vader + (1 - abs(vader)) * params.textblob_weight * features.textblob
    return max(-1.0, min(1.0, value))


def label_for(value: float, params: Params = CALIBRATED) -> SentimentLabel:
    if value >= params.neutral_band:
        return SentimentLabel.POSITIVE
    if value <= -params.neutral_band:
        return SentimentLabel.NEGATIVE
    return SentimentLabel.NEUTRAL


def text_score(text: str, params: Params = CALIBRATED) -> float:
    """One message's score in [-1, 1]."""
    return combine(text_features(text), params)


def textblob_score(text: str) -> float:
    """Plain TextBlob polarity, the baseline sentiment_eval compares against."""
    return float(textblob_en.sentiment(text)[0])


@dataclass(frozen=True)
class Sentiment:
    """The sentiment of a few messages: `scores` and `weights` follow the texts' order."""

    label: SentimentLabel
    score: float
    scores: tuple[float, ...]
    weights: tuple[float, ...]


def recency_weights(count: int) -> tuple[float, ...]:
    """Weights for `count` messages, oldest first, summing to 1; the newest weighs most."""
    raw = [RECENCY_DECAY ** (count - 1 - i) for i in range(count)]
    total = sum(raw)
    return tuple(value / total for value in raw)


def score(texts: list[str]) -> Sentiment:
    """The sentiment of a customer's recent messages, oldest first (the chat passes the
    last two or three): the recency-weighted mean of each message's score, labelled by
    the calibrated band, except that after a neutral newest message a mean within
    ±FADED_BAND reads Neutral. No text at all is neutral with score 0."""
    if isinstance(texts, str):
        raise TypeError("score() takes a list of texts, not one string.")
    scores = tuple(round(text_score(text), 4) for text in texts)
    if not scores:
        return Sentiment(label=SentimentLabel.NEUTRAL, score=0.0, scores=(), weights=())
    weights = recency_weights(len(scores))
    value = round(sum(w * s for w, s in zip(weights, scores, strict=True)), 4)
    label = label_for(value)
    if label_for(scores[-1]) == SentimentLabel.NEUTRAL and abs(value) < FADED_BAND:
        label = SentimentLabel.NEUTRAL
    return Sentiment(label=label, score=value, scores=scores, weights=weights)
