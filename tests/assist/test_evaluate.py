"""manage.py evaluate_suggestions: top-1 and top-3 on the labelled set, with the keyword
baseline; the panel's ranking reaches top-3 ≥ 0.8 on the demo content."""

import io
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from assist.evaluation import cases_read

LABELLED = Path(__file__).resolve().parents[1] / "data" / "suggestions.tsv"


def test_the_labelled_set_has_at_least_150_lines_naming_demo_content():
    from assist.demo import DEMO_ARTICLES, DEMO_PHRASES

    cases = cases_read(LABELLED)
    assert len(cases) >= 150
    known = {f"article:{a[0]}" for a in DEMO_ARTICLES} | {f"phrase:{p[0]}" for p in DEMO_PHRASES}
    assert {key for case in cases for key in case.expected} <= known


@pytest.mark.django_db
def test_the_command_reports_hit_rates_and_meets_the_target():
    out = io.StringIO()
    call_command("evaluate_suggestions", str(LABELLED), "--seed", stdout=out)
    text = out.getvalue()
    rows = {
        m[1].strip(): (float(m[2]), float(m[3]))
        for m in re.finditer(r"^(.+?)\s+(\d\.\d{3})\s+(\d\.\d{3})$", text, re.M)
    }
    ours = rows["BM25 + intent (the panel's ranking)"]
    baseline = rows["Plain keyword match (baseline)"]
    assert ours[1] >= 0.8
    assert ours[0] > baseline[0] and ours[1] > baseline[1]


@pytest.mark.django_db
def test_the_command_says_what_to_do_without_the_demo_content(tmp_path):
    with pytest.raises(CommandError, match="--seed"):
        call_command("evaluate_suggestions", str(LABELLED))
    bad = tmp_path / "bad.tsv"
    bad.write_text("only one field\n")
    with pytest.raises(CommandError, match="3 tab-separated fields"):
        call_command("evaluate_suggestions", str(bad))
