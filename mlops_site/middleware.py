"""Refuse requests that cannot be served before anything reads them: oversized bodies, NUL characters."""

from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse

from common.audit import audit


class BodySizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            audit("request_refused", status=413, method=request.method, path=request.path, code="too_large")
            return JsonResponse(
                {
                    "error": f"Request body of {length} bytes is larger than the {limit}-byte limit; "
                    "send at most 10,000 answers per request",
                    "code": "too_large",
                },
                status=413,
            )
        return self.get_response(request)


class NulCharacterMiddleware:
    """A NUL character in the path or a query parameter is a 400 at every door.

    No id, filter or search term here can hold one, and PostgreSQL refuses it inside any query
    (an error, i.e. a 500, wherever it reached the database: admin filters, searches, version ids).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any("\x00" in key or "\x00" in value for key, value in _pairs(request.GET)):
            message = "The URL holds a NUL character (%00); remove it"
            if is_api(request):
                return JsonResponse({"error": message, "code": "invalid"}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def _pairs(query):
    for key, values in query.lists():
        for value in values:
            yield key, value


def is_api(request) -> bool:
    """Whether the request is for the JSON API, where every answer, errors included, is JSON."""
    return request.path_info.startswith("/api/")
