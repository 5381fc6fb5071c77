"""JSON parsing that turns every malformed body into a 400: absurdly deep nesting, lone surrogates."""

import io
import json
import re

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# A \uD800-\uDFFF escape: only then can the parsed text hold a lone surrogate, which no database,
# hash or response can encode. Checking the parsed data only when the body has one keeps it cheap.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
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
