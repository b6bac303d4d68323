"""Support-chat conventions the two lexicons misread, applied before they score a text.

A customer writing to a contact center is polite, asks, acknowledges and complains in
set phrases; word lexicons built from reviews and tweets read several of them the
wrong way (docs/sentiment.md, "Support-chat rules"):

- apologies and their excuses ("sorry, my page reloaded", "sorry for the delay") are
  politeness, not anger: VADER gives "sorry" -0.3 and TextBlob -0.5;
- acknowledgments that open a message ("ok", "yes", "sure", "no,", "fine,") answer the
  CSR; VADER and TextBlob count "ok" and "sure" as praise and "no" as complaint;
- "good morning" greets and "thanks in advance" is a formality, not praise; "I'd like
  to cancel" wants, it does not like;
- a customer's own connection trouble ("sorry, lost connection", "my phone died") is an
  excuse for a pause, not a judgement; "problem solved" is good news;
- "can't believe how bad" is exasperation, which VADER's negation rule turns positive;
- a customer's complaints come in phrases that hold no lexicon word ("I've been waiting
  for an hour", "nobody cares", "it still doesn't work", "how many times"); each such
  phrase becomes one complaint token with a negative valence.

Pure functions on text; chat.sentiment decides what the tokens weigh.
"""

import re
from typing import NamedTuple

# The token a complaint phrase becomes, for VADER's lexicon (chat.sentiment gives it
# COMPLAINT_VALENCE). Lower-case letters only, so VADER reads it as one word.
COMPLAINT_TOKEN = "chatcomplaint"  # noqa: S105 - a word for VADER, not a secret

_NUMBER = r"(?:\d+|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|forty|fifty)"
_NEGATED = (
    r"(?:do(?:es)?\s*n[o']?t|did\s*n[o']?t|is\s*n[o']?t|are\s*n[o']?t|was\s*n[o']?t|"
    r"has\s*n[o']?t|have\s*n[o']?t|wo\s*n[o']?t|can\s*n?[o']?t|could\s*n[o']?t|"
    r"doesnt|dont|didnt|isnt|wont|cant|hasnt|havent|still\s+not|not|never)"
)
_NOBODY = r"(?:nobody|no\s*-?\s*one|noone|no\s+body)"


class _Rule:
    """A pattern tried only when one of its keywords is in the lower-cased text: most
    texts hold none, and a substring test is far cheaper than a regex scan."""

    def __init__(self, keywords: str, pattern: str, replacement: str = " ") -> None:
        self.keywords = tuple(keywords.split("|"))
        self.pattern = re.compile(pattern, re.IGNORECASE)
        self.replacement = replacement

    def applies(self, lower: str) -> bool:
        return any(keyword in lower for keyword in self.keywords)


