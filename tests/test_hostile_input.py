"""Hostile and broken input gets a clear 4xx (or a clear import error), never a 500 or a partial write."""

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from retraining.models import ModelVersion
from tests.conftest import ROOT
from training_data.anonymise import hash_user_id
from training_data.fields import event_key
from training_data.models import TrainingData

pytestmark = pytest.mark.django_db


def test_a_50_mb_body_is_refused_before_it_is_read(live_server):
    body = b"[" + b"0," * (25 * 1024 * 1024) + b"0]"
    request = urllib.request.Request(f"{live_server.url}/api/training-data", data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    started = time.monotonic()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)
    assert refused.value.code == 413
    assert json.loads(refused.value.read())["code"] == "too_large"
    assert time.monotonic() - started < 30


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"answers": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"answers": [',
        "\x00\x01",
        '{"answers": NaN}',
    ],
)
def test_malformed_and_deeply_nested_json_is_a_400(api, ingester, body):
    response = api(ingester).post("/api/training-data", body, content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json()
    assert not TrainingData.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"limit": -5}, "limit"),
        ({"limit": 10**18}, "limit"),
        ({"limit": [1]}, "limit"),
        ({"since": "2999-12-31"}, "since"),
        ({"since": 20240101}, "since"),
        ({"algorithm": {"name": "irt-2pl"}}, "algorithm"),
        ({"wait": "later"}, "wait"),
    ],
)
def test_wrong_types_and_ranges_on_retrain(api, staff, body, field):
    response = api(staff).post("/api/mlops/retrain", body)
    assert response.status_code == 400 and field in response.json()["error"]
    assert not ModelVersion.objects.exists()


def test_unicode_and_very_long_ids(api, ingester, staff):
    client = api(ingester)
    ok = [
        {"userId": "学习者-٣-🚀", "questionId": "題目-ü-✓", "correct": True, "eventId": "ëvent-1"},
        {"userId": "x" * 255, "questionId": "q" * 255, "correct": False, "eventId": "e" * 255},
    ]
    assert client.post("/api/training-data", ok).status_code == 201
    stored = TrainingData.objects.get(event_key=event_key("ëvent-1"))
    assert stored.question.question_id == "題目-ü-✓" and stored.user_hash == hash_user_id("学习者-٣-🚀")
    too_long = [
        {"userId": "u", "questionId": "q" * 256, "correct": True, "eventId": "e-3"},
        {"userId": "x" * 5000, "questionId": "q", "correct": True, "eventId": "e-4"},
    ]
    response = client.post("/api/training-data", too_long)
    assert response.status_code == 400
    assert [e["error"] for e in response.json()["errors"]] == [
        "questionId is longer than 255 characters",
        "userId is longer than 255 characters",
    ]
    nul = [{"userId": "u", "questionId": "q\x00", "correct": True, "eventId": "e-4"}]
    assert client.post("/api/training-data", nul).status_code == 400
    long_predict = api(staff).post("/api/mlops/predict", {"userId": "u" * 300, "questionId": "q"})
    assert long_predict.status_code == 400


def _bearer(client, token):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get("/api/mlops/status")


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_token_accepted_before_is_refused_once_it_expires(api, staff, monkeypatch):
    """Each token's signature is checked once per process; its expiry on every request."""
    client = api()
    token = AccessToken.for_user(staff)
    assert _bearer(client, str(token)).status_code == 200
    later = timezone.now() + timedelta(days=2)
    monkeypatch.setattr("mlops_site.tokens.aware_utcnow", lambda: later)
    refused = _bearer(client, str(token))
    never_seen = AccessToken.for_user(staff)
    never_seen.set_exp(lifetime=-timedelta(minutes=1))
    assert refused.status_code == 401 and refused.json() == _bearer(client, str(never_seen)).json()


def test_bad_tokens_are_refused(api, staff):
    client = api()
    good = AccessToken.for_user(staff)
    assert _bearer(client, str(good)).status_code == 200

    expired = AccessToken.for_user(staff)
    expired.set_exp(lifetime=-timedelta(minutes=1))
    assert _bearer(client, str(expired)).status_code == 401

    header, payload, signature = str(good).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged_claims = {**claims, "user_id": str(staff.pk)}
    forged_signature = (
        base64.urlsafe_b64encode(
            hmac.new(b"not-the-server-key", f"{header}.{_b64(forged_claims)}".encode(), hashlib.sha256).digest()
        )
        .rstrip(b"=")
        .decode()
    )
    assert _bearer(client, f"{header}.{_b64(forged_claims)}.{forged_signature}").status_code == 401

    tampered = {**claims, "exp": claims["exp"] + 3600}
    assert _bearer(client, f"{header}.{_b64(tampered)}.{signature}").status_code == 401

    none_header = _b64({"alg": "none", "typ": "JWT"})
    assert _bearer(client, f"{none_header}.{payload}.").status_code == 401
    assert _bearer(client, f"{none_header}.{payload}").status_code == 401
    assert _bearer(client, "garbage").status_code == 401


def test_csv_import_survives_malformed_lines(tmp_path):
    from io import StringIO

    from django.core.management import CommandError, call_command

    path = tmp_path / "broken.csv"
    path.write_text('user_id,question_id,correct\nu1,q1,1\n"u2,q2,1\nu3,q3,1,extra,fields\n,,\nu4,q4,0\n')
    with pytest.raises(CommandError, match=r"line 3: .*nothing was imported"):
        call_command("import_training_data", str(path), stdout=StringIO())
    assert not TrainingData.objects.exists()
    out = StringIO()
    call_command("import_training_data", str(path), "--skip-invalid", stdout=out)
    assert "Imported 2 answers" in out.getvalue() and "3 invalid" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_importing_a_huge_file_streams_it(tmp_path, settings):
    """400,000 rows: peak memory stays far below what holding the rows would need (~250 MB)."""
    path = tmp_path / "huge.csv"
    with path.open("w") as handle:
        handle.write("user_id,question_id,correct,answered_at\n")
        for k in range(400_000):
            handle.write(f"learner-{k % 9000},q{k % 700},{k % 2},2026-01-01T00:00:00Z\n")
    database = tmp_path / "import.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{database}", "DJANGO_DEBUG": "true", "PATH": "/usr/bin:/bin"}
    migrate = subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, capture_output=True)
    assert migrate.returncode == 0, migrate.stderr
    script = (
        "import os, resource, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mlops_site.settings'); "
        "django.setup(); from training_data.services import training_data_import as imp; "
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
        f"report = imp(path={str(path)!r}); "
        "print(report.inserted, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    inserted, growth_mib = map(int, result.stdout.split())
    assert inserted == 400_000
    assert growth_mib < 120, f"memory grew by {growth_mib} MiB while importing"
