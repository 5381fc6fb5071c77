"""The one place where an app's user id becomes the stored, anonymous ``user_hash``."""

import hashlib
import hmac

from django.conf import settings


def hash_user_id(user_id) -> str:
    """Keyed HMAC-SHA256 (hex) of the app's user id with ``TRAINING_DATA_HASH_KEY``.

    Stable for a key, so a learner's answers stay together; without the key the id cannot be
    recovered or confirmed by hashing guesses. The raw id is neither stored nor logged.
    """
    key = settings.TRAINING_DATA_HASH_KEY.encode()
    return hmac.new(key, str(user_id).encode(), hashlib.sha256).hexdigest()
