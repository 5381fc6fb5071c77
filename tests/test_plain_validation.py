"""A plainly valid JSON body is checked in one pass over a strict serializer's declared fields; any
other body takes DRF's way. Both ways must accept the same bodies with the same values."""

import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from retraining.api import common
from retraining.api.common import StrictSerializer, plain_values
from retraining.api.production import MonitoringQuery
from retraining.api.serving import NextQuestionRequest, PredictItem
from retraining.api.training import RetrainRequest
from retraining.api.versions import VersionListQuery


class Loose(StrictSerializer):
    """Fields declared otherwise than the API's: no bounds, blanks, untrimmed text, numeric choices."""

    number = serializers.FloatField(required=False)
    whole = serializers.IntegerField(default=7)
    raw = serializers.CharField(trim_whitespace=False, allow_blank=True, min_length=2, required=False)
    flag = serializers.BooleanField(required=False)
    pick = serializers.ChoiceField(choices=[1, "a", ""], allow_blank=True, required=False)


PLAIN = (PredictItem, NextQuestionRequest, VersionListQuery, MonitoringQuery, Loose)

usual = st.one_of(
    st.text(alphabet="ab -_q0123456789", max_size=6),
    st.sampled_from(["live", "model", "answered", "none", "target", "max-information", "ready", " q1 ", "a", "1"]),
    st.integers(-3, 400),
    st.floats(-2, 2),
    st.booleans(),
)
odd = st.one_of(
    st.text(max_size=8),
    st.text(alphabet=" \t\n\x00abcé\u2028\ud800", max_size=6),
    st.sampled_from(["x" * 255, "x" * 256, " " + "z" * 255 + " ", "y" * 2000]),
    st.sampled_from([2**31, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**400, 10**5000]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.01, 0.99, 0.7, 1.0, 5.0, 0.005, math.inf, -math.inf, math.nan]),
    st.none(),
    st.lists(usual, max_size=3),
    st.just({}),
)
values = st.one_of(usual, usual, usual, odd)


def bodies(serializer):
    return st.fixed_dictionaries({}, optional={name: values for name in serializer._declared_fields})


def drf(serializer_class, data):
    """DRF's own judgement of ``data``: its values, or the ValidationError."""
    try:
        return serializers.Serializer.to_internal_value(serializer_class(data=data), data)
    except serializers.ValidationError as error:
        return error


def assert_same_judgement(serializer_class, body):
    """Whatever the one pass accepts, DRF accepts with the same values (of the same types, in the
    same order); what it does not accept is left to DRF. Returns whether it accepted."""
    values = plain_values(common._plain_checks(serializer_class), body)
    if values is None:
        return False
    expected = drf(serializer_class, body)
    assert not isinstance(expected, serializers.ValidationError), (body, expected.detail)
    assert values == expected
    assert [type(v) for v in values.values()] == [type(v) for v in expected.values()]
    assert list(values) == list(expected)
    return True


@pytest.mark.parametrize("serializer_class", PLAIN)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_what_the_one_pass_accepts_drf_accepts_with_the_same_values(serializer_class, data):
    assert_same_judgement(serializer_class, data.draw(bodies(serializer_class)))


@pytest.mark.parametrize(
    "body",
    [
        {"raw": "a"},
        {"raw": "  "},
        {"raw": " ab "},
        {"raw": ""},
        {"number": math.inf},
        {"number": math.nan},
        {"number": 10**400},
        {"number": 2**63},
        {"number": True},
        {"whole": 2**63},
        {"whole": 10**5000},
        {"whole": -(2**63)},
        {"whole": 1.0},
        {"flag": 1},
        {"flag": "true"},
        {"pick": 1},
        {"pick": "1"},
        {"pick": ""},
    ],
)
def test_edges_of_each_kind_of_field(body):
    assert_same_judgement(Loose, body)


@given(
    user_id=st.text(alphabet="abc -_.0123456789", min_size=1, max_size=40).filter(str.strip),
    candidates=st.lists(st.text(alphabet="q0123456789 ", min_size=1, max_size=12).filter(str.strip), min_size=1),
    count=st.integers(1, 100),
    exclude=st.sampled_from(["answered", "none"]),
)
@example(user_id="learner-42", candidates=["q0007", "q0012"], count=5, exclude="answered")
def test_the_quiz_apps_usual_bodies_take_the_one_pass(user_id, candidates, count, exclude):
    body = {"userId": user_id, "candidates": candidates, "count": count, "exclude": exclude}
    assert assert_same_judgement(NextQuestionRequest, body)
    values = plain_values(common._plain_checks(NextQuestionRequest), body)
    assert values["userId"] == user_id.strip() and values["strategy"] == "max-information"


