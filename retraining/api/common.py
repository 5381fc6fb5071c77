"""Pieces every /api/mlops door shares: the error schema, a strict serializer, the serving version."""

from __future__ import annotations

import math

from django.core import validators as django_validators
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.settings import api_settings
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from .. import selectors
from ..errors import NoProductionModel

ERROR = inline_serializer("Error", {"error": serializers.CharField(), "code": serializers.CharField()})
METRICS_EXAMPLE = {"accuracy": 0.8423, "precision": 0.8512, "recall": 0.9034, "f1Score": 0.8765, "rmse": 0.3245}
METRICS_EXAMPLE |= {"mae": 0.2156, "auc": 0.8779, "logLoss": 0.4361, "brierScore": 0.1423, "ece": 0.0183}


# Pages start at most this far in: a larger offset overflows the databases' integers (and no list is
# that long).
MAX_OFFSET = 2**31 - 1


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo is an error and not a silent default.

    Checked on each object's own data, so a list (``many=True``) is as strict as a single object.

    A JSON object whose every value is plainly valid (a string within its lengths, an integer or a
    number within its bounds, one of the choices) is checked by :func:`plain_values` in one pass
    over the declared fields, without building and binding a copy of each as DRF does (most of the
    cost of validating a serving request's body); any other body, and every error, takes DRF's way.
    What the one pass accepts, DRF accepts with the same values (tests/test_plain_validation.py).
    """

    def get_fields(self):
        """A shallow copy of each declared field. DRF deep-copies them for every instance, most of the
        cost of validating a small body; these fields hold no nested fields and none is changed after
        it is declared (binding sets only the copy's own name and parent). Copied as ``copy.copy``
        copies them (a new instance of the class holding the same attributes), without its
        ``__reduce_ex__`` round, which cost more than validating the field."""
        fields = {}
        for name, field in self._declared_fields.items():
            if hasattr(field, "child") or isinstance(field, serializers.BaseSerializer):
                raise TypeError(f"{type(self).__name__}.{name}: a strict serializer's fields are flat")
            fields[name] = twin = object.__new__(type(field))
            twin.__dict__.update(field.__dict__)
        return fields

    def to_internal_value(self, data):
        plain = self._plain_checked()
        fields = self._declared_fields if plain else self.fields  # (the same names when plain)
        unknown = sorted(set(data) - set(fields)) if isinstance(data, dict) else []
        if unknown:
            message = f"unknown field(s): {', '.join(map(str, unknown))}; allowed: {', '.join(fields)}"
            raise serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [message]})
        if plain:
            values = plain_values(_plain_checks(type(self)), data)
            if values is not None:
                return values
        return super().to_internal_value(data)

    def run_validators(self, value):
        """DRF's, which first reads every field for read-only defaults: a plain check has none."""
        if self._plain_checked() and not self.validators:
            return
        super().run_validators(value)

    def _plain_checked(self) -> bool:
        """Whether a body may be checked by :func:`plain_values`: its fields are the declared ones (the
        class does not make its own, this instance did not change them), each declared with checks
        :func:`_field_check` knows; and this is not a partial update."""
        return (
            "fields" not in self.__dict__
            and _plain_checks(type(self)) is not None
            and not getattr(self.root, "partial", False)
        )


NOT_PLAIN = object()  # what a check returns for a value it leaves to DRF (wrong, or unusual)
REQUIRED = object()  # a field's value when the body has none and the field is required
PLAIN_CHECKS = "_plain_checks"  # on a serializer class: its checks, or None (see _plain_checks)


def plain_values(checks, data) -> dict | None:
    """The validated values of ``data`` (a JSON object with no unknown field) when every value is
    plainly valid, else None. ``checks``: ``(name, check, missing)`` per field, ``missing`` its
    value when absent (a default, ``empty`` to leave it out, or ``REQUIRED``)."""
    if type(data) is not dict:
        return None
    values = {}
    for name, check, missing in checks:
        value = data.get(name, empty)
        if value is empty:
            if missing is REQUIRED:
                return None
            if missing is not empty:
                values[name] = missing
            continue
        value = check(value)
        if value is NOT_PLAIN:
            return None
        values[name] = value
    return values


def _plain_checks(cls) -> tuple | None:
    """Each declared field's plain check (see :func:`plain_values`), made once per serializer class
    and kept on it; None when the class makes its own fields or a field is not one these checks
    know as DRF does (then DRF checks every body)."""
    if PLAIN_CHECKS not in cls.__dict__:
        checks = [] if cls.get_fields is StrictSerializer.get_fields else None
        for name, field in cls._declared_fields.items() if checks is not None else ():
            check = _field_check(field)
            if check is None or field.source not in (None, name) or hasattr(cls, f"validate_{name}"):
                checks = None
                break
            if field.required:
                missing = REQUIRED
            elif field.default is not empty and callable(field.default):  # (empty, a class, is not)
                checks = None
                break
            else:
                missing = field.default
            checks.append((name, check, missing))
        setattr(cls, PLAIN_CHECKS, tuple(checks) if checks is not None else None)
    return cls.__dict__[PLAIN_CHECKS]


_WIDEST = 2**63  # an integer beyond this is left to DRF (which may fail to convert it)


def _field_check(field):
    """The plain check of a declared field, or None for a field it does not know (then DRF checks).

    What a check passes, DRF accepts with the same value; what it does not pass (``NOT_PLAIN``),
    DRF judges: a string stripped and within its lengths, with no NUL and only ASCII characters
    (DRF refuses lone surrogates); an integer (not a bool) or a finite number within its bounds; a
    choice given as its string; a boolean as ``true``/``false``; a field that declares
    ``plain_check``, its own."""
    kind = type(field)
    if field.read_only or field.allow_null or _limits(field.validators) != _own_limits(field):
        return None
    if kind is serializers.CharField:
        return _text_check(field)
    if kind is serializers.IntegerField:
        return _integer_check(field.min_value, field.max_value)
    if kind is serializers.FloatField:
        return _number_check(field.min_value, field.max_value)
    if kind is serializers.ChoiceField:
        choices = field.choice_strings_to_values
        return lambda value: choices.get(value, NOT_PLAIN) if type(value) is str else NOT_PLAIN
    if kind is serializers.BooleanField:
        return lambda value: value if type(value) is bool else NOT_PLAIN
    return getattr(field, "plain_check", None)


def _limits(validators) -> list[tuple[type, object]]:
    return [(type(validator), getattr(validator, "limit_value", None)) for validator in validators]


def _own_limits(field) -> list[tuple[type, object]]:
    """The validators DRF gives a field of its own (from its lengths or bounds), as :func:`_limits`
    lists them: a field with others (given, or added) is left to DRF."""
    if type(field) is serializers.CharField:
        return [
            *([(django_validators.MaxLengthValidator, field.max_length)] if field.max_length is not None else []),
            *([(django_validators.MinLengthValidator, field.min_length)] if field.min_length is not None else []),
            (django_validators.ProhibitNullCharactersValidator, None),
            (ProhibitSurrogateCharactersValidator, None),
        ]
    if type(field) in (serializers.IntegerField, serializers.FloatField):
        return [
            *([(django_validators.MaxValueValidator, field.max_value)] if field.max_value is not None else []),
            *([(django_validators.MinValueValidator, field.min_value)] if field.min_value is not None else []),
        ]
    return []


def _text_check(field):
    shortest = max(field.min_length or 0, 1)
    longest = math.inf if field.max_length is None else field.max_length
    trim = field.trim_whitespace

    def check(value):
        if type(value) is not str:
            return NOT_PLAIN
        text = value.strip() if trim else value
        if not shortest <= len(text) <= longest or not text.isascii() or "\x00" in text:
            return NOT_PLAIN
        return text

    return check


def _integer_check(least, most):
    least = -_WIDEST if least is None else max(least, -_WIDEST)
    most = _WIDEST if most is None else min(most, _WIDEST)

    def check(value):
        return value if type(value) is int and least <= value <= most else NOT_PLAIN

    return check


def _number_check(least, most):
    least = -math.inf if least is None else least
    most = math.inf if most is None else most

    def check(value):
        if type(value) is int and -_WIDEST < value < _WIDEST:
            value = float(value)
        if type(value) is not float or not math.isfinite(value) or not least <= value <= most:
            return NOT_PLAIN
        return value

    return check


def production_or_404():
    """The serving version; NoProductionModel (404) when nothing serves."""
    version = selectors.production_version()
    if version is None:
        raise NoProductionModel()
    return version
