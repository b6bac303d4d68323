"""Ranking case types against the customer's words and the bot's intent, with reasons.

Each case type's name, description and example phrases are the documents of a BM25
index (rank-bm25's Okapi BM25); a case type scores its best document's score against the
customer's recent messages, plus a bonus when the bot's intent is one of the type's.
Pure functions: no database."""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rank_bm25 import BM25Okapi

# What a case type scores when the bot's intent is one of its intents, on top of its words.
INTENT_BONUS = 3.0
# A case type is proposed only above this score, and only when it scores at least this
# share of the best one (a lone shared word like "card" is no reason to propose it).
MIN_SCORE = 0.5
RELATIVE_FLOOR = 0.5
MAX_REASON_WORDS = 5

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "after",
        "again",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "being",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "for",
        "from",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "just",
        "me",
        "more",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "please",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "hi",
        "hello",
        "thanks",
        "thank",
        "want",
        "need",
        "like",
        "get",
        "got",
        "im",
        "ive",
        "dont",
        "cant",
        "help",
        "someone",
    ]
)
_WORD = re.compile(r"[a-z0-9]+")


def stem(word: str) -> str:
    """A light suffix stemmer: 'payments' and 'payment', 'charged' and 'charge' meet."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def tokens(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1]


@dataclass(frozen=True)
class CaseTypeText:
    """What the ranking knows of a case type."""

    id: int
    name: str
    description: str = ""
    phrases: Sequence[str] = ()
    intents: Sequence[str] = ()


@dataclass
class Suggestion:
    case_type_id: int
    name: str
    score: float
    reasons: list[str] = field(default_factory=list)


class CaseTypeIndex:
    """The BM25 index of a set of case types; build once per set, rank many times."""

    def __init__(self, case_types: Sequence[CaseTypeText]):
        self.case_types = list(case_types)
        self.documents: list[tuple[int, str, list[str]]] = []
        for index, case_type in enumerate(self.case_types):
            for text in (case_type.name, case_type.description, *case_type.phrases):
                words = tokens(text)
                if words:
                    self.documents.append((index, text, words))
        self.bm25 = BM25Okapi([words for _, _, words in self.documents]) if self.documents else None

    def rank(self, *, texts: Sequence[str], intent: str = "", limit: int = 3) -> list[Suggestion]:
        """The case types that fit the customer's messages (`texts`, newest last) and the
        bot's intent, best first, each with why; at most `limit`, none below MIN_SCORE
        or below RELATIVE_FLOOR of the best."""
        query = tokens(" ".join(texts))
        scores = [0.0] * len(self.case_types)
        best_document: list[int | None] = [None] * len(self.case_types)
        if self.bm25 is not None and query:
            for doc_index, score in enumerate(self.bm25.get_scores(query)):
                type_index = self.documents[doc_index][0]
                if score > scores[type_index]:
                    scores[type_index] = float(score)
                    best_document[type_index] = doc_index
        intent_key = intent.strip().lower()
        suggestions = []
        query_words = set(query)
        for index, case_type in enumerate(self.case_types):
            reasons = []
            score = scores[index]
            best = best_document[index]
            if best is not None:
                _, text, words = self.documents[best]
                shared = [w for w in dict.fromkeys(words) if w in query_words]
                if shared:
                    words_said = ", ".join(repr(w) for w in shared[:MAX_REASON_WORDS])
                    reasons.append(f"The customer's words {words_said} match “{text}”")
            if intent_key and intent_key in case_type.intents:
                score += INTENT_BONUS
                reasons.append(f"The bot's intent is {intent}")
            if score >= MIN_SCORE and reasons:
                suggestions.append(
                    Suggestion(
                        case_type_id=case_type.id,
                        name=case_type.name,
                        score=round(score, 3),
                        reasons=reasons,
                    )
                )
        suggestions.sort(key=lambda s: (-s.score, s.name))
        if suggestions:
            floor = suggestions[0].score * RELATIVE_FLOOR
            suggestions = [s for s in suggestions if s.score >= floor]
        return suggestions[:limit]
