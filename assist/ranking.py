"""Ranking phrases and articles against a conversation: BM25 (rank-bm25)
over stemmed words, plus what the CSRs picked before for the same intent.

Each process keeps one index of every active phrase and published article, rebuilt
when the content changes (a version token in the cache, renewed by assist.services).
The ranking is pure: `Index.rank()` takes the query and the picks and returns scored
items with the reasons they were suggested."""

import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
from django.db import connections
from nltk.stem.snowball import SnowballStemmer
from rank_bm25 import BM25Plus

from assist.models import SuggestionKind

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_stemmer = SnowballStemmer("english")

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i i'm if in into
    is it it's its itself just let me more most my myself no nor not now of off on once only
    or other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours
    yourself yourselves hi hello hey thanks thank please ok okay yes yeah can't cannot i've
    i'd im dont don't get got want need would like could just also still really know
    someone something anyone anything help""".split()  # noqa: SIM905 - a readable block of words
)

# How much an article written for the chat's intent, and each pick of an item for the
# same intent (on a log scale), multiply its BM25 score by (evaluated with `manage.py
# evaluate_suggestions`, docs/assist.md).
INTENT_BOOST = 0.25
PICK_BOOST = 0.5
# How many words of an article's body the index reads.
BODY_WORDS = 400
# Indexes with fewer items than this are rebuilt inline when the content changes
# (well under a second); larger ones in the background (IndexHolder).
INLINE_REBUILD_BELOW = 3000


# Stems of the words seen, kept per process (bounded): stemming is most of an index
# build, and a help centre has a few tens of thousands of distinct words.
_stems: dict[str, str] = {}
STEM_CACHE_SIZE = 200_000


def stem(word: str) -> str:
    found = _stems.get(word)
    if found is None:
        if len(_stems) >= STEM_CACHE_SIZE:
            _stems.clear()
        found = _stems[word] = _stemmer.stem(word)
    return found


def words(text: str) -> list[str]:
    """The words of `text` that carry meaning: lower case, without stop words."""
    return [w for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in STOPWORDS]


def tokens(text: str) -> list[str]:
    return [stem(w) for w in words(text)]


def intent_words(intent: str) -> str:
    return intent.replace("_", " ").replace("-", " ")


@dataclass(frozen=True)
class Item:
    """One phrase or article in the index, with what filters it."""

    kind: SuggestionKind
    id: int
    title: str
    owner_id: int | None = None  # phrases: None for a shared phrase
    queue_ids: frozenset[int] = frozenset()  # empty: every queue
    intents: frozenset[str] = frozenset()
    terms: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Ranked:
    item: Item
    score: float
    matched: tuple[str, ...]  # the customer's words that matched
    intent: bool  # written for the chat's intent
    picks: int  # times CSRs picked it for this intent


class Index:
    """BM25 over every item's text; rank() filters for the CSR and the chat. The filters
    and boosts are numpy arrays built once, so a ranking touches only the few items it
    keeps in Python."""

    def __init__(self, entries: Iterable[tuple[Item, str]]):
        items: list[Item] = []
        corpus: list[list[str]] = []
        for item, text in entries:
            toks = tokens(text)
            items.append(replace(item, terms=frozenset(toks)))
            corpus.append(toks or ["_"])
        self.items = items
        # BM25Plus with delta 0 is Okapi BM25 with an idf that stays positive, log((N + 1)
        # / n): a word in most items (or in the only one) still counts a little.
        self.bm25 = BM25Plus(corpus, delta=0) if corpus else None
        # Which items hold each word: only those are scored for a query.
        postings: dict[str, list[int]] = {}
        for n, item in enumerate(items):
            for term in item.terms:
                postings.setdefault(term, []).append(n)
        self.postings = {term: np.array(ns, dtype=np.int64) for term, ns in postings.items()}
        self.is_phrase = np.array([i.kind == SuggestionKind.PHRASE for i in items], dtype=bool)
        self.owner = np.array([i.owner_id or 0 for i in items], dtype=np.int64)
        self.restricted = {n: i.queue_ids for n, i in enumerate(items) if i.queue_ids}
        self.by_intent: dict[str, list[int]] = {}
        for n, i in enumerate(items):
            for intent in i.intents:
                self.by_intent.setdefault(intent, []).append(n)
        self.position: dict[tuple[str, int], int] = {(i.kind, i.id): n for n, i in enumerate(items)}

    def rank(
        self,
        query: str,
        *,
        user_id: int | None,
        queue_id: int | None,
        intent: str = "",
        picks: Mapping[tuple[str, int], int] | None = None,
        kinds: Iterable[SuggestionKind] = (SuggestionKind.PHRASE, SuggestionKind.ARTICLE),
        limit: int = 5,
    ) -> list[Ranked]:
        if self.bm25 is None:
            return []
        picks = picks or {}
        kinds = frozenset(kinds)
        original: dict[str, str] = {}  # stem → the customer's word, for the reasons
        query_terms = []  # repeated words weigh more (BM25 adds each occurrence)
        for word in words(query):
            term = stem(word)
            original.setdefault(term, word)
            query_terms.append(term)
        if not query_terms:
            return []
        # Each distinct word scored once, weighted by how often the customer used it, on
        # the items that hold at least one of the words.
        counts = Counter(term for term in query_terms if term in self.postings)
        scores = np.zeros(len(self.items))
        if counts:
            held = np.unique(np.concatenate([self.postings[term] for term in counts]))
            few = len(held) * 3 < len(self.items)
            ids = held.tolist()
            for term, count in counts.items():
                if few:
                    scores[held] += count * np.asarray(self.bm25.get_batch_scores([term], ids))
                else:
                    scores += count * self.bm25.get_scores([term])
        # No word in common: never suggested, whatever the intent or the picks.
        keep = scores > 0
        if SuggestionKind.PHRASE not in kinds:
            keep &= ~self.is_phrase
        if SuggestionKind.ARTICLE not in kinds:
            keep &= self.is_phrase
        # Phrases: shared ones (owner 0) and the CSR's own.
        keep &= ~self.is_phrase | (self.owner == 0) | (self.owner == (user_id or -1))
        for n, queues in self.restricted.items():
            if keep[n] and queue_id not in queues:
                keep[n] = False
        for_intent = np.zeros(len(self.items), dtype=bool)
        if intent and intent in self.by_intent:
            for_intent[self.by_intent[intent]] = True
        scores = np.where(keep, scores * (1 + INTENT_BOOST * for_intent), 0.0)
        picked: dict[int, int] = {}
        for key, count in picks.items():
            at = self.position.get(key)
            if at is not None and count > 0:
                picked[at] = count
                scores[at] *= 1 + PICK_BOOST * math.log1p(count)
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > limit:
            candidates = candidates[np.argpartition(-scores[candidates], limit)[:limit]]
        order = sorted(candidates.tolist(), key=lambda n: (-scores[n], n))
        ranked = []
        for n in order:
            item = self.items[n]
            matched = tuple(original[t] for t in original if t in item.terms)
            score = round(float(scores[n]), 3)
            ranked.append(Ranked(item, score, matched, bool(for_intent[n]), picked.get(n, 0)))
        return ranked


def keyword_rank(entries: Iterable[tuple[Item, str]], query: str, *, limit: int = 3) -> list[Item]:
    """The baseline: items ordered by how many of the query's distinct words (lower case,
    as typed) appear in their text — no stemming, no stop words, no weights."""
    query_words = set(re.findall(r"[a-z0-9']+", query.lower()))
    scored = []
    for position, (item, text) in enumerate(entries):
        text_words = set(re.findall(r"[a-z0-9']+", text.lower()))
        hits = len(query_words & text_words)
        if hits:
            scored.append((-hits, position, item))
    scored.sort(key=lambda entry: (entry[0], entry[1]))
    return [item for _, _, item in scored[:limit]]


class IndexHolder:
    """The process's index, rebuilt when the content version moves. A small index is
    rebuilt at once; a large one (its build takes seconds) is rebuilt on a thread while
    the previous one keeps answering, so an edit in the admin never stalls suggestions."""

    def __init__(self, *, inline_below: int = INLINE_REBUILD_BELOW) -> None:
        self.lock = threading.Lock()
        self.inline_below = inline_below
        self.version: object = None
        self.index: Index | None = None
        self.building: object = None  # the version a background build is making

    def get(self, version: object, build: Callable[[], list[tuple[Item, str]]]) -> Index:
        with self.lock:
            index = self.index
            if index is not None and version == self.version:
                return index
            if index is None or len(index.items) < self.inline_below:
                self.index, self.version = Index(build()), version
                return self.index
            if self.building != version:
                self.building = version
                threading.Thread(
                    target=self._rebuild, args=(version, build), daemon=True, name="assist-index"
                ).start()
            return index

    def _rebuild(self, version: object, build: Callable[[], list[tuple[Item, str]]]) -> None:
        try:
            fresh = Index(build())
        finally:
            connections.close_all()  # this thread's own connection
        with self.lock:
            if self.building == version:
                self.index, self.version, self.building = fresh, version, None
