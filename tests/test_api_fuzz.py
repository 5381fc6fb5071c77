"""Property-based API tests: requests generated from /api/schema get no 5xx and match the schema; any
text, timestamp, id or offset at the doors of issue 10 gets a JSON 2xx/4xx."""

import json
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = 25


from mlops_site.wsgi import application  # noqa: E402

# The schema is read from the application itself; the generated requests go over real HTTP.
schema = schemathesis.openapi.from_wsgi("/api/schema", application)


@pytest.fixture
def staff_token(live_server, staff, simulated):
    import json

    request = urllib.request.Request(
        f"{live_server.url}/api/auth/token",
        data=json.dumps({"username": "staff", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())["access"]


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_schema(case, live_server, staff_token):
    case.call_and_validate(
        base_url=live_server.url,
        headers={"Authorization": f"Bearer {staff_token}"},
        checks=[not_a_server_error, content_type_conformance, response_schema_conformance],
    )


# ------------------------------------------------------------------ the hostile inputs of issue 10
# Any text at all (lone surrogates, NULs, control characters included), sent as JSON escapes.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
TIMESTAMPS = st.one_of(
    st.none(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    ANY_TEXT,
    st.datetimes(timezones=st.timezones()).map(lambda when: when.isoformat()),
    st.sampled_from(["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "99999999999999", "1e20"]),
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def _post(client, path, payload):
    return client.post(path, json.dumps(payload), content_type="application/json")


@pytest.mark.django_db
@FUZZ
@given(timestamp=TIMESTAMPS, user=ANY_TEXT, question=ANY_TEXT, extra=st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=2))
def test_ingest_never_fails_on_any_timestamp_or_text(ingest_client, timestamp, user, question, extra):
    from training_data.fields import event_key
    from training_data.models import TrainingData

    event = f"fuzz-{uuid.uuid4()}"
    answer = {**extra, "userId": user, "questionId": question, "correct": True, "eventId": event}
    if timestamp is not None:
        answer["timestamp"] = timestamp
    response = _post(ingest_client, "/api/training-data", [answer])
    assert response.status_code in (200, 201, 400), response.content
    assert response["Content-Type"] == "application/json"
    stored = TrainingData.objects.filter(event_key=event_key(event)).values_list("answered_at", flat=True).first()
    if response.status_code == 400:
        assert stored is None
    else:
        assert datetime(1970, 1, 1, tzinfo=UTC) <= stored <= timezone.now() + timedelta(minutes=5)


@pytest.mark.django_db
@FUZZ
@given(
    version=ANY_TEXT,
    offset=st.one_of(st.integers(min_value=-(2**70), max_value=2**70), ANY_TEXT),
    pairs=st.lists(st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=3), min_size=1, max_size=3),
    algorithm=ANY_TEXT,
)
def test_staff_doors_never_fail_on_any_text(staff_client, version, offset, pairs, algorithm):
    quoted = urllib.parse.quote(version, safe="", errors="surrogatepass")
    for response in (
        staff_client.get(f"/api/mlops/versions/{quoted}"),
        staff_client.get("/api/mlops/versions", {"offset": str(offset)}),
        staff_client.get("/api/mlops/production/parameters", {"offset": str(offset), "format": "csv"}),
        _post(staff_client, "/api/mlops/predict", pairs),
        _post(staff_client, "/api/mlops/retrain", {"algorithm": algorithm, "wait": True}),
    ):
        assert response.status_code < 500, response.content
        assert response["Content-Type"] == "application/json"


@pytest.fixture
def ingest_client(api, ingester):
    return api(ingester)


@pytest.fixture
def staff_client(api, staff):
    return api(staff)
