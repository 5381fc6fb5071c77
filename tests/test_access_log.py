"""Every line of gunicorn's access log parses as JSON, whatever a client puts into the path."""

import http.client
import json

import pytest

from mlops_site.logs import JsonSafeAtoms
from tests.servers import gunicorn

PATHS = [
    "/healthz",
    "/api/x%0A{%22injected%22:%20true}",
    "/api/nul%00here",
    "/api/quote%22and%5Cbackslash",
    '/api/raw"quote\\slash',
    "/api/ctrl%1B%7F%08",
    "/api/latin%FF%FE",
    "/api/%E2%9C%93",
]


@pytest.mark.django_db(transaction=True)
def test_access_log_lines_are_json_under_real_gunicorn(tmp_path):
    log = tmp_path / "access.log"
    with gunicorn(workers=1, env={"GUNICORN_ACCESS_LOG": str(log)}) as (host, port):
        for path in PATHS:
            connection = http.client.HTTPConnection(host, port, timeout=30)
            connection.request("GET", path)
            connection.getresponse().read()
            connection.close()
    lines = log.read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]  # fails on any line that is not JSON
    logged = [entry["path"] for entry in entries if entry["path"] != "/healthz"]
    assert '/api/x\n{"injected": true}' in logged and "/api/nul\x00here" in logged
    assert '/api/quote"and\\backslash' in logged and '/api/raw"quote\\slash' in logged
    assert len(entries) >= len(PATHS)


def test_the_atoms_escape_for_json():
    atoms = JsonSafeAtoms({"U": 'a\n"b"\\\x00', "s": "200", "B": 12, "M": 3})
    fmt = '{"path": "%(U)s", "status": %(s)s, "bytes": "%(B)s", "duration_ms": %(M)s, "missing": "%(x)s"}'
    line = fmt % atoms  # as gunicorn applies access_log_format
    assert json.loads(line) == {"path": 'a\n"b"\\\x00', "status": 200, "bytes": "12", "duration_ms": 3, "missing": "-"}
