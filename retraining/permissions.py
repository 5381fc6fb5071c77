"""Who may do what: one permission per action, the same at every door (API, admin).

An action is a name bound to one Django permission. The admin asks :func:`allowed`; an API view
lists ``may(action)`` in its ``permission_classes``. Adding an action is one line in ``ACTIONS``
(and the permission in ``ModelVersion.Meta.permissions``).
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.permissions import BasePermission

from common import sql

DEPLOY = "deploy"
RETRAIN = "retrain"
SERVE = "serve predictions"

SERVE_PREDICTIONS = "retraining.serve_predictions"
ACTIONS = {
    DEPLOY: "retraining.deploy_modelversion",
    RETRAIN: "retraining.retrain_model",
    SERVE: SERVE_PREDICTIONS,  # predict, live ability, next question: the quiz app's service role
}
# Actions every staff user may take without holding the permission; it opens them to service accounts.
OPEN_TO_STAFF = {SERVE}


def allowed(user, action: str) -> bool:
    """Whether ``user`` may perform ``action`` (superusers may do everything, inactive users nothing)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return (action in OPEN_TO_STAFF and user.is_staff) or holds(user, ACTIONS[action])


MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def holds(user, permission: str) -> bool:
    """``user.has_perm(permission)``, in one prepared query where Django's ModelBackend is the only
    authentication backend (the backend itself reads all the user's and their groups' permissions
    through the ORM, two queries and most of a serving request's time). The same answer: an active
    superuser holds every permission, others those given to them or to one of their groups.

    A user read for an API token carries the answer for the permissions in ``READ_WITH_USER``,
    read in the same statement as the user (:func:`held_columns`): no query at all."""
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    if not answered_in_sql():
        return user.has_perm(permission)
    held = getattr(user, HELD_ATTRIBUTE, None) or {}
    if permission in held:
        return held[permission]
    app_label, codename = permission.split(".", 1)
    return (
        sql.fetch_one(
            sql.statement("permission", lambda: "SELECT 1 WHERE " + _held_sql("%s")),
            [app_label, codename, user.pk, user.pk],
        )
        is not None
    )


# Asked on every serving request (the quiz app's role): read with the token's user, not on its own.
READ_WITH_USER = (SERVE_PREDICTIONS,)
HELD_ATTRIBUTE = "_held_permissions"  # on a user read by held_columns' caller: {permission: bool}


def answered_in_sql() -> bool:
    """Whether :func:`holds` answers from SQL (Django's ModelBackend alone, a compiled database)."""
    return list(settings.AUTHENTICATION_BACKENDS) == [MODEL_BACKEND] and sql.compiled()


def held_columns(user_key: str) -> tuple[list[str], list[str]]:
    """For a statement reading users: one select-list expression per permission of
    ``READ_WITH_USER`` (true when the user whose key is the column ``user_key`` holds it, directly
    or through a group) and their parameters, in order. Keep the answers on the user with
    :func:`keep_held`."""
    expressions, params = [], []
    for permission in READ_WITH_USER:
        expressions.append(f"CASE WHEN {_held_sql(user_key)} THEN 1 ELSE 0 END")
        params += permission.split(".", 1)
    return expressions, params


def keep_held(user, values) -> None:
    """Keep on ``user`` the answers of :func:`held_columns`' expressions (``values``, in order)."""
    setattr(user, HELD_ATTRIBUTE, {p: bool(v) for p, v in zip(READ_WITH_USER, values, strict=True)})


def _held_sql(user_key: str) -> str:
    """EXISTS: the user ``user_key`` (a parameter or a column) holds (app_label, codename), given as
    parameters, directly or through a group. Names from the models."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    q = connection.ops.quote_name
    perm_id, perm_type, codename = (q(Permission._meta.get_field(f).column) for f in ("id", "content_type", "codename"))
    type_id, app_label = (q(ContentType._meta.get_field(f).column) for f in ("id", "app_label"))
    direct = get_user_model()._meta.get_field("user_permissions")
    member = get_user_model()._meta.get_field("groups")
    granted = Group._meta.get_field("permissions")
    return (
        f"EXISTS (SELECT 1 FROM {q(Permission._meta.db_table)} p JOIN {q(ContentType._meta.db_table)} c"
        f" ON c.{type_id} = p.{perm_type} WHERE c.{app_label} = %s AND p.{codename} = %s"
        f" AND (p.{perm_id} IN (SELECT {q(direct.m2m_reverse_name())} FROM {q(direct.m2m_db_table())}"
        f" WHERE {q(direct.m2m_column_name())} = {user_key})"
        f" OR p.{perm_id} IN (SELECT g.{q(granted.m2m_reverse_name())} FROM {q(granted.m2m_db_table())} g"
        f" JOIN {q(member.m2m_db_table())} m ON m.{q(member.m2m_reverse_name())} = g.{q(granted.m2m_column_name())}"
        f" WHERE m.{q(member.m2m_column_name())} = {user_key})))"
    )


class ActionPermission(BasePermission):
    """DRF's view of :func:`allowed`; build one with :func:`may`."""

    action = ""
    code = "permission_denied"

    @property
    def message(self) -> str:
        return f"You need the permission {ACTIONS[self.action]} to {self.action}; ask an administrator for it"

    def has_permission(self, request, view) -> bool:
        return allowed(request.user, self.action)


@cache
def may(action: str) -> type[ActionPermission]:
    """The permission class of ``action``, e.g. ``permission_classes = [IsAdminUser, may(DEPLOY)]``."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; known: {', '.join(ACTIONS)}")
    name = "May" + "".join(word.title() for word in action.split())
    return type(name, (ActionPermission,), {"action": action})


def can_serve_predictions(user) -> bool:
    """Staff, or an account holding ``retraining.serve_predictions`` (the quiz app's service role)."""
    return allowed(user, SERVE)


CanServePredictions = may(SERVE)
