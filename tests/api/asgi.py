"""The ASGI application uvicorn serves in the HTTP API's live-server tests."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.api.live_settings")

from django.core.asgi import get_asgi_application

application = get_asgi_application()
