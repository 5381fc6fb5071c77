"""Per-question and per-learner parameters live outside the version row: exact round trips, rows of
bounded size, all-or-nothing writes, and the migration that moved existing versions' JSON out."""

import json

import numpy as np
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from retraining import parameter_store, selectors, services
from retraining.models import ModelVersion, ParameterChunk
from retraining.parameter_set import ParameterSet
from retraining.serving import StoredModel
from training_data.anonymise import hash_user_id

BEFORE = [("retraining", "0004_algorithm_irt_2pl_modules")]


def _legacy_parameters() -> dict:
    """Parameters as the version row held them before the move: odd ids, a missing SD, modules."""
    users = {hash_user_id(f"learner-{k}"): {"ability": 0.1 * k - 0.35, "abilitySd": 0.4 + k / 100} for k in range(7)}
    users["plain id, ünïcode ✓"] = {"ability": 1.0 / 3.0, "abilitySd": None}
    first, second = list(users)[:2]
    return {
        "difficulty": {"mean": 0.25, "variance": 1.5},
        "abilityEstimates": {"mean": 0.0, "variance": 0.9},
        "discrimination": {"mean": 1.1, "variance": 0.2},
        "coldStart": {"ability": 0.0, "difficulty": 0.25, "discrimination": 1.1},
        "questions": {
            "q1": {"difficulty": -1.25, "discrimination": 0.8, "answers": 40, "successRate": 0.725},
            "Frage ß/2": {"difficulty": 2.0000000000000004, "discrimination": 1.4, "answers": 3, "successRate": 0.0},
            "=cmd|' /C calc'!A0": {"difficulty": 0.1, "discrimination": 1.1, "answers": 9, "successRate": 1 / 3},
        },
        "users": users,
        "fit": {"algorithm": "irt-2pl-modules", "logLikelihood": -123.5, "iterations": 17, "converged": True},
        "modules": {
            "deviationSpread": 0.5,
            "difficultySpread": 0.7,
            "validationLogLoss": {"0.25": 0.51, "0.5": None},
            "deviationEstimates": {"mean": 0.01, "variance": 0.04},
            "pairs": 3,
            "difficulty": {"algebra": -0.3, "géométrie": 0.45},
            "deviations": {first: {"algebra": 0.2, "géométrie": -0.1}, second: {"algebra": -0.05}},
        },
    }


def test_bytes_round_trip_is_exact_for_any_ids_and_missing_values():
    legacy = _legacy_parameters()
    summaries, arrays = ParameterSet.from_json(legacy)
    assert "questions" not in summaries and "users" not in summaries
    assert set(summaries["modules"]) == {
        "deviationSpread",
        "difficultySpread",
        "validationLogLoss",
        "deviationEstimates",
        "pairs",
    }
    back = ParameterSet.from_bytes(arrays.to_bytes())
    assert back.user_ids == arrays.user_ids and back.question_ids == arrays.question_ids
    merged = {**summaries, **back.to_json()}
    merged["modules"] = {**summaries["modules"], **back.to_json()["modules"]}
    assert merged == legacy
    empty = ParameterSet.from_bytes(ParameterSet().to_bytes())
    assert empty.user_ids == [] and empty.difficulty.size == 0 and not empty.has_modules


def test_hex_learner_ids_take_half_the_bytes():
    hashes = [hash_user_id(k) for k in range(1000)]
    as_hex = ParameterSet(user_ids=hashes, ability=np.zeros(1000), ability_sd=np.zeros(1000)).to_bytes()
    other = [h[:-1] + "X" for h in hashes]  # not a digest: stored as text
    as_text = ParameterSet(user_ids=other, ability=np.zeros(1000), ability_sd=np.zeros(1000)).to_bytes()
    assert len(as_hex) < len(as_text) - 30_000
    assert ParameterSet.from_bytes(as_hex).user_ids == hashes
    assert ParameterSet.from_bytes(as_text).user_ids == other


@pytest.mark.django_db
def test_a_retrain_keeps_the_row_small_and_the_arrays_in_chunks(simulated, monkeypatch):
    monkeypatch.setattr(parameter_store, "CHUNK_BYTES", 1024)
    version = services.retrain(algorithm="irt-2pl").version
    row = ModelVersion.objects.values("summaries").get(pk=version.pk)["summaries"]
    assert set(row) == {"difficulty", "abilityEstimates", "discrimination", "coldStart", "fit"}
    assert len(json.dumps(row)) < 2048  # the same for 150 learners or 100k (bench --only params)
    sizes = list(ParameterChunk.objects.filter(version=version).order_by("index").values_list("index", "data"))
    assert [k for k, _ in sizes] == list(range(len(sizes))) and len(sizes) > 3
    assert all(len(bytes(data)) <= 1024 for _, data in sizes)
    parameters = ModelVersion.objects.get(pk=version.pk).parameters
    assert len(parameters["users"]) == 150 and len(parameters["questions"]) == 25
    model = StoredModel.from_version(version)
    theta = parameters["users"][hash_user_id("user3")]["ability"]
    assert model.model_ability(hash_user_id("user3")).ability == theta


@pytest.mark.django_db
def test_a_failed_write_leaves_no_parameters_and_production_untouched(simulated, monkeypatch):
    served = services.retrain().version
    chunks_before = ParameterChunk.objects.count()
    original_save = ModelVersion.save

    def broken_save(self, *args, **kwargs):
        if self.status == ModelVersion.Status.COMPLETED and self.version == "v2":
            assert ParameterChunk.objects.filter(version=self).exists()  # written, in the same transaction
            raise OSError("disk full")
        return original_save(self, *args, **kwargs)

    monkeypatch.setattr(ModelVersion, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        services.retrain()
    failed = ModelVersion.objects.get(version="v2")
    assert failed.status == "failed" and "disk full" in failed.error
    assert not ParameterChunk.objects.filter(version=failed).exists()
    assert ParameterChunk.objects.count() == chunks_before
    assert selectors.production_version() == served


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_json_parameters_out_and_back_without_loss():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("retraining")
    try:
        old = _migrate(BEFORE)
        Version = old.get_model("retraining", "ModelVersion")
        legacy = _legacy_parameters()
        Version.objects.create(version="v1", number=1, status="completed", parameters=legacy)
        Version.objects.create(version="v2", number=2, status="failed", parameters={})
        summaries_only = {"difficulty": legacy["difficulty"]}
        Version.objects.create(version="v3", number=3, status="archived", parameters=summaries_only)

        _migrate(latest)
        v1, v2, v3 = (ModelVersion.objects.get(version=name) for name in ("v1", "v2", "v3"))
        assert "users" not in v1.summaries and "questions" not in v1.summaries
        assert "deviations" not in v1.summaries["modules"]
        assert v1.parameters == legacy
        assert ParameterChunk.objects.filter(version=v1).count() == 1
        assert v2.parameters == {} and v3.parameters == {"difficulty": legacy["difficulty"]}
        assert not ParameterChunk.objects.filter(version__in=[v2, v3]).exists()
        model = StoredModel.from_version(v1)
        learner = next(iter(legacy["modules"]["deviations"]))
        deviation = legacy["modules"]["deviations"][learner]["algebra"]
        assert model.deviations([learner, learner], ["algebra", "unknown"]).tolist() == [deviation, 0.0]

        old = _migrate(BEFORE)
        Version = old.get_model("retraining", "ModelVersion")
        assert Version.objects.get(version="v1").parameters == legacy
        assert Version.objects.get(version="v3").parameters == {"difficulty": legacy["difficulty"]}
    finally:
        _migrate(latest)
