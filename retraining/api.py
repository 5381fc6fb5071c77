"""The /api/mlops endpoints: thin doors into the services and selectors, in the seed's JSON shapes."""

from __future__ import annotations

import csv
import io
from datetime import date

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from . import learners, permissions, selectors, services
from .errors import NoProductionModel
from .representations import (
    job_body,
    learner_ability_body,
    next_questions_body,
    prediction_body,
    production_body,
    retrain_body,
    version_detail,
    version_summary,
)
from .services import monitoring
from .services.comparison import compare_cached

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

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        if unknown:
            message = f"unknown field(s): {', '.join(map(str, unknown))}; allowed: {', '.join(self.fields)}"
            raise serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [message]})
        return super().to_internal_value(data)


class RetrainRequest(StrictSerializer):
    limit = serializers.IntegerField(required=False, min_value=1, help_text="Most recent answers to use.")
    autoDeploy = serializers.BooleanField(default=True)
    since = serializers.DateField(required=False, allow_null=True, help_text="Only answers on or after this date.")
    algorithm = serializers.ChoiceField(choices=services.ALGORITHMS, default="irt-2pl")
    split = serializers.ChoiceField(choices=services.SPLITS, default="random")
    wait = serializers.BooleanField(
        default=True, help_text="false: queue the retrain as a job for the worker and answer 202 at once."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["algorithm"].choices = list(services.ALGORITHMS)  # the registry, as it is now

    def validate_limit(self, value):
        if value > settings.MLOPS_MAX_LIMIT:
            raise serializers.ValidationError(f"at most {settings.MLOPS_MAX_LIMIT}")
        return value

    def validate_since(self, value):
        if value and value > date.today():
            raise serializers.ValidationError("must not be in the future")
        return value


RETRAIN_RESPONSE = OpenApiExample(
    "Retrained",
    value={
        "success": True,
        "version": "v2",
        "metrics": METRICS_EXAMPLE,
        "trainingDataCount": 1234,
        "duration": 2.45,
        "deployed": True,
        "decision": {"deploy": True, "reason": "accuracy 84.23% is above the 75.00% threshold and ..."},
    },
    response_only=True,
    status_codes=["200"],
)


class RetrainView(APIView):
    permission_classes = [IsAdminUser, permissions.may(permissions.RETRAIN)]

    @extend_schema(
        summary="Trigger retraining",
        request=RetrainRequest,
        responses={200: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT, 400: ERROR, 409: ERROR, 422: ERROR},
        examples=[
            OpenApiExample(
                "Request", value={"limit": 10000, "autoDeploy": True, "since": "2024-01-01"}, request_only=True
            ),
            RETRAIN_RESPONSE,
            OpenApiExample(
                "Queued",
                value={
                    "success": True,
                    "jobId": "5f0c8a4e-3f7b-4a8e-9a55-2b1d0c9e7f11",
                    "status": "queued",
                    "version": None,
                    "error": None,
                    "enqueuedAt": "2024-01-15T10:29:45Z",
                    "startedAt": None,
                    "finishedAt": None,
                    "statusUrl": "/api/mlops/jobs/5f0c8a4e-3f7b-4a8e-9a55-2b1d0c9e7f11",
                },
                response_only=True,
                status_codes=["202"],
            ),
        ],
    )
    def post(self, request):
        params = RetrainRequest(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        options = {
            "limit": data.get("limit"),
            "since": data.get("since"),
            "auto_deploy": data["autoDeploy"],
            "algorithm": data["algorithm"],
            "split": data["split"],
            "actor": request.user,
        }
        if not data["wait"]:
            job = services.retrain_enqueue(**options)
            return Response({"success": True, **job_body(job)}, status=status.HTTP_202_ACCEPTED)
        return Response(retrain_body(services.retrain(**options)))


class JobView(APIView):
    @extend_schema(
        summary="A queued retrain's state",
        description="status: queued, running, succeeded or failed; version once the job created it; error.",
        responses={200: OpenApiTypes.OBJECT, 404: ERROR},
    )
    def get(self, request, job_id):
        return Response(job_body(services.retrain_job_get(job_id)))


class StatusView(APIView):
    @extend_schema(
        summary="Retraining status",
        responses={200: OpenApiTypes.OBJECT},
        examples=[OpenApiExample("Idle", value={"isTraining": False, "currentVersion": "v2"}, response_only=True)],
    )
    def get(self, request):
        return Response(selectors.training_status())


class VersionListQuery(StrictSerializer):
    status = serializers.ChoiceField(choices=[s.value for s in selectors.ModelVersion.Status], required=False)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=50)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)