# Complaint phrases of support chats. Each is written to match the complaint and not
# the neutral request beside it ("wait a minute" is not "waiting for an hour").
COMPLAINT_PHRASES: tuple[_Rule, ...] = tuple(
    _Rule(keywords, pattern, f" {COMPLAINT_TOKEN} ")
    for keywords, pattern in (
        # it does not work / help / arrive
        (
            "work|help|fix|solve|answer|respond|repl|arrive|show|call|get back",
            rf"\b{_NEGATED}\s+(?:\w+\s+)?(?:work|works|working|worked|help|helped|helping|"
            r"fix|fixed|solve|solved|answer|answered|respond|responded|reply|replied|arrive|"
            r"arrived|show\s+up|showed\s+up|call\s+back|called\s+back|get\s+back)\b",
        ),
        # still nothing
        (
            "still",
            r"\bstill\s+(?:not|no|nothing|nobody|no\s+one|n[o']?t|doesn'?t|hasn'?t|haven'?t|"
            r"isn'?t|waiting|broken|wrong|the\s+same)\b",
        ),
        # waiting for hours / on hold for 45 minutes / all day
        (
            "wait|hold|held|here|queu",
            r"\b(?:wait(?:ed|ing)?|on\s+hold|held|hold(?:ing)?|been\s+here|queued?|queueing)\s+"
            r"(?:for\s+)?(?:over\s+|almost\s+|nearly\s+|more\s+than\s+|about\s+)?"
            rf"(?:(?:an?|one|{_NUMBER}|several|many|so\s+many)\s+(?:hours?|days?|weeks?|months?)|"
            rf"hours|days|weeks|months|ages|forever|half\s+an\s+hour|{_NUMBER}\s*(?:minutes|mins)|"
            r"all\s+(?:day|morning|afternoon|week))\b",
        ),
        ("tak|took", r"\b(?:tak(?:es|ing)|took)\s+(?:so\s+long|too\s+long|forever|ages)\b"),
        # nobody cares / answers / helps
        (
            "nobody|one|body",
            rf"\b{_NOBODY}\s+(?:\w+\s+){{0,2}}?(?:cares?|cared|help(?:s|ed|ing)?|"
            r"answer(?:s|ed|ing)?|calls?|called|repl(?:y|ies|ied)|respond(?:s|ed)?|reads?|"
            r"listens?|fix(?:es|ed)?|knows?|seems?\s+to\s+care|bothers?|bothered)\b",
        ),
        # asked over and over
        ("times", r"\bhow\s+many\s+(?:more\s+)?times\b"),
        (
            "time",
            r"\b(?:the|a|for\s+the)\s+(?:second|third|fourth|fifth|sixth|"
            rf"{_NUMBER}(?:st|nd|rd|th))\s+time\b",
        ),
        ("times", rf"\b(?:{_NUMBER}|so\s+many|many|multiple|several)\s+times\b"),
        ("again|over", r"\b(?:again\s+and\s+again|over\s+and\s+over)\b"),
        ("myself", r"\brepeat(?:ing)?\s+myself\b"),
        ("answer", r"\bdifferent\s+answers?\b"),
        # rhetorical questions and set phrases of anger
        (
            "kidding|joking|serious|listening|reading",
            r"\b(?:are|r)\s+(?:you|u)\s+(?:even\s+|actually\s+)?(?:kidding|joking|serious|"
            r"listening|reading)\b|\byou(?:'re|\s+are|\s+r)\s+(?:kidding|joking)\b",
        ),
        ("joke", r"\b(?:what|such)\s+a\s+joke\b|\bis\s+a\s+joke\b"),
        ("kind of", r"\bwhat\s+kind\s+of\s+(?:service|support|company|business|answer|help)\b"),
        ("treat", r"\bhow\s+you\s+treat\b"),
        ("why", r"\bwhy\s+do\s+i\s+(?:have|need)\s+to\b"),
        ("right", r"\byeah,?\s+right\b"),
        (
            "fed|enough|sick|tired",
            r"\bfed\s+up\b|\b(?:i'?ve|i\s+have)\s+had\s+enough\b|"
            r"\b(?:sick|tired)\s+(?:and\s+tired\s+)?of\b",
        ),
        ("done", r"\b(?:so\s+|totally\s+|completely\s+)?done\s+with\s+(?:this|you|your)\b"),
        ("around", r"\brun-?\s?around\b"),
        ("hung|hang", r"\b(?:hung|hang|hanging)\s+up\s+on\b"),
        ("nothing", r"\bfor\s+nothing\b"),
        (
            "wast",
            r"\bwast(?:e|ed|ing)\s+(?:of\s+)?(?:my|our)\s+"
            r"(?:time|day|afternoon|morning|evening|money)\b",
        ),
        (
            "never",
            r"\bnever\s+(?:again|buying|using|ordering|recommend(?:ing)?|coming\s+back)\b",
        ),
        ("money", r"\b(?:give|want|get)\s+(?:me\s+)?(?:my|our)\s+money\s+back\b"),
        ("report|sue|suing", r"\b(?:report|sue|reporting|suing)\s+(?:you|your\s+company)\b"),
        (
            "elsewhere",
            r"\b(?:go|going|take\s+my\s+business|taking\s+my\s+business)\s+elsewhere\b",
        ),
        (
            "complaint",
            r"\b(?:make|file|lodge|raise|making|filing)\s+a\s+(?:formal\s+)?complaint\b",
        ),
    )
)

