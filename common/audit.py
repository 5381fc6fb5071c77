"""Audit events, one JSON log line each (logger ``irt.audit``): retrains, deploys, refused requests.

Callers pass names, versions and counts only: never secrets, tokens, request bodies or raw user ids.
"""

import logging

logger = logging.getLogger("irt.audit")


def audit(event: str, **fields) -> None:
    logger.info(event, extra={"event": event, **fields})
