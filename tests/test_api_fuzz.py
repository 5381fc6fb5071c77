"""Property-based API tests generated from /api/schema: no 5xx, and responses match the schema."""

import urllib.request

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
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
