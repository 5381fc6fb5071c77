"""The data step of migration 0005 (SQL and MongoDB trees): each version's JSON parameters move
into its summaries (kept in the row) and :class:`ParameterChunk` rows (the per-question and
per-learner arrays), and back when the migration is reversed. Nothing is rounded or dropped.

One version at a time, so memory stays that of the largest version."""

from retraining.parameter_set import ParameterSet, chunks, parameters_merge

CHUNK_BYTES = 4 * 2**20  # as retraining.parameter_store.CHUNK_BYTES when this migration was written


def parameters_out(apps, schema_editor):
    ModelVersion = apps.get_model("retraining", "ModelVersion")
    ParameterChunk = apps.get_model("retraining", "ParameterChunk")
    db = schema_editor.connection.alias
    for pk in list(ModelVersion.objects.using(db).values_list("pk", flat=True)):
        parameters = ModelVersion.objects.using(db).values_list("parameters", flat=True).get(pk=pk) or {}
        summaries, arrays = ParameterSet.from_json(parameters)
        if arrays is not None:
            ParameterChunk.objects.using(db).bulk_create(
                ParameterChunk(version_id=pk, index=k, data=piece)
                for k, piece in enumerate(chunks(arrays.to_bytes(), CHUNK_BYTES))
            )
        ModelVersion.objects.using(db).filter(pk=pk).update(summaries=summaries, parameters={})


def parameters_back(apps, schema_editor):
    ModelVersion = apps.get_model("retraining", "ModelVersion")
    ParameterChunk = apps.get_model("retraining", "ParameterChunk")
    db = schema_editor.connection.alias
    for pk in list(ModelVersion.objects.using(db).values_list("pk", flat=True)):
        summaries = ModelVersion.objects.using(db).values_list("summaries", flat=True).get(pk=pk) or {}
        pieces = list(
            ParameterChunk.objects.using(db).filter(version_id=pk).order_by("index").values_list("data", flat=True)
        )
        arrays = ParameterSet.from_bytes(b"".join(pieces)) if pieces else None
        ModelVersion.objects.using(db).filter(pk=pk).update(parameters=parameters_merge(summaries, arrays))
        ParameterChunk.objects.using(db).filter(version_id=pk).delete()