def test_a_plain_body_is_validated_without_building_the_fields(monkeypatch):
    built = []
    original = StrictSerializer.get_fields
    monkeypatch.setattr(StrictSerializer, "get_fields", lambda self: built.append(self) or original(self))

    plain = NextQuestionRequest(data={"userId": " u1 ", "candidates": ["q1", " q2"], "count": 3})
    assert plain.is_valid(), plain.errors
    assert plain.validated_data == {
        "userId": "u1",
        "candidates": ["q1", "q2"],
        "exclude": "answered",
        "strategy": "max-information",
        "count": 3,
    }
    pairs = PredictItem(data=[{"userId": "u1", "questionId": "q1"}, {"userId": "u2", "questionId": "q2"}], many=True)
    assert pairs.is_valid(), pairs.errors
    assert [item["ability"] for item in pairs.validated_data] == ["live", "live"]
    assert built == []

    # A body that is not plain is DRF's to judge, with its messages.
    wrong = NextQuestionRequest(data={"userId": "u1", "candidates": ["q1"], "count": 0})
    assert not wrong.is_valid()
    assert wrong.errors == {"count": ["Ensure this value is greater than or equal to 1."]}
    assert built == [wrong]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"userId": "u", "questionId": "q", "ability": "Live"}, {"ability": ['"Live" is not a valid choice.']}),
        ({"userId": "u\x00", "questionId": "q"}, {"userId": ["Null characters are not allowed."]}),
        ({"userId": "u\ud800", "questionId": "q"}, {"userId": ["Surrogate characters are not allowed: U+D800."]}),
        ({"userId": "   ", "questionId": "q"}, {"userId": ["This field may not be blank."]}),
        ({"userId": "u" * 256, "questionId": "q"}, {"userId": ["Ensure this field has no more than 255 characters."]}),
        ({"userId": None, "questionId": "q"}, {"userId": ["This field may not be null."]}),
        ({"questionId": "q"}, {"userId": ["This field is required."]}),
    ],
)
def test_bodies_the_one_pass_leaves_to_drf_get_drfs_errors(body, error):
    item = PredictItem(data=body)
    assert not item.is_valid()
    assert item.errors == error


def test_non_ascii_ids_and_numbers_given_as_text_are_drfs_to_accept():
    item = PredictItem(data={"userId": "élève 7", "questionId": 12})
    assert item.is_valid(), item.errors
    assert item.validated_data["userId"] == "élève 7" and item.validated_data["questionId"] == "12"
    query = NextQuestionRequest(data={"userId": "u", "module": "m", "strategy": "target", "target": 1})
    assert not query.is_valid()  # 1 is past target's 0.99
    query = NextQuestionRequest(data={"userId": "u", "module": "m", "strategy": "target", "target": "0.5"})
    assert query.is_valid(), query.errors
    assert query.validated_data["target"] == 0.5


class Picky(StrictSerializer):
    colour = serializers.ChoiceField(choices=["red", "green"])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["colour"].choices = ["blue"]


def test_an_instance_that_changed_its_fields_is_judged_by_them():
    assert Picky(data={"colour": "blue"}).is_valid()
    assert not Picky(data={"colour": "red"}).is_valid()


def test_fields_the_one_pass_does_not_know_leave_every_body_to_drf():
    assert common._plain_checks(RetrainRequest) is None  # a date field

    class Validated(StrictSerializer):
        name = serializers.CharField()

        def validate_name(self, value):
            raise serializers.ValidationError("never")

    class Odd(StrictSerializer):
        name = serializers.CharField(validators=[lambda value: None])

    assert common._plain_checks(Validated) is None and not Validated(data={"name": "x"}).is_valid()
    assert common._plain_checks(Odd) is None
    assert all(common._plain_checks(serializer) is not None for serializer in PLAIN)


def test_a_partial_update_is_drfs():
    query = MonitoringQuery(data={}, partial=True)
    assert query.is_valid()
    assert query.validated_data == {}  # no default on a partial update, as DRF does
    assert MonitoringQuery(data={}).is_valid() and MonitoringQuery(data={}).run_validation({}) == {"days": 30}


def in_order(attrs):
    if attrs["low"] > attrs["high"]:
        raise serializers.ValidationError("low is above high")


class Ordered(StrictSerializer):
    low = serializers.IntegerField()
    high = serializers.IntegerField()

    class Meta:
        validators = [in_order]


def test_a_serializers_own_validators_still_run_on_a_plain_body():
    assert Ordered(data={"low": 1, "high": 2}).is_valid()
    wrong = Ordered(data={"low": 3, "high": 2})
    assert not wrong.is_valid()
    assert wrong.errors == {"non_field_errors": ["low is above high"]}


def test_limits_given_as_validators_and_fields_made_otherwise_are_drfs():
    """Only the validators DRF makes from a field's own lengths and bounds are the one pass's to
    check: any other (a limit given as a validator, a field made by get_fields) leaves it to DRF."""
    from django.core.validators import MaxLengthValidator, MaxValueValidator

    class Given(StrictSerializer):
        name = serializers.CharField(validators=[MaxLengthValidator(3)])
        n = serializers.IntegerField(validators=[MaxValueValidator(3)], required=False)

    class Empty(StrictSerializer):
        name = serializers.CharField(max_length=0, allow_blank=True)

    class Made(StrictSerializer):
        n = serializers.IntegerField()

        def get_fields(self):
            fields = super().get_fields()
            fields["n"].validators = [*fields["n"].validators, MaxValueValidator(3)]
            return fields

    class Fewer(StrictSerializer):
        name = serializers.CharField()
        secret = serializers.CharField(required=False)

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields.pop("secret")

    assert not Given(data={"name": "toolong"}).is_valid()
    assert not Given(data={"name": "ok", "n": 99}).is_valid()
    assert Given(data={"name": "ok", "n": 3}).is_valid()
    assert not Empty(data={"name": "x"}).is_valid()
    assert not Made(data={"n": 99}).is_valid() and Made(data={"n": 2}).is_valid()
    fewer = Fewer(data={"name": "a", "secret": "b"})
    assert not fewer.is_valid()
    assert "unknown field(s): secret" in str(fewer.errors)
