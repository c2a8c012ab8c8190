"""django-arq's errors: the message they show, the job they name, and what they are besides."""

from __future__ import annotations

import pickle

import pytest

from django_arq.queues import exceptions as errors


def test_an_error_shows_its_message_and_names_its_job() -> None:
    error = errors.JobNotFound("no job 'a'", "a")
    assert (str(error), error.message, error.job_id, error.args) == (
        "no job 'a'",
        "no job 'a'",
        "a",
        ("no job 'a'",),
    )
    assert repr(error) == "JobNotFound(\"no job 'a'\")"
    assert errors.ArqJobError("anything").job_id is None


@pytest.mark.parametrize(
    "cls",
    [
        errors.InvalidJob,
        errors.JobNotFound,
        errors.JobNotQueued,
        errors.JobResultUnavailable,
        errors.RedisUnavailable,
    ],
)
def test_every_error_is_an_arq_job_error_that_survives_pickling(cls: type[errors.ArqJobError]) -> None:
    error = pickle.loads(pickle.dumps(cls("went wrong", "j1")))
    assert isinstance(error, errors.ArqJobError) and (str(error), error.job_id) == ("went wrong", "j1")


def test_an_invalid_job_is_also_a_value_error() -> None:
    assert isinstance(errors.InvalidJob("bad delay"), ValueError)


def test_the_ids_a_job_not_queued_names() -> None:
    assert errors.JobNotQueued("nothing").job_ids == ()
    one = errors.JobNotQueued("taken", "a")
    assert (one.job_id, one.job_ids) == ("a", ("a",))
    batch = errors.JobNotQueued("taken", "a", ("a", "b"))
    assert (batch.job_id, batch.job_ids, str(batch)) == ("a", ("a", "b"), "taken")
    assert errors.JobNotQueued("refused", job_ids=("x", "y")).job_ids == ("x", "y")
