"""The site's own app config (deploy checks, token revocation) and, for MongoDB, the contrib apps'
configs with object-id primary keys."""

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.contrib.auth.apps import AuthConfig
from django.contrib.contenttypes.apps import ContentTypesConfig

from .mongodb import OBJECT_ID_FIELD


class MongoAdminConfig(AdminConfig):
    default_auto_field = OBJECT_ID_FIELD


class MongoAuthConfig(AuthConfig):
    default_auto_field = OBJECT_ID_FIELD


class MongoContentTypesConfig(ContentTypesConfig):
    default_auto_field = OBJECT_ID_FIELD


class SiteConfig(AppConfig):
    name = "mlops_site"
    verbose_name = "Site"

    def ready(self):
        from . import checks, tokens  # noqa: F401  (checks registers the deploy checks)

        tokens.connect()
