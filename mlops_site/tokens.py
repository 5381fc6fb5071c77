"""API tokens end with the password that earned them: a change of password or a deactivation
blacklists the user's outstanding refresh tokens, and every token carries a digest of the password
(simplejwt's ``CHECK_REVOKE_TOKEN``) so access tokens issued before the change are refused too."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_save
from django.utils import timezone
from rest_framework_simplejwt.exceptions import AuthenticationFailed
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password


class RefreshSerializer(TokenRefreshSerializer):
    """simplejwt's refresh, refusing a token issued before its user's password changed."""

    def validate(self, attrs):
        refresh = RefreshToken(attrs["refresh"])
        users = get_user_model().objects.filter(**{api_settings.USER_ID_FIELD: refresh.get(api_settings.USER_ID_CLAIM)})
        user = users.first()
        if user is not None and refresh.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password):
            raise AuthenticationFailed("The password changed since this token was issued; log in again", "revoked")
        return super().validate(attrs)


def _note_credential_change(sender, instance, update_fields=None, **kwargs):
    """Before a user is saved: does this save change the password or deactivate the account?"""
    instance._revoke_tokens = False
    if instance.pk is None or (update_fields is not None and not {"password", "is_active"} & set(update_fields)):
        return
    before = sender.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if before is not None:
        instance._revoke_tokens = before["password"] != instance.password or (
            before["is_active"] and not instance.is_active
        )


def _revoke_refresh_tokens(sender, instance, **kwargs):
    if not getattr(instance, "_revoke_tokens", False):
        return
    instance._revoke_tokens = False
    live = OutstandingToken.objects.filter(user=instance, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True)
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=token) for token in live], ignore_conflicts=True)


def connect() -> None:
    pre_save.connect(_note_credential_change, sender=settings.AUTH_USER_MODEL, dispatch_uid="tokens-note")
    post_save.connect(_revoke_refresh_tokens, sender=settings.AUTH_USER_MODEL, dispatch_uid="tokens-revoke")
