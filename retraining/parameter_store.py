"""Where a version's per-question and per-learner parameters live: :class:`ParameterChunk` rows.

The version row keeps the summaries (``ModelVersion.summaries``); the arrays
(:class:`~retraining.parameter_set.ParameterSet`) are written as one binary artifact cut into rows of
at most :data:`CHUNK_BYTES`, in bulk, and read back in one query.
"""

from __future__ import annotations

from django.db import transaction

from .models import ModelVersion, ParameterChunk
from .parameter_set import ParameterSet, chunks, parameters_merge

#: Largest piece of the artifact per row: far below MongoDB's 16 MB document limit and PostgreSQL's
#: 1 GB field limit, and few rows even for millions of learners (about 8 MB per 100k learners).
CHUNK_BYTES = 4 * 2**20


def parameters_save(version: ModelVersion, parameters: ParameterSet) -> int:
    """Store ``parameters`` as the version's (replacing any); returns the bytes written.

    One transaction: a failure leaves the version's previous chunks, never a mix."""
    data = parameters.to_bytes()
    with transaction.atomic():
        ParameterChunk.objects.filter(version=version).delete()
        ParameterChunk.objects.bulk_create(
            ParameterChunk(version=version, index=k, data=piece) for k, piece in enumerate(chunks(data, CHUNK_BYTES))
        )
    return len(data)


def parameter_set(version: ModelVersion) -> ParameterSet | None:
    """The version's stored parameters, or ``None`` for a version without a model (failed, training)."""
    pieces = ParameterChunk.objects.filter(version_id=version.pk).order_by("index").values_list("data", flat=True)
    pieces = list(pieces)
    if not pieces:
        return None
    return ParameterSet.from_bytes(b"".join(pieces))


def parameters_json(version: ModelVersion, parameters: ParameterSet | None = None) -> dict:
    """The summaries and every per-question/per-learner parameter as one dict, in the shape once
    stored in the version row ({} for a version without a model)."""
    return parameters_merge(version.summaries, parameters if parameters is not None else parameter_set(version))
