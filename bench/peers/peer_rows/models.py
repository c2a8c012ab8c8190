from django.db import models


class Row(models.Model):
    """One row per insert job: the same model, the same ``create()``, in every system."""

    value = models.IntegerField()

    def __str__(self) -> str:
        return str(self.value)
