"""Changing a password or deactivating a user ends that user's API tokens, refresh and access alike."""

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def login(username="staff", password=PASSWORD):
    response = APIClient().post("/api/auth/token", {"username": username, "password": password})
    assert response.status_code == 200, response.content
    return response.json()


def refresh(token):
    return APIClient().post("/api/auth/token/refresh", {"refresh": token})


def status_with(access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get("/api/mlops/status")


def test_a_password_change_revokes_refresh_and_access_tokens(staff):
    tokens = login()
    rotated = refresh(login()["refresh"]).json()  # a rotated pair, issued by the refresh endpoint
    assert status_with(tokens["access"]).status_code == 200
    staff.set_password("a new long passphrase 42")
    staff.save()
    for old in (tokens, rotated):
        assert refresh(old["refresh"]).status_code == 401
        assert status_with(old["access"]).status_code == 401
    assert BlacklistedToken.objects.filter(token__user=staff).count() >= 2
    fresh = login(password="a new long passphrase 42")
    assert status_with(fresh["access"]).status_code == 200 and refresh(fresh["refresh"]).status_code == 200


def test_deactivation_revokes_tokens(staff):
    tokens = login()
    staff.is_active = False
    staff.save()
    assert refresh(tokens["refresh"]).status_code == 401
    assert status_with(tokens["access"]).status_code == 401
    assert BlacklistedToken.objects.filter(token__user=staff).exists()


def test_other_saves_keep_tokens(staff):
    tokens = login()
    staff.first_name = "Ada"
    staff.save()
    login()  # updates last_login
    assert not BlacklistedToken.objects.exists()
    assert status_with(tokens["access"]).status_code == 200
    assert refresh(tokens["refresh"]).status_code == 200


def test_changepassword_through_the_admin_form_revokes(staff, admin_client):
    tokens = login()
    response = admin_client.post(
        f"/admin/auth/user/{staff.pk}/password/",
        {"password1": "another long passphrase 7", "password2": "another long passphrase 7", "usable_password": "true"},
    )
    assert response.status_code == 302, response.content[:500]
    assert refresh(tokens["refresh"]).status_code == 401
    assert status_with(tokens["access"]).status_code == 401


def test_a_token_naming_no_user_or_a_bad_digest_is_refused(staff, django_user_model):
    """Tokens signed with our key but naming a deleted user, a user id of the wrong type or range, or no
    password digest: 401, never a 500 and never someone's access."""
    from rest_framework_simplejwt.settings import api_settings
    from rest_framework_simplejwt.tokens import AccessToken

    gone = django_user_model.objects.create_user("gone", is_staff=True)
    token_of_gone = str(AccessToken.for_user(gone))
    gone.delete()
    odd_id = AccessToken.for_user(staff)
    odd_id[api_settings.USER_ID_CLAIM] = "not-a-number"
    huge_ids = []
    for huge in (2**63, -(2**63) - 1, 10**30):  # no 64-bit key: the database driver would refuse to bind it
        huge_ids.append(AccessToken.for_user(staff))
        huge_ids[-1][api_settings.USER_ID_CLAIM] = str(huge)
    no_digest = AccessToken.for_user(staff)
    del no_digest[api_settings.REVOKE_TOKEN_CLAIM]
    wrong_digest = AccessToken.for_user(staff)
    wrong_digest[api_settings.REVOKE_TOKEN_CLAIM] = ["not", "a", "digest"]
    for token, error in (
        (token_of_gone, "User not found"),
        (odd_id, "User not found"),
        *((token, "User not found") for token in huge_ids),
        (no_digest, "The user's password has been changed."),
        (wrong_digest, "The user's password has been changed."),
    ):
        response = status_with(str(token))
        assert response.status_code == 401 and response.json()["error"] == error, response.content
    assert status_with(str(AccessToken.for_user(staff))).status_code == 200
