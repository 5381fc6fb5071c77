"""Template tags for pages the retraining admin does not render itself (the admin's index)."""

from django import template

from .. import console

register = template.Library()


@register.simple_tag
def versions_needing_review():
    return console.versions_needing_review()
