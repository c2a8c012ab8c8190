# ruff: noqa: F821 - a fragment: README "Enqueue from a view" appends it to a project's urls.py
"""README "Enqueue from a view": routes of the tutorial views (tests/docs/test_tutorial.py uses the copy)."""

from myapp import views

urlpatterns += [path("welcome/", views.welcome), path("count/", views.count)]
