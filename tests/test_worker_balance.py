"""gunicorn's workers share the connections: each listens on a socket of its own (SO_REUSEPORT) and
the kernel spreads new connections over them. On one shared socket the worker that happened to be
awake took most of them, and a kept-alive connection never moves to another worker."""

import os
import runpy
import socket
import time
from pathlib import Path

import pytest

from tests.process import ROOT
from tests.servers import gunicorn

WORKERS = 4
CONNECTIONS = 64  # a worker of 4 gets none with odds of (3/4)**64, 1 in 10**8

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads sockets from Linux's /proc")


def _sockets(port: int, state: str) -> set[int]:
    """Inodes of the IPv4 TCP sockets on local ``port`` in ``state`` (hex, as /proc/net/tcp has it)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
            inodes.add(int(fields[9]))
    return inodes


def _holders(inodes: set[int]) -> dict[int, set[int]]:
    """Which process holds which of these sockets: {pid: inodes}."""
    held: dict[int, set[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            links = [os.readlink(fd) for fd in (entry / "fd").iterdir()]
        except OSError:  # gone meanwhile, or not ours to read
            continue
        mine = {int(link[8:-1]) for link in links if link.startswith("socket:[")} & inodes
        if mine:
            held[int(entry.name)] = mine
    return held


def _listening(port: int, seconds: float = 30.0) -> dict[int, set[int]]:
    """Who holds the sockets listening on ``port``, once all the workers do: gunicorn answers as soon
    as its first worker is up, and each binds its own socket when it has loaded the app."""
    deadline = time.monotonic() + seconds
    while len(held := _holders(_sockets(port, "0A"))) < WORKERS and time.monotonic() < deadline:  # LISTEN
        time.sleep(0.1)
    return held


@pytest.mark.django_db(transaction=True)
def test_every_worker_listens_on_its_own_socket_and_connections_reach_them_all():
    with gunicorn(workers=WORKERS) as (host, port):
        listening = _listening(port)
        assert len(listening) == WORKERS
        assert len(set().union(*listening.values())) == WORKERS  # one socket each, none shared

        clients = [socket.create_connection((host, port), timeout=30) for _ in range(CONNECTIONS)]
        try:
            for client in clients:  # a request on each: accepted and served by its worker
                client.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            for client in clients:
                assert client.recv(1024).startswith(b"HTTP/1.1 200")
            established = _holders(_sockets(port, "01"))  # the server's ends of the connections
            counts = sorted(len(inodes) for pid, inodes in established.items() if pid in listening)
        finally:
            for client in clients:
                client.close()
    assert len(counts) == WORKERS and sum(counts) == CONNECTIONS
    assert counts[-1] <= CONNECTIONS // 2, counts


def test_only_a_tcp_bind_listens_per_worker(monkeypatch):
    def reuse_port(**env) -> bool:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(ROOT / "gunicorn.conf.py"))["reuse_port"]

    monkeypatch.delenv("GUNICORN_REUSE_PORT", raising=False)
    assert reuse_port(GUNICORN_BIND="127.0.0.1:8000") is True
    # Each worker would unlink and bind the socket file again: the last one would take every connection.
    assert reuse_port(GUNICORN_BIND="unix:/run/irt/gunicorn.sock") is False
    assert reuse_port(GUNICORN_BIND="127.0.0.1:8000", GUNICORN_REUSE_PORT="false") is False
