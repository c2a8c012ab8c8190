"""tests.settings with an ArqBackend whose OPTIONS name no alias: ``manage.py check`` must say so."""

from tests.settings import *  # noqa: F403

TASKS = {"default": {"BACKEND": "django_arq.tasks.ArqBackend", "OPTIONS": {"ALIAS": "nope"}}}
