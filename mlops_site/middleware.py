"""Refuse oversized request bodies from their Content-Length, before anything reads them."""

from django.conf import settings
from django.http import JsonResponse

from retraining.audit import audit


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
