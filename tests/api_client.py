"""A JSON call over real HTTP (urllib), for the tests that drive a live server through sockets."""

from __future__ import annotations

import json
import urllib.error
import urllib.request


def call(base, method, path, body=None, token=None, *, timeout=300):
    """``(status, decoded JSON body)`` of one request; error statuses are returned, not raised."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
