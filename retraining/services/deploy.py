"""The deploy rule: one production version, archived predecessor, a history row, in one transaction."""

from __future__ import annotations

import time

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from common.audit import audit

from ..errors import VersionNotDeployable
from ..models import Deployment, ModelVersion
from ..signals import send_after_commit, version_deployed

# Any constant: the key of the PostgreSQL advisory lock that serialises deploys.
_DEPLOY_LOCK_KEY = 0x4952_5444  # "IRTD"


@transaction.atomic
def _deploy_once(*, version, actor, actor_name, reason, action):
    if connection.vendor == "postgresql":
        # Row locks cannot serialise "find the production row, then replace it": a waiting
        # transaction re-reads a row that is no longer production and sees none. A transaction-scoped
        # advisory lock makes deploys take turns. (SQLite's IMMEDIATE transactions already do.)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_DEPLOY_LOCK_KEY])
    version = ModelVersion.objects.select_for_update().get(pk=version.pk)
    if not version.is_finished:
        raise VersionNotDeployable(
            f"Version {version.version} cannot be deployed: its training "
            + ("is still running" if version.status == ModelVersion.Status.TRAINING else "failed")
        )
    current = ModelVersion.objects.select_for_update().filter(is_production=True).first()
    if current is not None and current.pk == version.pk:
        return None
    now = timezone.now()
    if current is not None:
        current.is_production = False
        current.status = ModelVersion.Status.ARCHIVED
        current.save(update_fields=["is_production", "status"])
    version.is_production = True
    version.status = ModelVersion.Status.DEPLOYED
    version.deployed_at = now
    version.save(update_fields=["is_production", "status", "deployed_at"])
    if action is None:
        older = current is not None and version.number < current.number
        action = Deployment.Action.ROLLBACK if older else Deployment.Action.DEPLOY
    return Deployment.objects.create(
        version=version,
        previous_version=current,
        action=action,
        actor=actor,
        actor_name=_actor_name(actor, actor_name),
        reason=reason,
    )


def _actor_name(actor, actor_name: str) -> str:
    return actor.get_username() if actor is not None else (actor_name or "system")


def version_deploy(
    *, version: ModelVersion, actor=None, actor_name: str = "", reason: str = "", action: str | None = None
) -> Deployment | None:
    """Make ``version`` the one production model; archive the previous one; record the history row.

    One transaction; returns the history row, or None when ``version`` already serves (a no-op).
    A training or failed version is refused with :class:`VersionNotDeployable`. Concurrent
    deploys take turns (an advisory lock on PostgreSQL, IMMEDIATE transactions on SQLite); where
    neither exists, the one-production constraint refuses the loser, which retries on fresh state.
    """
    for attempt in range(5):
        try:
            deployment = _deploy_once(version=version, actor=actor, actor_name=actor_name, reason=reason, action=action)
            if deployment is not None:
                audit(
                    "deploy",
                    version=deployment.version.version,
                    previous=deployment.previous_version.version if deployment.previous_version else None,
                    action=deployment.action,
                    actor=deployment.actor_name,
                )
                send_after_commit(
                    version_deployed,
                    version=deployment.version,
                    previous=deployment.previous_version,
                    action=deployment.action,
                    actor=deployment.actor_name,
                )
            break
        except IntegrityError:
            if attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))
    version.refresh_from_db()
    return deployment
