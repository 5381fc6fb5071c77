"""One permission rule at every door: the API's retrain and deploy need what the admin's buttons need."""

import logging

import pytest
from django.contrib.auth.models import Permission

from retraining import permissions, services
from retraining.models import Deployment, ModelVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_versions(simulated):
    services.retrain()
    services.retrain(auto_deploy=False)
    return ModelVersion.objects.get(version="v1"), ModelVersion.objects.get(version="v2")


def test_staff_without_the_retrain_permission_is_refused_by_the_api_and_the_admin(
    api, client, staff_without_permissions, simulated, caplog
):
    with caplog.at_level(logging.INFO, logger="irt.audit"):
        response = api(staff_without_permissions).post("/api/mlops/retrain", {})
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "permission_denied" and "retraining.retrain_model" in body["error"]
    refused = [r for r in caplog.records if getattr(r, "event", None) == "request_refused"]
    assert [(r.status, r.user, r.path) for r in refused] == [(403, "reader", "/api/mlops/retrain")]
    assert not ModelVersion.objects.exists()
    client.force_login(staff_without_permissions)
    assert client.post("/admin/retraining/modelversion/retrain/").status_code == 403
    assert not ModelVersion.objects.exists()


def test_staff_without_the_deploy_permission_is_refused_by_the_api_and_the_admin(
    api, client, staff_without_permissions, two_versions
):
    _, v2 = two_versions
    response = api(staff_without_permissions).post(f"/api/mlops/deploy/{v2.version}")
    assert response.status_code == 403
    assert "retraining.deploy_modelversion" in response.json()["error"]
    client.force_login(staff_without_permissions)
    assert client.post(f"/admin/retraining/modelversion/{v2.pk}/deploy/").status_code == 403
    v2.refresh_from_db()
    assert not v2.is_production and Deployment.objects.count() == 1


def test_each_permission_opens_its_own_door_only(api, staff_without_permissions, two_versions):
    user = staff_without_permissions
    user.user_permissions.add(Permission.objects.get(codename="deploy_modelversion"))
    client = api(user)
    assert client.post("/api/mlops/deploy/v2").status_code == 200
    assert ModelVersion.objects.get(is_production=True).version == "v2"
    assert client.post("/api/mlops/retrain", {}).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="retrain_model"))
    assert api(user).post("/api/mlops/retrain", {"autoDeploy": False}).status_code == 200


def test_superusers_may_do_everything_and_inactive_users_nothing(django_user_model):
    root = django_user_model.objects.create_superuser("root", password="pw")
    assert all(permissions.allowed(root, action) for action in permissions.ACTIONS)
    root.is_active = False
    assert not any(permissions.allowed(root, action) for action in permissions.ACTIONS)
    with pytest.raises(ValueError, match="unknown action"):
        permissions.may("launch")
