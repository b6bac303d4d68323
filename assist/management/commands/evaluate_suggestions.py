"""manage.py evaluate_suggestions tests/data/suggestions.tsv: the suggestions' top-1 and
top-3 hit rates on a labelled set, against a plain keyword match."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assist import evaluation, ranking, selectors
from assist.demo import demo_assist_seed
from assist.models import Article, Phrase, SuggestionKind


class Command(BaseCommand):
    help = (
        "Report the top-1 and top-3 hit rates of the suggested replies on a labelled set "
        "(message, intent, expected phrase or article), and those of a plain keyword match."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="The labelled set (TSV).")
        parser.add_argument(
            "--seed",
            action="store_true",
            help="Create or refresh the demo articles and phrases first (assist/demo.py).",
        )

    def handle(self, *args, **options) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            cases = evaluation.cases_read(path)
        except ValueError as error:
            raise CommandError(str(error)) from None
        if options["seed"]:
            demo_assist_seed()
        names: dict[tuple[str, int], str] = {}
        for pk, slug in Article.objects.values_list("pk", "slug"):
            names[(SuggestionKind.ARTICLE, pk)] = slug
        for pk, shortcut in Phrase.objects.filter(owner__isnull=True).values_list("pk", "shortcut"):
            names[(SuggestionKind.PHRASE, pk)] = shortcut
        known = {
            f"{'article' if kind == SuggestionKind.ARTICLE else 'phrase'}:{name}"
            for (kind, _), name in names.items()
        }
        missing = sorted({key for case in cases for key in case.expected} - known)
        if missing:
            raise CommandError(
                f"The labelled set names content the database lacks ({', '.join(missing[:5])}…): "
                "run with --seed (or manage.py seed_demo) first."
            )
        entries = [
            (item, text) for item, text in selectors.index_entries() if item.owner_id is None
        ]
        index = ranking.Index(entries)

        by_key = {evaluation.item_key(item, names): item for item, _ in entries}

        def bm25(case: evaluation.Case, *, intent: bool, picks=None) -> list[str]:
            ranked = index.rank(
                case.message,
                user_id=None,
                queue_id=None,
                intent=case.intent if intent else "",
                picks=(picks or {}).get(case.intent, {}),
                limit=3,
            )
            return [evaluation.item_key(r.item, names) for r in ranked]

        # Learning from use: the odd lines' CSRs pick the first expected item for the
        # line's intent; the even lines are ranked with those picks, and without.
        learned, held_out = cases[::2], cases[1::2]
        picks: dict[str, dict[tuple[str, int], int]] = {}
        for case in learned:
            item = by_key[sorted(case.expected)[0]]
            counts = picks.setdefault(case.intent, {})
            counts[(item.kind, item.id)] = counts.get((item.kind, item.id), 0) + 1

        def keywords(case: evaluation.Case) -> list[str]:
            return [
                evaluation.item_key(item, names)
                for item in ranking.keyword_rank(entries, case.message)
            ]

        rows = [
            (
                "BM25 + intent (the panel's ranking)",
                evaluation.rates(cases, lambda c: bm25(c, intent=True)),
            ),
            ("BM25, message text only", evaluation.rates(cases, lambda c: bm25(c, intent=False))),
            ("Plain keyword match (baseline)", evaluation.rates(cases, keywords)),
            (
                "Even lines, no picks",
                evaluation.rates(held_out, lambda c: bm25(c, intent=True)),
            ),
            (
                "Even lines, odd lines' picks learned",
                evaluation.rates(held_out, lambda c: bm25(c, intent=True, picks=picks)),
            ),
        ]
        self.stdout.write(f"Labelled messages: {len(cases)} ({path})")
        self.stdout.write(f"{'Method':<40} {'top-1':>6} {'top-3':>6}")
        for name, result in rows:
            self.stdout.write(f"{name:<40} {result.top1:>6.3f} {result.top3:>6.3f}")
