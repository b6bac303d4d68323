"""`manage.py sentiment_eval [FILE...]`: measure chat.sentiment against plain TextBlob.

Without FILE it measures the evaluation files that ship in chat/sentiment_data/ (two
review files of the VADER study, the customer-service chat lines the support-chat
rules were written against, and a check set of chat lines written after the rules)
and cross-validates the calibration on the two review files, the ones it is fitted on.

Each FILE holds one labelled text a line, tab-separated: id, mean human rating on
-4..4, text (the format of the VADER study's ground-truth files; CRLF or LF, UTF-8).
A rating's class is positive when rating/4 ≥ 0.05, negative when ≤ -0.05, else
neutral. Per file the command prints n, accuracy, macro-F1, weighted F1, the precision
and recall of the negative class (of the texts read Negative, the share that are; of
the negative texts, the share read Negative) and the microseconds per text, for our
scorer and for TextBlob.

With --folds K (default 5) it also cross-validates the calibration: the texts of all
FILEs (without FILE: of the calibration files) are split into K folds; for each fold
the parameters are re-fitted on the other folds (the same grid search that chose
chat.sentiment.CALIBRATED) and the held-out fold is scored with them, so every text is
scored by parameters that never saw it.
Then each file is scored with parameters fitted on the other files only.
"""

import random
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from textblob import TextBlob

from chat import sentiment
from chat.models import SentimentLabel

CLASS_BAND = 0.05  # rating/4 at or beyond ±0.05: positive / negative
RATING_MIN, RATING_MAX = -4.0, 4.0
LABELS = (SentimentLabel.POSITIVE, SentimentLabel.NEUTRAL, SentimentLabel.NEGATIVE)

# The calibration grid (see chat.sentiment.Params). TextBlob's weight stops at 1: up to
# there it only fills the room VADER leaves, and the score needs no clipping.
GRID_TEXTBLOB_WEIGHT = (0.0, 0.25, 0.5, 0.75, 1.0)
GRID_NEGATIVE_WEIGHT = (1.0, 1.25, 1.5, 2.0)
GRID_NEUTRAL_BAND = (0.01, 0.02, 0.05, 0.1)

DATA_DIR = Path(__file__).resolve().parents[2] / "sentiment_data"
# The calibration files: chat.sentiment.CALIBRATED is the fit on these two.
CALIBRATION_FILES = (
    DATA_DIR / "amazonReviewSnippets_GroundTruth.txt",
    DATA_DIR / "movieReviewSnippets_GroundTruth.txt",
)
# Customer-service chat lines: the support-chat rules (chat.sentiment_rules) were
# written against the first; the second, the check set, was written after the rules
# and has steered no rule (chat/sentiment_data/README.md says what it was used for).
CHAT_FILES = (
    DATA_DIR / "customerServiceChat_GroundTruth.txt",
    DATA_DIR / "customerServiceChatCheck_GroundTruth.txt",
)
EVALUATION_FILES = CALIBRATION_FILES + CHAT_FILES


@dataclass(frozen=True)
class Item:
    line: int
    item_id: str
    rating: float
    text: str

    @property
    def label(self) -> SentimentLabel:
        return rating_label(self.rating)


def rating_label(rating: float) -> SentimentLabel:
    """The study's three classes: rating/4 ≥ 0.05 positive, ≤ -0.05 negative."""
    value = rating / 4
    if value >= CLASS_BAND:
        return SentimentLabel.POSITIVE
    if value <= -CLASS_BAND:
        return SentimentLabel.NEGATIVE
    return SentimentLabel.NEUTRAL


