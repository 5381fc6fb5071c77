"""Who may do what: one permission per action, the same at every door (API, admin).

An action is a name bound to one Django permission. The admin asks :func:`allowed`; an API view
lists ``may(action)`` in its ``permission_classes``. Adding an action is one line in ``ACTIONS``
(and the permission in ``ModelVersion.Meta.permissions``).
"""

from __future__ import annotations

from functools import cache

from rest_framework.permissions import BasePermission

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
    return (action in OPEN_TO_STAFF and user.is_staff) or user.has_perm(ACTIONS[action])


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
