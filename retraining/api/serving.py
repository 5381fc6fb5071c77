"""The serving endpoints the quiz app calls: predict, a learner's live ability, the next questions."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema_field
from rest_framework import serializers

from .. import learners
from ..representations import learner_ability_body, next_questions_body, prediction_body
from .common import NOT_PLAIN, StrictSerializer
from .serving_view import ServingView, plain_user_id, serving_schema


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


PREDICT_EXAMPLES = [
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
]


class PredictView(ServingView):
    max_pairs = 1000

    def learner(self):
        data = self.json_object()  # one pair with a live ability (a list reads its learners together)
        return plain_user_id(data) if data is not None and data.get("ability", "live") == "live" else None

    @serving_schema(
        summary="P(correct) under the production model, for one pair or a list",
        description=(
            "The learner's ability is live by default: re-scored from their stored answers with the serving "
            'version\'s items held fixed. `"ability": "model"` uses the ability the version was trained with. '
            "Each prediction says which in `abilitySource` (live, model, or prior for a learner with nothing known)."
        ),
        request=PredictItem,
        examples=PREDICT_EXAMPLES,
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
            return self.answer({"version": version, "predictions": bodies})
        return self.answer({"version": version, **bodies[0]})


ABILITY_EXAMPLES = [
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
]


class LearnerAbilityView(ServingView):
    def learner(self):
        return self.kwargs.get("user_id")

    @serving_schema(
        summary="A learner's live ability under the production model",
        description=(
            "EAP ability and posterior SD from all the learner's stored answers to questions the serving version "
            "knows (the others are counted in `skipped`), with its items held fixed: the same computation as "
            "training. `source` is `prior` when no answer is usable. `userId` is the app's raw id."
        ),
        operation_id="mlops_learner_ability",
        examples=ABILITY_EXAMPLES,
    )
    def get(self, request, user_id):
        if len(user_id) > 255:
            raise serializers.ValidationError({"userId": "at most 255 characters"})
        return self.answer(learner_ability_body(user_id, learners.learner_ability(user_id=user_id)))


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

    def plain_check(self, data):
        """The usual list, all strings of 1 to 255 characters once stripped, checked whole
        (:func:`~retraining.api.common.plain_values`); NOT_PLAIN for anything else."""
        if type(data) is not list or not 1 <= len(data) <= MAX_CANDIDATES:
            return NOT_PLAIN
        try:
            ids = list(map(str.strip, data))
        except TypeError:  # not all strings
            return NOT_PLAIN
        lengths = list(map(len, ids))
        return ids if min(lengths) >= 1 and max(lengths) <= 255 else NOT_PLAIN

    def to_internal_value(self, data):
        ids = self.plain_check(data)
        if ids is not NOT_PLAIN:
            return ids
        if not isinstance(data, list) or not 1 <= len(data) <= MAX_CANDIDATES:
            raise serializers.ValidationError(f"send a list of 1 to {MAX_CANDIDATES:,} question ids")
        ids = []  # something is off: find the first bad item, to name it
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


NEXT_QUESTION_EXAMPLES = [
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
]


class NextQuestionView(ServingView):
    def learner(self):
        return plain_user_id(self.json_object())

    @serving_schema(
        summary="Rank the next questions for a learner at their live ability",
        description=(
            '"max-information" ranks by Fisher information a^2 p (1 - p) at the learner\'s live ability; "target" '
            "by how close P(correct) is to `target`. Candidates the serving version does not know are listed in "
            '`unknownCandidates`; `"exclude": "answered"` (default) leaves out questions the learner answered.'
        ),
        request=NextQuestionRequest,
        examples=NEXT_QUESTION_EXAMPLES,
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
        return self.answer(next_questions_body(data["userId"], result, strategy=data["strategy"], target=target))