def read_labelled_file(path: Path) -> list[Item]:
    """The items of one file; CommandError naming the file (and line) when it cannot be
    read or a line is not `id<TAB>rating<TAB>text` with a rating in -4..4."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise CommandError(f"{path}: is a directory, not a file.") from None
    except OSError as error:
        raise CommandError(f"{path}: cannot be read ({error.strerror}).") from None
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line_number = raw[: error.start].count(b"\n") + 1
        raise CommandError(f"{path}, line {line_number}: not UTF-8 text.") from None
    items = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t", 2)
        if len(fields) != 3:
            raise CommandError(
                f"{path}, line {number}: expected 3 tab-separated fields (id, rating, "
                f"text), found {len(fields)}: {line[:60]!r}"
            )
        item_id, rating_text, text = fields
        try:
            rating = float(rating_text)
        except ValueError:
            raise CommandError(
                f"{path}, line {number}: the rating {rating_text[:20]!r} is not a number."
            ) from None
        if not RATING_MIN <= rating <= RATING_MAX:
            raise CommandError(
                f"{path}, line {number}: the rating {rating:g} is outside "
                f"{RATING_MIN:g}..{RATING_MAX:g}."
            )
        if not text.strip():
            raise CommandError(f"{path}, line {number}: the text is empty.")
        items.append(Item(line=number, item_id=item_id.strip(), rating=rating, text=text))
    if not items:
        raise CommandError(f"{path}: holds no labelled text.")
    return items


@dataclass(frozen=True)
class Metrics:
    n: int
    accuracy: float
    macro_f1: float
    weighted_f1: float
    negative_precision: float
    negative_recall: float


def metrics(truth: Sequence[str], predicted: Sequence[str]) -> Metrics:
    """Accuracy, F1 averaged over the classes present (macro) and by support (weighted),
    and the negative class's precision and recall. Empty classes count 0."""
    if len(truth) != len(predicted) or not truth:
        raise ValueError("metrics() needs two lists of the same, non-zero length.")
    n = len(truth)
    f1s: dict[str, float] = {}
    support: dict[str, int] = {}
    recall: dict[str, float] = {}
    precision: dict[str, float] = {}
    for label in LABELS:
        hits = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p == label)
        actual = sum(1 for t in truth if t == label)
        guessed = sum(1 for p in predicted if p == label)
        support[label] = actual
        recall[label] = hits / actual if actual else 0.0
        precision[label] = hits / guessed if guessed else 0.0
        if actual or guessed:
            both = precision[label] + recall[label]
            f1s[label] = 2 * precision[label] * recall[label] / both if both else 0.0
    return Metrics(
        n=n,
        accuracy=sum(1 for t, p in zip(truth, predicted, strict=True) if t == p) / n,
        macro_f1=sum(f1s.values()) / len(f1s),
        weighted_f1=sum(f1s.get(label, 0.0) * support[label] for label in LABELS) / n,
        negative_precision=precision[SentimentLabel.NEGATIVE],
        negative_recall=recall[SentimentLabel.NEGATIVE],
    )


def timed(fn: Callable[[str], float], texts: Iterable[str]) -> tuple[list[float], float]:
    """fn over the texts, and the mean microseconds per text."""
    texts = list(texts)
    started = time.perf_counter()
    values = [fn(text) for text in texts]
    return values, (time.perf_counter() - started) / len(texts) * 1e6


def textblob_polarity(text: str) -> float:
    """Plain TextBlob, as its documentation shows it."""
    return TextBlob(text).sentiment.polarity


def parameter_grid() -> list[sentiment.Params]:
    return [
        sentiment.Params(textblob_weight=w, negative_weight=k, neutral_band=band)
        for w, k, band in product(GRID_TEXTBLOB_WEIGHT, GRID_NEGATIVE_WEIGHT, GRID_NEUTRAL_BAND)
    ]


Labelled = list[tuple[sentiment.TextFeatures, SentimentLabel, int]]  # features, truth, file


def _accuracy_per_file(rows: Labelled, params: sentiment.Params) -> dict[int, float]:
    right: dict[int, int] = {}
    total: dict[int, int] = {}
    for features, truth, file_index in rows:
        total[file_index] = total.get(file_index, 0) + 1
        guess = sentiment.label_for(sentiment.combine(features, params), params)
        right[file_index] = right.get(file_index, 0) + (guess == truth)
    return {index: right.get(index, 0) / count for index, count in total.items()}


def fit(rows: Labelled) -> sentiment.Params:
    """The grid point with the best accuracy averaged over the files (each file counts
    the same, whatever its size); ties go to the earlier, simpler point."""
    best, best_value = None, -1.0
    for params in parameter_grid():
        value = statistics.fmean(_accuracy_per_file(rows, params).values())
        if value > best_value:
            best, best_value = params, value
    assert best is not None
    return best


def _params_text(params: sentiment.Params) -> str:
    return (
        f"textblob_weight={params.textblob_weight:g} "
        f"negative_weight={params.negative_weight:g} neutral_band={params.neutral_band:g}"
    )


