"""The 403 page: the admin's own look for the staff console, audited like the API's refusals."""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.views import defaults

from common.audit import audit


def permission_denied(request, exception=None):
    user = getattr(request, "user", None)
    audit(
        "request_refused",
        status=403,
        method=request.method,
        path=request.path,
        user=user.get_username() if user is not None and user.is_authenticated else None,
        code="permission_denied",
    )
    if not request.path.startswith(f"/{admin.site.name}/") or user is None or not user.is_active or not user.is_staff:
        return defaults.permission_denied(request, exception)
    context = {
        **admin.site.each_context(request),
        "title": "You do not have permission to do this",
        "message": str(exception or ""),
    }
    response = TemplateResponse(request, "admin/403.html", context, status=403)
    return response.render()
