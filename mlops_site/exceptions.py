"""One place that turns errors into API responses: ``{"error": message, "code": ...}``."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from common.audit import audit
from retraining import errors
from training_data.errors import InvalidAnswer, TrainingDataError

STATUS_BY_ERROR = {
    errors.TrainingInProgress: status.HTTP_409_CONFLICT,
    errors.NoTrainingData: status.HTTP_422_UNPROCESSABLE_ENTITY,
    errors.VersionNotFound: status.HTTP_404_NOT_FOUND,
    errors.JobNotFound: status.HTTP_404_NOT_FOUND,
    errors.VersionNotDeployable: status.HTTP_409_CONFLICT,
    errors.NoProductionModel: status.HTTP_404_NOT_FOUND,
    errors.NotComparable: status.HTTP_409_CONFLICT,
}


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        field, value = next(iter(detail.items()))
        inner = _first_message(value)
        return inner if field in ("non_field_errors", "detail") else f"{field}: {inner}"
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else "invalid input"
    return str(detail)


REFUSALS = {401, 403, 409, 413, 429}


def api_exception_handler(exc, context):
    response = _response(exc, context)
    if response is not None and response.status_code in REFUSALS:
        request = context.get("request")
        user = getattr(request, "user", None)
        audit(
            "request_refused",
            status=response.status_code,
            method=getattr(request, "method", None),
            path=getattr(request, "path", None),
            user=user.get_username() if user is not None and user.is_authenticated else None,
            code=response.data.get("code") if isinstance(response.data, dict) else None,
        )
    return response


def _response(exc, context):
    if isinstance(exc, errors.RetrainingError):
        code = STATUS_BY_ERROR.get(type(exc), status.HTTP_400_BAD_REQUEST)
        return Response({"error": str(exc), "code": exc.code}, status=code)
    if isinstance(exc, TrainingDataError):
        body = {"error": str(exc), "code": exc.code}
        if isinstance(exc, InvalidAnswer) and exc.errors:
            body["errors"] = exc.errors
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"error": "Request body too large; send at most 10,000 answers per request", "code": "too_large"},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django's 500 handling (no stack trace unless DEBUG)
    if isinstance(exc, APIException):
        body = {"error": _first_message(exc.detail), "code": _code(exc)}
        if isinstance(exc, ValidationError):
            body["details"] = exc.detail
        response.data = body
    return response


def _code(exc: APIException) -> str:
    codes = exc.get_codes()
    while isinstance(codes, dict | list):
        codes = next(iter(codes.values())) if isinstance(codes, dict) else (codes[0] if codes else "invalid")
    return str(codes)


# ---------------------------------------------------------------- Django's error pages, JSON under /api/
def _json_or(default_view):
    """Django's error page, except under /api/, where the answer is ``{"error", "code"}`` like all others."""

    def view(request, *args, **kwargs):
        from .middleware import is_api

        if not is_api(request):
            return default_view(request, *args, **kwargs)
        status_code, message, code = API_ERROR_PAGES[default_view]
        if status_code == 404:
            message = f"No API endpoint at {request.path}; see /api/docs for the endpoints"
        return JsonResponse({"error": message, "code": code}, status=status_code)

    return view


API_ERROR_PAGES = {
    defaults.bad_request: (400, "Bad request", "bad_request"),
    defaults.page_not_found: (404, "Not found", "not_found"),
    defaults.server_error: (500, "Internal server error; it has been logged", "server_error"),
}
bad_request = _json_or(defaults.bad_request)
page_not_found = _json_or(defaults.page_not_found)
server_error = _json_or(defaults.server_error)