class Command(BaseCommand):
    help = (
        "Score labelled texts (id<TAB>rating -4..4<TAB>text a line) with chat.sentiment and "
        "with plain TextBlob; print accuracy, F1 and speed per file, and cross-validate "
        "the calibration."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "files",
            nargs="*",
            metavar="FILE",
            type=Path,
            help="Labelled files. Default: the evaluation files in chat/sentiment_data/.",
        )
        parser.add_argument(
            "--folds",
            type=int,
            default=5,
            help="Cross-validate the calibration with this many folds (0: skip). Default 5.",
        )
        parser.add_argument("--seed", type=int, default=6, help="Fold shuffle seed.")

    def handle(self, *args, files: list[Path], folds: int, seed: int, **options) -> None:
        if folds == 1 or folds < 0:
            raise CommandError("--folds must be 0 (no cross-validation) or at least 2.")
        calibration = files or list(CALIBRATION_FILES)
        files = files or list(EVALUATION_FILES)
        loaded = [(path, read_labelled_file(path)) for path in files]
        self.stdout.write(
            "Three classes by rating/4 at ±0.05; our scorer: chat.sentiment "
            f"({_params_text(sentiment.CALIBRATED)}).\n"
        )
        header = (
            f"{'scorer':<16}{'n':>7}{'accuracy':>10}{'macro-F1':>10}"
            f"{'weighted-F1':>13}{'neg-precision':>15}{'neg-recall':>12}{'µs/text':>10}"
        )
        rows: Labelled = []
        fitted_on: list[str] = []
        for path, items in loaded:
            truth = [item.label for item in items]
            counts = ", ".join(f"{truth.count(label)} {label}" for label in LABELS)
            self.stdout.write(f"{path.name}  ({counts})")
            self.stdout.write(header)
            texts = [item.text for item in items]
            ours, ours_us = timed(sentiment.text_score, texts)
            baseline, baseline_us = timed(textblob_polarity, texts)
            # TextBlob's polarity gets the study's own ±0.05 band.
            for name, values, band, micros in (
                ("chat.sentiment", ours, sentiment.CALIBRATED.neutral_band, ours_us),
                ("TextBlob", baseline, CLASS_BAND, baseline_us),
            ):
                found = metrics(truth, [_label(value, band) for value in values])
                self.stdout.write(
                    f"{name:<16}{found.n:>7}{found.accuracy:>10.3f}{found.macro_f1:>10.3f}"
                    f"{found.weighted_f1:>13.3f}{found.negative_precision:>15.3f}"
                    f"{found.negative_recall:>12.3f}{micros:>10.0f}"
                )
            self.stdout.write("")
            if folds and path in calibration:
                index = len(fitted_on)
                fitted_on.append(path.name)
                rows.extend(
                    (sentiment.text_features(item.text), item.label, index) for item in items
                )
        if folds:
            self.cross_validate(rows, fitted_on, folds=folds, seed=seed)

    def cross_validate(self, rows: Labelled, names: list[str], *, folds: int, seed: int) -> None:
        if len(rows) < folds:
            raise CommandError(f"--folds {folds} needs at least {folds} texts.")
        order = list(range(len(rows)))
        random.Random(seed).shuffle(order)  # noqa: S311 - fold assignment, not secrets
        predicted: dict[int, bool] = {}
        self.stdout.write(
            f"{folds}-fold cross-validation: parameters fitted on {folds - 1}/{folds} of the "
            f"texts, accuracy on the held-out {1}/{folds}"
        )
        fold_accuracies = []
        for fold in range(folds):
            held = set(order[fold::folds])
            params = fit([row for i, row in enumerate(rows) if i not in held])
            right = 0
            for i in held:
                features, truth, _ = rows[i]
                guess = sentiment.label_for(sentiment.combine(features, params), params)
                predicted[i] = guess == truth
                right += guess == truth
            fold_accuracies.append(right / len(held))
            self.stdout.write(
                f"  fold {fold + 1}: {_params_text(params)}  accuracy {right / len(held):.3f}"
            )
        spread = statistics.stdev(fold_accuracies) if folds > 1 else 0.0
        self.stdout.write(
            f"  mean over folds {statistics.fmean(fold_accuracies):.3f} ± {spread:.3f}"
        )
        for index, name in enumerate(names):
            mine = [i for i, row in enumerate(rows) if row[2] == index]
            cv = sum(predicted[i] for i in mine) / len(mine)
            shipped = _accuracy_per_file(rows, sentiment.CALIBRATED)[index]
            self.stdout.write(
                f"  {name}: cross-validated accuracy {cv:.3f} (shipped parameters {shipped:.3f})"
            )
        self.stdout.write(f"Fitted on all the texts: {_params_text(fit(rows))}")
        if len(names) > 1:
            self.stdout.write("Fitted on the other files only:")
            for index, name in enumerate(names):
                params = fit([row for row in rows if row[2] != index])
                accuracy = _accuracy_per_file([row for row in rows if row[2] == index], params)
                self.stdout.write(
                    f"  {name}: accuracy {accuracy[index]:.3f} with {_params_text(params)}"
                )


def _label(value: float, band: float) -> SentimentLabel:
    return sentiment.label_for(
        value, sentiment.Params(textblob_weight=0, negative_weight=1, neutral_band=band)
    )
