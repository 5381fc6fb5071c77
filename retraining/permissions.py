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
    superuser holds every permission, others those given to them or to one of their groups."""
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    if list(settings.AUTHENTICATION_BACKENDS) != [MODEL_BACKEND] or not sql.compiled():
        return user.has_perm(permission)
    app_label, codename = permission.split(".", 1)
    return (
        sql.fetch_one(sql.statement("permission", _permission_sql), [app_label, codename, user.pk, user.pk]) is not None
    )


def _permission_sql() -> str:
    """Does this user hold (app_label, codename) directly or through a group? Names from the models."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    q = connection.ops.quote_name
    perm_id, perm_type, codename = (q(Permission._meta.get_field(f).column) for f in ("id", "content_type", "codename"))
    type_id, app_label = (q(ContentType._meta.get_field(f).column) for f in ("id", "app_label"))
    direct = get_user_model()._meta.get_field("user_permissions")
    member = get_user_model()._meta.get_field("groups")
    granted = Group._meta.get_field("permissions")
    return (
        f"SELECT 1 FROM {q(Permission._meta.db_table)} p JOIN {q(ContentType._meta.db_table)} c"
        f" ON c.{type_id} = p.{perm_type} WHERE c.{app_label} = %s AND p.{codename} = %s"
        f" AND (p.{perm_id} IN (SELECT {q(direct.m2m_reverse_name())} FROM {q(direct.m2m_db_table())}"
        f" WHERE {q(direct.m2m_column_name())} = %s)"
        f" OR p.{perm_id} IN (SELECT g.{q(granted.m2m_reverse_name())} FROM {q(granted.m2m_db_table())} g"
        f" JOIN {q(member.m2m_db_table())} m ON m.{q(member.m2m_reverse_name())} = g.{q(granted.m2m_column_name())}"
        f" WHERE m.{q(member.m2m_column_name())} = %s)) LIMIT 1"
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
