"""Pieces every /api/mlops door shares: the error schema, a strict serializer, the serving version."""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.settings import api_settings

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
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        if unknown:
            message = f"unknown field(s): {', '.join(map(str, unknown))}; allowed: {', '.join(self.fields)}"
            raise serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [message]})
        return super().to_internal_value(data)


def production_or_404():
    """The serving version; NoProductionModel (404) when nothing serves."""
    version = selectors.production_version()
    if version is None:
        raise NoProductionModel()
    return version
