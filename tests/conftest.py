import os
import subprocess
import sys
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.utils import timezone

from retraining.irt import simulate_2pl
from training_data.services import answer_row, answers_insert

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def pytest_collection_modifyitems(config, items):
    postgres = connection.settings_dict["ENGINE"].endswith("postgresql")
    skip = pytest.mark.skip(reason="needs PostgreSQL: run with DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords and not postgres:
            item.add_marker(skip)


@pytest.fixture
def add_answers():
    """Store answers given as (user, question, correct[, answered_at]) tuples; returns the count."""

    def add(answers, *, start=None, prefix="t"):
        now = timezone.now()
        start = start or now - timedelta(days=10)
        rows = []
        for k, answer in enumerate(answers):
            user, question, correct = answer[:3]
            when = answer[3] if len(answer) > 3 else start + timedelta(seconds=k)
            rows.append(
                answer_row(
                    user_id=user,
                    question_id=question,
                    correct=correct,
                    answered_at=when,
                    event_id=f"{prefix}-{k}",
                    now=now,
                )
            )
        return answers_insert(rows)

    return add


def simulated_answers(n_users=150, n_questions=25, per_user=20, seed=0, discrimination=2.0):
    """Answers from a 2PL with strong items: an IRT model clears the 75 % accuracy gate on them."""
    users, items, correct, *_ = simulate_2pl(
        n_users, n_questions, per_user, seed, difficulty_sd=1.5, discrimination=discrimination
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        (f"user{u}", f"q{q}", int(c), start + timedelta(minutes=k))
        for k, (u, q, c) in enumerate(zip(users.tolist(), items.tolist(), correct.tolist(), strict=True))
    ]


@pytest.fixture
def simulated(add_answers):
    answers = simulated_answers()
    add_answers(answers)
    return answers


def database_url() -> str:
    """The test database as a DATABASE_URL, for subprocesses (SQLite file or PostgreSQL)."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings["HOST"] or "localhost"
    return f"postgres://{settings['USER']}{password}@{host}:{settings['PORT'] or 5432}/{settings['NAME']}"


def run_manage(*args, env=None, timeout=120):
    """Run manage.py in a subprocess against the test database."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    """Throttle counters live in the cache: every test starts with none. Fast password hashing."""
    from django.core.cache import cache

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


PASSWORD = "correct horse battery staple"


@pytest.fixture
def staff(django_user_model):
    """Staff holding the deploy and retrain permissions (an operator, not a superuser)."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("staff", password=PASSWORD, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["deploy_modelversion", "retrain_model"]))
    return user


@pytest.fixture
def operator(django_user_model):
    """Staff with view rights and the two custom permissions, but not a superuser."""
    user = django_user_model.objects.create_user("operator", password="pw", is_staff=True)
    codenames = ["view_modelversion", "view_deployment", "view_trainingdata", "deploy_modelversion", "retrain_model"]
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@contextmanager
def signal_sent(signal):
    """The keyword arguments of every sending of ``signal`` while the block runs."""
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    signal.connect(receiver)
    try:
        yield received
    finally:
        signal.disconnect(receiver)


@pytest.fixture
def staff_without_permissions(django_user_model):
    """Staff who may read everything but hold neither the deploy nor the retrain permission."""
    return django_user_model.objects.create_user("reader", password=PASSWORD, is_staff=True)


@pytest.fixture
def learner(django_user_model):
    return django_user_model.objects.create_user("learner", password=PASSWORD)


@pytest.fixture
def ingester(django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("quiz-app", password=PASSWORD)
    user.user_permissions.add(Permission.objects.get(codename="add_trainingdata"))
    return user


def service_account_create(username: str, *options: str) -> tuple[str, str]:
    """``manage.py create_service_account``: the password it prints once, and all it printed."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("create_service_account", username, *options, stdout=out)
    return out.getvalue().rsplit(": ", 1)[1].strip(), out.getvalue()


def client_logged_in(client, username: str, password: str):
    """``client`` with the access token the token endpoint gives for that name and password."""
    token = client.post("/api/auth/token", {"username": username, "password": password}).json()["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def token_for(client, user) -> str:
    response = client.post("/api/auth/token", {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["access"]


@pytest.fixture
def api():
    """An APIClient factory: api(user) sends that user's real JWT; api() sends none."""
    from rest_framework.test import APIClient

    def make(user=None):
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(client, user)}")
        return client

    return make


class Receiver:
    """A real HTTP server on 127.0.0.1 that records every POST and answers as scripted.

    ``script`` is a list of actions taken in turn (the last one repeats): an HTTP status to answer,
    or ("sleep", seconds) to hang before answering 200 (a receiver slower than the timeout).
    """

    def __init__(self, script):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.script = list(script)
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                import time

                receiver.requests.append({"at": time.monotonic(), "headers": dict(self.headers), "body": body})
                action = receiver.script[min(len(receiver.requests), len(receiver.script)) - 1]
                if isinstance(action, tuple):
                    time.sleep(action[1])
                    action = 200
                self.send_response(action)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_factory():
    made = []

    def make(script=(200,)):
        made.append(Receiver(script))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def db_worker(*, interval: float, batch: bool, worker_id: str):
    """The database worker of ``manage.py db_worker`` on the default queue, built in this process."""
    from django_tasks_db.management.commands.db_worker import Worker

    return Worker(
        queue_names=["default"],
        interval=interval,
        batch=batch,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )


def jobs_run(*, until=None, timeout=30.0):
    """Run the queued jobs with the database worker's own loop, in this process, until none is
    ready; with ``until`` (a callable), keep polling (jobs retried later) until it returns true."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        db_worker(interval=0, batch=True, worker_id="test-worker").run()
        if until is None or until():
            return
        assert time.monotonic() < deadline, "jobs did not reach the expected state in time"
        time.sleep(0.05)


class WorkerProcess:
    """``manage.py db_worker`` in a subprocess against the test database (a real worker)."""

    def __init__(self, env=None):
        import uuid

        self.worker_id = f"test-{uuid.uuid4().hex[:12]}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "db_worker",
                "--no-reload",
                "--no-startup-delay",
                "--interval",
                "0.1",
                "--worker-id",
                self.worker_id,
            ],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": database_url(), "DJANGO_DEBUG": "true", **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def worker_factory():
    """Start real job workers (subprocesses); each is stopped after the test."""
    started = []

    def start(env=None):
        started.append(WorkerProcess(env))
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


def job_wait(job_id, *, statuses=("succeeded", "failed"), timeout=120.0):
    """Poll a queued retrain until its status is one of ``statuses``; return it."""
    import time

    from retraining.services import retrain_job_get

    deadline = time.monotonic() + timeout
    while True:
        job = retrain_job_get(job_id)
        if job.status in statuses:
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job.status}"
        time.sleep(0.1)


@pytest.fixture
def worker_thread():
    """The database worker's own loop in a thread of the test process (not of the live server):
    for tests that monkeypatch the training and so need the job to run where the patch applies."""
    import threading

    from django.db import connection as thread_connection

    worker = db_worker(interval=0.1, batch=False, worker_id="test-thread-worker")

    def run():
        try:
            worker.run()
        finally:
            thread_connection.close()

    thread = threading.Thread(target=run, name="job-worker", daemon=True)
    thread.start()
    yield worker
    worker.running = False
    thread.join(120)
