# The report job says how far it is with django_arq.report_progress: the field it kept is gone.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0001_initial"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="report",
            name="progress",
        ),
    ]