# Politeness that carries no judgement: an apology with what it is for ("sorry for the
# delay", "sorry about that"), but not the adjective ("a sorry excuse", "as sorry a
# mess") nor pity ("feel sorry for"). "oops" is dropped too, but is no apology: it is
# also said in irony ("Oops, she's done it again").
_APOLOGY = _Rule(
    "sorry|apolog|my bad|oops|excuse me|pardon",
    r"(?<!\ba\s)(?<!\bthe\s)(?<!\bas\s)(?<!\bfeel\s)(?<!\bfelt\s)(?<!\bfeeling\s)\b"
    r"(?:(?:sorry|apologies|apologi[sz]e|my\s+apologies|my\s+bad|excuse\s+me|pardon)"
    r"(?!\s+(?:a|an|state|excuse|sight|lot)\b)|oops|whoops)"
    r"(?:\s+again)?"
    r"(?:\s+(?:for|about)\s+(?:that|this|the|all\s+the|any|my)?\s*(?:\w+\s+)?"
    r"(?:delay|wait|trouble|confusion|inconvenience|mess|mix-?up|questions?|message|"
    r"messages|typo|mistake|bother|hassle|interruption|that))?\b",
)
# "sorry, but": an objection after the apology.
_OBJECTION = re.compile(r"\b(?:but|however|though|although|yet)\b", re.IGNORECASE)

NEUTRALISERS: tuple[_Rule, ...] = (
    # greetings: "good morning" greets, it does not praise
    _Rule("good", r"\bgood\s+(?:morning|afternoon|evening)\b"),
    # thanks said before anything was done is a formality
    _Rule("advance|tia", r"\b(?:thanks|thank\s+you|thx|ty)\s+in\s+advance\b|\btia\b"),
    # "one more question", "quick question" ask (TextBlob: "more" +0.5, "quick" +0.3)
    _Rule("question|thing", r"\b(?:one\s+more|quick)\s+(question|thing)\b", r"\1"),
    # "I'd like to cancel": "like" is "want" here, not VADER's "like" (+1.5)
    _Rule("like", r"\b(?:i'?d|i\s+would|we'?d|we\s+would|would\s+you|you'?d)\s+like\b", " want"),
    # a customer's own connection trouble ("sorry, lost connection", "my phone died")
    # is an excuse for a pause, not a judgement of the service
    _Rule(
        "lost|losing|lose|dropped|died|dead|down|cut out|ran out|disconnected|closed|missed|"
        "mistake|accident",
        r"\b(?:lost|losing|dropped|lose)\s+(?:the\s+|my\s+)?"
        r"(?:connection|signal|wifi|wi-fi|internet)\b"
        r"|\b(?:connection|signal|wifi|wi-fi|internet)\s+(?:dropped|died|went\s+down|cut\s+out)\b"
        r"|\b(?:phone|battery|laptop|computer|tablet)\s+(?:died|is\s+dead|was\s+dead|ran\s+out)\b"
        r"|\b(?:got|was|were|been|get|getting)\s+disconnected\b"
        r"|\bclosed\s+the\s+(?:tab|window|chat|page|app)\b"
        r"|\bmissed\s+your\s+(?:last\s+)?(?:message|reply|answer)\b"
        r"|\bby\s+(?:mistake|accident)\b",
    ),
    # "problem solved" is good news; VADER reads "problem" (-1.7)
    _Rule(
        "solved|fixed|resolved|sorted",
        r"\b(?:problem|issue|error)s?\s+(?:is\s+|are\s+|now\s+|all\s+)?"
        r"(solved|fixed|resolved|sorted)\b",
        r"\1",
    ),
    # "can't believe how bad": VADER's negation would flip "bad"
    _Rule("believe", r"\b(?:i\s+)?can(?:'|no)?t\s+believe\b"),
)

