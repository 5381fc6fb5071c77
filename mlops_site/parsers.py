"""JSON parsing that turns every malformed body into a 400: absurdly deep nesting, lone surrogates."""

import io
import json
import re

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# A \uD800-\uDFFF escape: only then can the parsed text hold a lone surrogate, which no database,
# hash or response can encode. Checking the parsed data only when the body has one keeps it cheap.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")

PARSED = "_parsed_json"  # on a Django request: (data, None), or (None, the ParseError)


class SafeJSONParser(JSONParser):
    """Parses a request's body once: a view that looked at the body before DRF does (a serving
    view finding its learner) has it, or its error, given back. (With a request in
    ``parser_context`` the stream is that request's body: no caller parses other bytes in a
    request's name.)"""

    def parse(self, stream, media_type=None, parser_context=None):
        request = getattr((parser_context or {}).get("request"), "_request", None)
        parsed = getattr(request, PARSED, None)
        if parsed is None:
            try:
                parsed = (self._parse(stream, media_type, parser_context), None)
            except ParseError as error:
                parsed = (None, error)
            if request is not None:
                setattr(request, PARSED, parsed)
        data, error = parsed
        if error is not None:
            raise error.with_traceback(None)  # (each raise its own frames, none kept from the last)
        return data

    def _parse(self, stream, media_type, parser_context):
        body = stream.read() if stream is not None else b""
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
        if _SURROGATE_ESCAPE.search(body):
            try:
                json.dumps(data, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                raise ParseError(
                    "JSON parse error - a string holds a lone surrogate escape (\\ud800-\\udfff) that is not "
                    "valid Unicode text; send the character itself or its complete surrogate pair"
                ) from None
        return data