class VersionListView(APIView):
    @extend_schema(
        summary="List model versions, newest first",
        operation_id="mlops_versions_list",
        parameters=[VersionListQuery],
        responses={200: OpenApiTypes.OBJECT, 400: ERROR},
        examples=[
            OpenApiExample(
                "Versions",
                value={
                    "versions": [
                        {
                            "_id": "2",
                            "version": "v2",
                            "modelType": "irt-2pl",
                            "status": "deployed",
                            "isProduction": True,
                            "metrics": METRICS_EXAMPLE,
                            "trainingDataCount": 1234,
                            "deployedAt": "2024-01-15T10:30:00Z",
                            "createdAt": "2024-01-15T10:29:45Z",
                        }
                    ],
                    "count": 1,
                    "limit": 50,
                    "offset": 0,
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        query = VersionListQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        q = query.validated_data
        versions = selectors.versions_list(status=q.get("status"))
        page = versions[q["offset"] : q["offset"] + q["limit"]]
        return Response(
            {
                "versions": [version_summary(v) for v in page],
                "count": versions.count(),
                "limit": q["limit"],
                "offset": q["offset"],
            }
        )


class VersionDetailView(APIView):
    @extend_schema(
        summary='One version ("v2" or its primary key)',
        operation_id="mlops_version_retrieve",
        responses={200: OpenApiTypes.OBJECT, 404: ERROR},
    )
    def get(self, request, version_id):
        return Response({"version": version_detail(selectors.version_get(version_id))})


COMPARE_EXAMPLE = OpenApiExample(
    "Compared",
    value={
        "a": "v3",
        "b": "v1",
        "answers": 2140,
        "selection": "fresh",
        "inSampleShare": {"v3": 0.0, "v1": 0.0},
        "coldStartShare": {"v3": 0.01, "v1": 0.08},
        "metrics": {"v3": METRICS_EXAMPLE, "v1": METRICS_EXAMPLE | {"accuracy": 0.5701, "logLoss": 1.0812}},
        "difference": {
            "logLoss": {"mean": -0.5213, "low": -0.5702, "high": -0.4724},
            "accuracy": {"mean": 0.1302, "low": 0.1121, "high": 0.1483},
            "brierScore": {"mean": -0.0901, "low": -0.0987, "high": -0.0815},
            "auc": 0.1412,
        },
        "verdict": {"logLoss": "better", "accuracy": "better", "brierScore": "better"},
        "method": "normal approximation: mean of the per-answer differences ± 1.96 standard errors",
        "dataCutoff": 1203344,
    },
    response_only=True,
)


class CompareView(APIView):
    @extend_schema(
        summary="Compare two versions on the same answers",
        description=(
            "Both versions scored on the same answers: by default the most recent answers neither trained on "
            "(widened to the newer version's held-out set below MLOPS_MIN_COMPARISON_ANSWERS, with the share each "
            "version trained on). `difference` is a minus b, per answer, with a 95 % interval. Cached per pair and "
            "newest answer."
        ),
        operation_id="mlops_version_compare",
        responses={200: OpenApiTypes.OBJECT, 404: ERROR, 409: ERROR},
        examples=[COMPARE_EXAMPLE],
    )
    def get(self, request, version_id, other_id):
        a, b = selectors.version_get(version_id), selectors.version_get(other_id)
        return Response(compare_cached(a, b).as_json())


class ProductionView(APIView):
    @extend_schema(
        summary="The production model",
        responses={200: OpenApiTypes.OBJECT, 404: ERROR},
        examples=[
            OpenApiExample(
                "Production",
                value={
                    "model": {
                        "version": "v2",
                        "modelType": "irt-2pl",
                        "status": "deployed",
                        "isProduction": True,
                        "metrics": METRICS_EXAMPLE,
                        "parameters": {
                            "difficulty": {"mean": 0.52, "variance": 0.15},
                            "abilityEstimates": {"mean": 0.34, "variance": 0.22},
                            "discrimination": {"mean": 1.05, "variance": 0.08},
                        },
                        "deployedAt": "2024-01-15T10:30:00Z",
                    }
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        return Response(production_body(_production()))


class MonitoringQuery(StrictSerializer):
    days = serializers.IntegerField(default=30, min_value=1, max_value=365, help_text="Days shown (1-365).")


class ProductionMonitoringView(APIView):
    @extend_schema(
        summary="The production model, watched day by day",
        description=(
            "Per day: the production version scored on the answers that arrived after its training cutoff "
            "(stored by `manage.py monitor`). `degraded`: its log-loss over the last MLOPS_MONITOR_WINDOW_DAYS days "
            "is worse than at deploy by more than MLOPS_DRIFT_TOLERANCE at 95 % confidence."
        ),
        parameters=[MonitoringQuery],
        responses={200: OpenApiTypes.OBJECT, 400: ERROR, 404: ERROR},
    )
    def get(self, request):
        query = MonitoringQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        return Response(monitoring.health(_production(), days=query.validated_data["days"]).as_json())


def _production():
    version = selectors.production_version()
    if version is None:
        raise NoProductionModel()
    return version


class DeployView(APIView):
    permission_classes = [IsAdminUser, permissions.may(permissions.DEPLOY)]

    @extend_schema(
        summary="Deploy a version (or roll back to it)",
        request=None,
        responses={200: OpenApiTypes.OBJECT, 404: ERROR, 409: ERROR},
        examples=[
            OpenApiExample(
                "Deployed",
                value={"success": True, "version": "v2", "deployedAt": "2024-01-15T10:30:00Z"},
                response_only=True,
            )
        ],
    )
    def post(self, request, version_id):
        version = selectors.version_get(version_id)
        services.version_deploy(version=version, actor=request.user, reason="deployed through the API")
        return Response(
            {
                "success": True,
                "version": version.version,
                "deployedAt": version.deployed_at.isoformat().replace("+00:00", "Z"),
            }
        )


class PredictItem(StrictSerializer):
    userId = serializers.CharField(max_length=255, trim_whitespace=True)
    questionId = serializers.CharField(max_length=255, trim_whitespace=True)
    ability = serializers.ChoiceField(
        choices=learners.ABILITY_SOURCES,
        default="live",
        help_text='"live": re-scored from the stored answers (default); "model": as the version was trained.',
    )
    module = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        trim_whitespace=True,
        help_text="The question's module: a version with module deviations (irt-2pl-modules) then uses the "
        "learner's ability in that module; without it, the overall ability.",
    )


class PredictView(APIView):
    permission_classes = [permissions.may(permissions.SERVE)]
    max_pairs = 1000

    @extend_schema(
        summary="P(correct) under the production model, for one pair or a list",
        description=(
            "The learner's ability is live by default: re-scored from their stored answers with the serving "
            'version\'s items held fixed. `"ability": "model"` uses the ability the version was trained with. '
            "Each prediction says which in `abilitySource` (live, model, or prior for a learner with nothing known)."
        ),
        request=PredictItem,
        responses={200: OpenApiTypes.OBJECT, 400: ERROR, 404: ERROR},
        examples=[
            OpenApiExample("One", value={"userId": "learner-42", "questionId": "q0007"}, request_only=True),
            OpenApiExample(
                "Prediction",
                value={
                    "version": "v2",
                    "userId": "learner-42",
                    "questionId": "q0007",
                    "probability": 0.7312,
                    "coldStart": False,
                    "coldStartUser": False,
                    "coldStartQuestion": False,
                    "abilitySource": "live",
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request):
        many = isinstance(request.data, list)
        if many and not 1 <= len(request.data) <= self.max_pairs:
            raise serializers.ValidationError(f"send between 1 and {self.max_pairs} pairs")
        pairs = PredictItem(data=request.data, many=many)
        pairs.is_valid(raise_exception=True)
        items = pairs.validated_data if many else [pairs.validated_data]
        modules = [item.get("module") for item in items]
        version, results = learners.predictions(
            pairs=[(item["userId"], item["questionId"], item["ability"]) for item in items],
            modules=modules if any(m is not None for m in modules) else None,
        )
        bodies = [prediction_body(result) for result in results]
        if many:
            return Response({"version": version, "predictions": bodies})
        return Response({"version": version, **bodies[0]})


class LearnerAbilityView(APIView):
    permission_classes = [permissions.may(permissions.SERVE)]

    @extend_schema(
        summary="A learner's live ability under the production model",
        description=(
            "EAP ability and posterior SD from all the learner's stored answers to questions the serving version "
            "knows (the others are counted in `skipped`), with its items held fixed: the same computation as "
            "training. `source` is `prior` when no answer is usable. `userId` is the app's raw id."
        ),
        operation_id="mlops_learner_ability",
        responses={200: OpenApiTypes.OBJECT, 400: ERROR, 404: ERROR},
        examples=[
            OpenApiExample(
                "Ability",
                value={
                    "userId": "learner-42",
                    "ability": 0.8123,
                    "abilitySd": 0.41,
                    "answers": 30,
                    "skipped": 1,
                    "version": "v2",
                    "source": "live",
                },
                response_only=True,
            )
        ],
    )
    def get(self, request, user_id):
        if len(user_id) > 255:
            raise serializers.ValidationError({"userId": "at most 255 characters"})
        return Response(learner_ability_body(user_id, learners.learner_ability(user_id=user_id)))


MAX_CANDIDATES = 10_000


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "minLength": 1, "maxLength": 255},
        "minItems": 1,
        "maxItems": MAX_CANDIDATES,
    }
)
class QuestionIdList(serializers.Field):
    """A list of question ids, checked in one pass: a ListField of CharFields costs a field per id."""

    def to_internal_value(self, data):
        if not isinstance(data, list) or not 1 <= len(data) <= MAX_CANDIDATES:
            raise serializers.ValidationError(f"send a list of 1 to {MAX_CANDIDATES:,} question ids")
        ids = []
        for k, value in enumerate(data):
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise serializers.ValidationError(f"item {k}: a question id is a string")
            text = str(value).strip()
            if not 1 <= len(text) <= 255:
                raise serializers.ValidationError(f"item {k}: a question id has 1 to 255 characters")
            ids.append(text)
        return ids

    def to_representation(self, value):
        return value


class NextQuestionRequest(StrictSerializer):
    userId = serializers.CharField(max_length=255, trim_whitespace=True)
    candidates = QuestionIdList(required=False, help_text="Question ids to choose from (or send module).")
    module = serializers.CharField(max_length=255, required=False, help_text="Choose among this module's questions.")
    exclude = serializers.ChoiceField(choices=learners.EXCLUDE, default="answered")
    strategy = serializers.ChoiceField(choices=learners.STRATEGIES, default="max-information")
    target = serializers.FloatField(
        required=False,
        min_value=0.01,
        max_value=0.99,
        help_text='Wanted P(correct) for strategy "target" (default 0.7).',
    )
    count = serializers.IntegerField(min_value=1, max_value=100, default=5)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if ("candidates" in attrs) == ("module" in attrs):
            raise serializers.ValidationError("send either candidates (a list of question ids) or module, not both")
        if "target" in attrs and attrs["strategy"] != "target":
            raise serializers.ValidationError('target applies only to strategy "target"')
        return attrs


class NextQuestionView(APIView):
    permission_classes = [permissions.may(permissions.SERVE)]

    @extend_schema(
        summary="Rank the next questions for a learner at their live ability",
        description=(
            '"max-information" ranks by Fisher information a^2 p (1 - p) at the learner\'s live ability; "target" '
            "by how close P(correct) is to `target`. Candidates the serving version does not know are listed in "
            '`unknownCandidates`; `"exclude": "answered"` (default) leaves out questions the learner answered.'
        ),
        request=NextQuestionRequest,
        responses={200: OpenApiTypes.OBJECT, 400: ERROR, 404: ERROR},
        examples=[
            OpenApiExample(
                "Request",
                value={"userId": "learner-42", "candidates": ["q0007", "q0012", "q0999"], "count": 2},
                request_only=True,
            ),
            OpenApiExample(
                "Ranked",
                value={
                    "userId": "learner-42",
                    "version": "v2",
                    "ability": 0.8123,
                    "abilitySd": 0.41,
                    "abilitySource": "live",
                    "strategy": "max-information",
                    "questions": [
                        {"questionId": "q0012", "probability": 0.5421, "information": 0.6122},
                        {"questionId": "q0007", "probability": 0.8012, "information": 0.2189},
                    ],
                    "candidates": 2,
                    "excluded": 0,
                    "unknownCandidates": ["q0999"],
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request):
        params = NextQuestionRequest(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        target = data.get("target", 0.7) if data["strategy"] == "target" else None
        result = learners.next_questions(
            user_id=data["userId"],
            candidates=data.get("candidates"),
            module=data.get("module"),
            exclude=data["exclude"],
            strategy=data["strategy"],
            target=target if target is not None else 0.7,
            count=data["count"],
        )
        return Response(next_questions_body(data["userId"], result, strategy=data["strategy"], target=target))


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if "questions" not in (data or {}):
            return JSONRenderer().render(data)  # errors stay JSON
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["questionId", "difficulty", "discrimination", "answers", "successRate"])
        for row in data["questions"]:
            writer.writerow(
                [
                    spreadsheet_safe(row[k])
                    for k in ("questionId", "difficulty", "discrimination", "answers", "successRate")
                ]
            )
        return out.getvalue().encode()


# OWASP's rule for CSV injection: a text cell starting with one of these is a formula to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """A text cell a spreadsheet would evaluate gets a leading ``'`` (shown as text); numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class ParametersQuery(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=10_000, default=1000)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)


class ProductionParametersView(APIView):
    renderer_classes = [JSONRenderer, CSVRenderer]

    def handle_exception(self, exc):
        # Errors are JSON under /api/, also when CSV was asked for.
        self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().handle_exception(exc)

    def perform_content_negotiation(self, request, force=False):
        if request.query_params.get("format") not in (None, "json", "csv"):
            return JSONRenderer(), JSONRenderer.media_type  # get() answers 400 for the format
        return super().perform_content_negotiation(request, force)

    @extend_schema(
        summary="Per-question parameters of the production model (paginated; ?format=csv for CSV)",
        parameters=[
            ParametersQuery,
            OpenApiParameter("format", str, enum=["json", "csv"], required=False),
        ],
        responses={200: OpenApiTypes.OBJECT, 404: ERROR},
    )
    def get(self, request, format=None):
        fmt = request.query_params.get("format")
        if fmt not in (None, "json", "csv"):
            raise serializers.ValidationError({"format": f"must be json or csv, got {fmt!r}"})
        query = ParametersQuery(data={k: v for k, v in request.query_params.items() if k != "format"})
        query.is_valid(raise_exception=True)
        offset, limit = query.validated_data["offset"], query.validated_data["limit"]
        version = _production()
        questions = (version.parameters or {}).get("questions") or {}
        page = list(questions.items())[offset : offset + limit]
        return Response(
            {
                "version": version.version,
                "count": len(questions),
                "limit": limit,
                "offset": offset,
                "questions": [{"questionId": q, **values} for q, values in page],
            }
        )
