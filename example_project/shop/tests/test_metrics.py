"""The shop's /metrics: what Prometheus scrapes from a web process, with its token."""

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families


def enqueued(client: Client) -> dict[str, float]:
    response = client.get("/metrics", headers={"Authorization": "Bearer scraper-token"})
    assert response.status_code == 200
    return {
        sample.name + str(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
        if sample.name
        in {"django_arq_jobs_enqueued_total", "django_arq_jobs_queued", "django_arq_jobs_deferred"}
    }


@pytest.mark.django_db(transaction=True)  # the order enqueues its jobs on commit
def test_an_order_shows_in_the_metrics(queue, user, mug, settings):
    settings.ARQ_METRICS_TOKENS = ["scraper-token"]
    scraper, shopper = Client(), Client()
    shopper.force_login(user)
    labels = str(sorted({"alias": "default", "queue": "shop:queue"}.items()))
    before = enqueued(scraper).get(f"django_arq_jobs_enqueued_total{labels}", 0)

    shopper.post("/shop/orders/", {"product": mug.pk, "quantity": 1, "email": "bob@example.com"})

    after = enqueued(scraper)
    assert after[f"django_arq_jobs_enqueued_total{labels}"] - before == 2  # the confirmation and the reminder
    assert after[f"django_arq_jobs_queued{labels}"] == 1
    assert after[f"django_arq_jobs_deferred{labels}"] == 1
    assert Client().get("/metrics").status_code == 401
