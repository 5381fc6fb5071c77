from datetime import UTC, date, datetime, timedelta

from django.contrib import admin
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q
from django.utils.functional import cached_property
from django.utils.http import urlencode

from common.admin import ReadOnlyModelAdmin

from .models import Learner, Question, TrainingData
from .recency import newest_first, oldest_first

HEX = "0123456789abcdef"


class EstimatedCountPaginator(Paginator):
    """Counts an unfiltered million-row table from statistics instead of ``COUNT(*)``."""

    @cached_property
    def count(self):
        query = self.object_list.query
        if not query.where:
            table = TrainingData._meta.db_table
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
                    row = cursor.fetchone()
                    if row and row[0] > 100_000:
                        return int(row[0])
                elif connection.vendor == "sqlite":
                    cursor.execute(f"SELECT max(rowid) FROM {connection.ops.quote_name(table)}")
                    row = cursor.fetchone()
                    if row and row[0] and row[0] > 100_000:
                        return int(row[0])
        return super().count


class ModuleFilter(admin.SimpleListFilter):
    """Modules by name: a link each while there are few, a search box (exact name) when there are many.

    The page stays small whatever the data: at most ``MAX_LISTED`` modules are ever read (cached
    for five minutes), not a distinct scan of every answer rendered as thousands of links.
    """

    title = "module"
    parameter_name = "module"
    template = "admin/training_data/module_filter.html"
    MAX_LISTED = 50

    def lookups(self, request, model_admin):
        modules = cache.get_or_set(
            "training_data:modules:first",
            lambda: list(
                Question.objects.order_by("module").values_list("module", flat=True).distinct()[: self.MAX_LISTED + 1]
            ),
            timeout=300,
        )
        self.searchable = len(modules) > self.MAX_LISTED
        if self.searchable:
            chosen = self.value()
            return [(chosen, chosen or "(none)")] if chosen is not None else []
        return [(m, m or "(none)") for m in modules]

    def has_output(self):
        return self.searchable or super().has_output()

    def choices(self, changelist):
        # Other filters and the search stay applied when a module is searched for.
        self.kept_params = [
            (key, value)
            for key, values in changelist.get_filters_params().items()
            if key != self.parameter_name
            for value in (values if isinstance(values, list) else [values])
        ]
        if changelist.query:
            self.kept_params.append(("q", changelist.query))
        yield from super().choices(changelist)

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(question__in=Question.objects.filter(module=self.value()).values("pk"))


@admin.register(TrainingData)
class TrainingDataAdmin(ReadOnlyModelAdmin):
    """Answers are evidence: read-only."""

    list_display = ("question_name", "module_name", "correct", "response_time_ms", "answered_at", "short_user")
    list_select_related = ("learner", "question")
    list_filter = ("correct", ModuleFilter, ("answered_at", admin.DateFieldListFilter))
    change_list_template = "admin/training_data/trainingdata/change_list.html"
    search_fields = ("=question__question_id",)  # the search itself is get_search_results'
    search_help_text = "Exact question id or module, or the start of a learner's hash (at least 6 characters)."
    ordering = ("-answered_at", "-id")  # in the form the database's index serves: get_ordering
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50

    @admin.display(description="question id", ordering="question__question_id")
    def question_name(self, obj):
        return obj.question.question_id

    @admin.display(description="module", ordering="question__module")
    def module_name(self, obj):
        return obj.question.module

    @admin.display(description="user", ordering="learner__hash")
    def short_user(self, obj):
        return obj.learner.hash[:10]

    def get_ordering(self, request):
        return newest_first()

    def get_search_results(self, request, queryset, search_term):
        """Answers of the questions with that id or module, or of the learners whose hash starts with
        it: the few matching keys are found in their own tables first, so no join scans the answers."""
        term = search_term.strip()
        if not term:
            return queryset, False
        questions = Question.objects.filter(Q(question_id=term) | Q(module=term)).values("pk")
        found = Q(question__in=questions)
        prefix = term.lower()
        if len(prefix) >= 6 and set(prefix) <= set(HEX):
            # Hashes are hex: those starting with the prefix are the range [prefix, prefix + "g"),
            # which the hash's unique index serves (PostgreSQL keeps no pattern index on it).
            hashes = Learner.objects.filter(hash__gte=prefix, hash__lt=prefix + "g")
            found |= Q(learner__in=hashes.values("pk")[:100])
        return queryset.filter(found), False

    def changelist_view(self, request, extra_context=None):
        context = {"answer_dates": answer_date_hierarchy(request.GET), **(extra_context or {})}
        return super().changelist_view(request, extra_context=context)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


