"""The HTTP API's building blocks: errors, authentication, request parsing and the JSON form of jobs.

The views themselves live in ``django_arq.api.views`` and are mounted by ``django_arq.urls``.
"""