# Acknowledgments opening a message. "no", "right", "fine", "well" count only when
# punctuation follows ("no, the other one"), not in "no one cares" or "fine by me".
_ACKNOWLEDGMENT = re.compile(
    r"^(?:\s*(?:(?:ok(?:ay)?|kk?|yes|yeah|yep|yup|yea|sure|alright|all\s+right|ah|oh|"
    r"hmm+|mm+|um+|uh+|got\s+it|i\s+see)\b|(?:no|nope|nah|right|fine|well|so)(?=\s*[,.!]|\s*$))"
    r"[\s,.!]*)+",
    re.IGNORECASE,
)


class Rewritten(NamedTuple):
    for_vader: str
    for_textblob: str
    # The customer apologises and does not go on to object ("sorry, but…"): what they
    # say against themselves ("sorry, my English is not so good") is no complaint.
    apologetic: bool


def rewrite(text: str) -> Rewritten:
    """The text as VADER and as TextBlob should read it: complaint phrases become the
    complaint token (for TextBlob they are dropped: VADER carries them); apologies,
    greetings and the other neutral phrases, and opening acknowledgments, are dropped."""
    lower = text.lower()
    for rule in COMPLAINT_PHRASES:
        if rule.applies(lower):
            text = rule.pattern.sub(rule.replacement, text)
    apologetic = False
    if _APOLOGY.applies(lower):
        apology = next(
            (
                match
                for match in _APOLOGY.pattern.finditer(text)
                if not match.group(0).lower().endswith("oops")
            ),
            None,
        )
        apologetic = (
            apology is not None
            and COMPLAINT_TOKEN not in text
            and not _OBJECTION.search(text, apology.end())
        )
        text = _APOLOGY.pattern.sub(" ", text)
    for rule in NEUTRALISERS:
        if rule.applies(lower):
            text = rule.pattern.sub(rule.replacement, text)
    text = _ACKNOWLEDGMENT.sub("", text)
    return Rewritten(text, text.replace(COMPLAINT_TOKEN, " "), apologetic)


# Words that open a message of praise or thanks. When a complaint follows in the same
# message, praise is ironic ("Great, another hour on hold") and thanks a formality
# ("thanks, but it still doesn't work").
PRAISE = frozenset(
    [
        "great", "wonderful", "perfect", "brilliant", "awesome", "fantastic", "lovely",
        "nice", "amazing", "excellent", "super", "terrific", "marvelous", "marvellous",
        "splendid", "cool", "good", "love", "loving",
    ]
)  # fmt: skip
GRATITUDE = frozenset(
    ["thanks", "thank", "thx", "ty", "tnx", "thanx", "thnx", "appreciate", "appreciated"]
)
# Words before the opening praise that do not change it ("oh great", "wow, amazing").
OPENERS = frozenset(["oh", "wow", "just", "well", "so", "yeah", "ah", "really", "how", "what"])
# Words that, after opening praise, mark it as ironic even without a negative word.
IRONY_MARKERS = frozenset(["again", "another", "usual", "surprise"])
# How a customer feels. An apology damps the negative words of a message (they are
# about the customer's own slip: "sorry, wrong link"), but not these: "sorry, I'm
# really upset" is upset.
FEELINGS = frozenset(
    [
        "upset", "angry", "frustrated", "frustrating", "annoyed", "annoying", "furious",
        "disappointed", "disappointing", "mad", "livid", "outraged", "disgusted", "stressed",
        "worried", "scared", "anxious", "unhappy", "sad", "unacceptable", "ridiculous",
        "terrible", "awful", "horrible", "useless",
    ]
)  # fmt: skip