MAX_YEAR_LINKS = 60


def answer_date_hierarchy(params) -> dict:
    """Year -> month -> day links over ``answered_at`` that only probe its index, boundedly.

    Django's own date hierarchy runs ``SELECT DISTINCT`` over a truncated date of every row,
    which takes seconds on a million answers; here each link costs one indexed query, the links
    stay inside the data's real range (first to last answer), and there are at most 31 of them
    (days), 13 (months) or ``MAX_YEAR_LINKS`` (years, jumping from one year with answers to the
    next), whatever the data or the requested period.
    """
    answers = TrainingData.objects.order_by()
    times = answers.order_by(*oldest_first()).values_list("answered_at", flat=True)
    first = times.first()
    if first is None:
        return {"links": [], "back": None}
    last = answers.order_by(*newest_first()).values_list("answered_at", flat=True).first()
    start, end = params.get("answered_at__gte", ""), params.get("answered_at__lt", "")
    try:
        lower, upper = date.fromisoformat(start[:10]), date.fromisoformat(end[:10])
        return _drill_down(answers, params, lower, upper, first.date(), last.date())
    except (ValueError, OverflowError):  # no period asked for, or one at the calendar's edge
        pass
    links, cursor = [], first
    while cursor is not None and len(links) < MAX_YEAR_LINKS:
        begin = date(cursor.year, 1, 1)
        stop = date(cursor.year + 1, 1, 1) if cursor.year < 9999 else date.max
        links.append({"label": str(cursor.year), **_period_query(params, begin, stop)})
        cursor = times.filter(answered_at__gte=_midnight(stop)).first() if cursor.year < 9999 else None
    return {"links": links, "back": None}


def _drill_down(answers, params, lower: date, upper: date, first: date, last: date) -> dict:
    """Month links inside a year, or day links inside a month; ValueError for any other period."""
    if upper - lower <= timedelta(days=31):
        begin = max(lower, first)
        days = (min(upper, last + timedelta(days=1)) - begin).days
        periods = [(begin + timedelta(days=k), begin + timedelta(days=k + 1)) for k in range(max(days, 0))]
        label = "%b %d"
        year = (date(lower.year, 1, 1), date(lower.year + 1, 1, 1))
        back = {"label": str(lower.year), **_period_query(params, *year)}
    elif upper - lower <= timedelta(days=366):
        periods, day = [], max(lower, first.replace(day=1))
        while day < min(upper, _next_month(last)):
            periods.append((day, _next_month(day)))
            day = _next_month(day)
        label, back = "%B %Y", {"label": "all years", **_period_query(params, None, None)}
    else:
        raise ValueError("not a month or a year")
    links = [
        {"label": begin.strftime(label), **_period_query(params, begin, stop)}
        for begin, stop in periods
        if answers.filter(answered_at__gte=_midnight(begin), answered_at__lt=_midnight(stop)).exists()
    ]
    return {"links": links, "back": back}


def _period_query(params, begin: date | None, stop: date | None) -> dict:
    """The link to a period, keeping the page's other filters and search (not its page number)."""
    kept = {k: v for k, v in params.items() if not k.startswith("answered_at__") and k != "p"}
    if begin is not None:
        kept.update({"answered_at__gte": _midnight(begin).isoformat(), "answered_at__lt": _midnight(stop).isoformat()})
    period = {"query": urlencode(kept)}
    if begin is not None:
        period.update({"gte": _midnight(begin), "lt": _midnight(stop)})
    return period


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
