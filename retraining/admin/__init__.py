"""The staff console: versions with charts, deploy/roll back and retrain buttons, the deploy history.

Every button and action calls the same services as the API and the commands; ``retraining.console`` turns
what they return into what a person reads. ``versions`` registers the model versions' admin (its
columns, pages and actions are mixins beside it), ``deployments`` the deploy history.
"""

from . import deployments, versions  # noqa: F401  (importing registers them with the admin site)
