#!/usr/bin/env python
"""Django's command-line utility for the django-arq example project."""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Run against this checkout's django_arq, whether or not it is pip-installed.
sys.path[:0] = [str(HERE), str(HERE.parent)]

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
