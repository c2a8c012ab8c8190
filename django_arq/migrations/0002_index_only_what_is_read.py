"""Fewer index entries per record: the unique (job_id, alias) also serves lookups by job id, and
finish_time and retry_of are indexed only where set. New indexes first, then the old ones go."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("django_arq", "0001_initial"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="jobrecord",
            constraint=models.UniqueConstraint(
                fields=("job_id", "alias"), name="django_arq_unique_job_id_alias"
            ),
        ),
        migrations.AddIndex(
            model_name="jobrecord",
            index=models.Index(
                condition=models.Q(("finish_time__isnull", False)),
                fields=["finish_time"],
                name="django_arq_finished_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="jobrecord",
            index=models.Index(
                condition=models.Q(("retry_of__isnull", False)),
                fields=["retry_of"],
                name="django_arq_retry_of_idx",
            ),
        ),
        migrations.RemoveConstraint(model_name="jobrecord", name="django_arq_unique_alias_job_id"),
        migrations.RemoveIndex(model_name="jobrecord", name="django_arq_job_id_idx"),
        migrations.RemoveIndex(model_name="jobrecord", name="django_arq_finish_idx"),
        migrations.AlterField(
            model_name="jobrecord",
            name="retry_of",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="retries",
                to="django_arq.jobrecord",
                verbose_name="retry of",
            ),
        ),
    ]
