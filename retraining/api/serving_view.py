"""What the serving doors share: the service role's permission, one read per request about one
learner, the body looked at once, JSON without negotiation for the quiz app, the answer written once."""

from __future__ import annotations

import io

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ParseError
from rest_framework.views import APIView

from .. import learners, permissions
from .common import ERROR


class ServingView(APIView):
    """The endpoints the quiz app's service role may call (or staff)."""

    permission_classes = [permissions.may(permissions.SERVE)]

    def dispatch(self, request, *args, **kwargs):
        """A request about one learner reads its token's user, which version serves and the learner's
        answers in one statement."""
        with learners.one_read_with_token_user(self.learner):
            return super().dispatch(request, *args, **kwargs)

    @property
    def default_response_headers(self):
        """DRF's (``Allow``: the methods the view has), worked out once per class and not on every
        request; a copy, as DRF takes ``Vary`` out of it."""
        headers = type(self).__dict__.get("_default_headers")
        if headers is None:
            headers = type(self)._default_headers = super().default_response_headers
        return dict(headers)

    def answer(self, body) -> HttpResponse:
        """A 200 with ``body`` written by the negotiated renderer, as DRF's ``Response`` would write
        it, without rendering it as a template response (in rounds, for renderers of templates)."""
        request, renderer = self.request, self.request.accepted_renderer
        content = renderer.render(body, request.accepted_media_type, self.get_renderer_context())
        media_type = renderer.media_type
        return HttpResponse(
            content, content_type=f"{media_type}; charset={renderer.charset}" if renderer.charset else media_type
        )

    def learner(self) -> str | None:
        """The one learner this request is plainly about, as the service will hash their id; asked
        once the token is verified, just before its user is read (a request without a valid token
        costs no look at its body). None when not plain: the request is served all the same, its
        reads made one by one."""
        return None

    def json_object(self) -> dict | None:
        """The body, when it is a small JSON object, parsed by the view's own parser as the view will
        have it (the project's parser keeps what it parsed on the request: it is not parsed again)."""
        request, http = self.request, self.request._request
        if http.content_type != "application/json" or not 0 < _length(http) <= PEEK_BYTES:
            return None
        parser = request.negotiator.select_parser(request, request.parsers)
        try:
            data = parser.parse(io.BytesIO(http.body), request.content_type, request.parser_context)
        except ParseError:
            return None
        return data if isinstance(data, dict) else None

    def perform_content_negotiation(self, request, force=False):
        """JSON, the one renderer, without DRF's negotiation when the client takes JSON or anything
        (the quiz app on every request); another Accept header or a ``?format=`` is negotiated (406)."""
        renderers = self.get_renderers()
        if len(renderers) == 1 and request.META.get("HTTP_ACCEPT", "*/*") in PLAIN_ACCEPT and not request.GET:
            return renderers[0], renderers[0].media_type
        return super().perform_content_negotiation(request, force)


PLAIN_ACCEPT = ("*/*", "application/json")
PEEK_BYTES = 64 * 1024  # next-question with 200 candidates sends about 3 KB


def _length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def plain_user_id(data: dict | None) -> str | None:
    """``userId`` as the serializers take it (a string, stripped), else None."""
    user_id = data.get("userId") if data is not None else None
    return user_id.strip() if isinstance(user_id, str) else None


def serving_schema(**kwargs):
    """A serving endpoint's OpenAPI description: a JSON object, or the error body on 400 and 404."""
    return extend_schema(responses={200: OpenApiTypes.OBJECT, 400: ERROR, 404: ERROR}, **kwargs)
