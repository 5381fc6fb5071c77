"""API tokens end with the password that earned them: a change of password or a deactivation
blacklists the user's outstanding refresh tokens, and every token carries a digest of the password
(simplejwt's ``CHECK_REVOKE_TOKEN``) so access tokens issued before the change are refused too."""

from __future__ import annotations

import hmac
import threading

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models.signals import post_save, pre_save
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import aware_utcnow, get_md5_hash_password

from common import sql
from retraining import permissions


class RefreshSerializer(TokenRefreshSerializer):
    """simplejwt's refresh, refusing a token issued before its user's password changed."""

    def validate(self, attrs):
        refresh = RefreshToken(attrs["refresh"])
        users = get_user_model().objects.filter(**{api_settings.USER_ID_FIELD: refresh.get(api_settings.USER_ID_CLAIM)})
        user = users.first()
        if user is not None and refresh.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password):
            raise AuthenticationFailed("The password changed since this token was issued; log in again", "revoked")
        return super().validate(attrs)


class Authentication(JWTAuthentication):
    """simplejwt's bearer-token authentication with the token's user read by one prepared query.

    Every API request reads its user; through the ORM that read cost more than the rest of a
    prediction. The checks are simplejwt's: the user exists and is active, and the token's password
    digest is the current password's (compared in constant time)."""

    def get_validated_token(self, raw_token):
        """simplejwt's validation, its signature and claims checked once per token and process:
        the same token always decodes to the same claims, so a token seen before is only checked
        for expiry again (the user and the password digest are still read on every request)."""
        token = _verified.get(raw_token)
        if token is None:
            token = super().get_validated_token(raw_token)
            _remember(raw_token, token)
            return token
        try:
            token.check_exp(current_time=aware_utcnow())
        except TokenError as error:
            _verified.pop(raw_token, None)
            message = {"token_class": type(token).__name__, "token_type": token.token_type, "message": error.args[0]}
            raise InvalidToken(
                {"detail": _("Given token not valid for any token type"), "messages": [message]}
            ) from None
        return token

    def get_user(self, validated_token):
        if api_settings.USER_ID_CLAIM not in validated_token:
            raise InvalidToken("Token contained no recognizable user identification")
        user = token_user(validated_token[api_settings.USER_ID_CLAIM])
        if user is None:
            raise AuthenticationFailed("User not found", code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        digest = validated_token.get(api_settings.REVOKE_TOKEN_CLAIM)
        if api_settings.CHECK_REVOKE_TOKEN and not (
            isinstance(digest, str) and hmac.compare_digest(digest, get_md5_hash_password(user.password))
        ):
            raise AuthenticationFailed("The user's password has been changed.", code="password_changed")
        return user


VERIFIED_TOKENS = 1024  # per process; the oldest are dropped first
_verified: dict = {}
_verified_lock = threading.Lock()  # gthread workers: another thread may add a token while the oldest is dropped


def _remember(raw_token, token) -> None:
    with _verified_lock:
        if len(_verified) >= VERIFIED_TOKENS:
            _verified.pop(next(iter(_verified)), None)
        _verified[raw_token] = token


class AuthenticationScheme(SimpleJWTScheme):
    """The OpenAPI schema's bearer-token scheme for :class:`Authentication`, as for simplejwt's own."""

    target_class = "mlops_site.tokens.Authentication"


def token_user(user_id):
    """The user a token names, or None: the ORM's query, compiled once per database and its
    columns converted as the ORM does (SQLite and PostgreSQL; other databases use the ORM).

    The same statement reads whether the user holds the permissions every serving request asks
    about (:data:`retraining.permissions.READ_WITH_USER`): one round trip for both; inside
    :func:`common.sql.beside_user` (a serving request about one learner) it reads that learner's
    answers too."""
    User = get_user_model()
    field = User._meta.get_field(api_settings.USER_ID_FIELD)
    if not sql.compiled():
        return User.objects.filter(**{field.name: user_id}).first()
    db = connections[DEFAULT_DB_ALIAS]  # (each attribute of the ``connection`` proxy is a lookup)
    try:
        value = field.get_db_prep_value(field.to_python(user_id), db)
    except (ValidationError, TypeError, ValueError):  # not a value of the id field: nobody
        return None
    if isinstance(value, int) and not -(2**63) <= value < 2**63:  # wider than any stored key: nobody
        return None  # (the drivers refuse to bind it: SQLite raises OverflowError)
    text, params, converters, names, pk = sql.statement("token user", lambda: _user_statement(User, field, value))
    row = sql.user_row(text, [*params, value], len(names) + len(permissions.READ_WITH_USER))
    if row is None or row[pk] is None:
        return None
    row, held = list(row[: len(names)]), row[len(names) :]
    for position, (functions, expression) in converters.items():
        for convert in functions:
            row[position] = convert(row[position], expression, db)
    user = User.from_db(DEFAULT_DB_ALIAS, names, row)
    if permissions.answered_in_sql():
        permissions.keep_held(user, held)
    return user


def _user_statement(User, field, value) -> tuple[str, list, dict, list[str], int]:
    """The user query's SQL with the held permissions' columns after the user's (its parameters:
    the permissions', then the id), those parameters, the user columns' converters, field names
    and the primary key's position among them."""
    compiler = User.objects.filter(**{field.name: value}).query.get_compiler(using=DEFAULT_DB_ALIAS)
    text, params = compiler.as_sql()
    if len(params) != 1:
        raise RuntimeError(f"the user query has {len(params)} parameters, expected one: {text}")
    converters = compiler.get_converters([column for column, _, _ in compiler.select])
    names = [f.attname for f in User._meta.concrete_fields]
    columns, held_params = permissions.held_columns(f"u.{connection.ops.quote_name(User._meta.pk.column)}")
    text = f"SELECT u.*, {', '.join(columns)} FROM ({text}) u" if columns else text
    return text, held_params, converters, names, names.index(User._meta.pk.attname)


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
