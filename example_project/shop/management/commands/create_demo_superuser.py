"""Create (or update) a superuser from DJANGO_SUPERUSER_USERNAME / _PASSWORD / _EMAIL.

No password is ever built in: it comes from the environment, or ``--generate-password`` makes a
random one and prints it once.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Create or update a superuser from DJANGO_SUPERUSER_USERNAME/PASSWORD/EMAIL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--generate-password",
            action="store_true",
            help="make a random password (printed once) when DJANGO_SUPERUSER_PASSWORD is not set",
        )

    def handle(self, *args: Any, generate_password: bool, **options: Any) -> None:
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin")
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL", f"{username}@example.com")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        generated = False
        if not password:
            if not generate_password:
                raise CommandError("set DJANGO_SUPERUSER_PASSWORD (or pass --generate-password)")
            password, generated = secrets.token_urlsafe(12), True
        user_model = get_user_model()
        user, created = user_model._default_manager.get_or_create(
            **{user_model.USERNAME_FIELD: username}, defaults={"email": email}
        )
        user.email = email
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        self.stdout.write(f"{'Created' if created else 'Updated'} superuser {username!r}")
        if generated:
            self.stdout.write(f"password: {password}")
