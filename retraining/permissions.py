"""Who may call which API door, beside staff: the quiz application's service role."""

from rest_framework.permissions import BasePermission

SERVE_PREDICTIONS = "retraining.serve_predictions"


def can_serve_predictions(user) -> bool:
    """Staff, or an account holding ``retraining.serve_predictions`` (the quiz app's service role)."""
    return bool(user and user.is_authenticated and (user.is_staff or user.has_perm(SERVE_PREDICTIONS)))


class CanServePredictions(BasePermission):
    """Predict, live ability and next question: staff, or the quiz app's service account."""

    def has_permission(self, request, view):
        return can_serve_predictions(request.user)
