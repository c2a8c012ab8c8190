"""README "A job function": the tutorial app's jobs (tests/docs run them, in a worker and directly)."""


async def send_welcome(ctx, email):
    """An async job: it runs on the worker's event loop, so it may await (the async ORM, HTTP, ...)."""
    # ctx is arq's job context: ctx["job_id"], ctx["job_try"] (1, then 2, ... when retried),
    # ctx["enqueue_time"], ctx["redis"] (the worker's Redis pool) and ctx["alias"] (the ARQ_QUEUES alias).
    print(f"job {ctx['job_id']}, try {ctx['job_try']}: welcome mail to {email}")
    return {"sent_to": email}


def count_words(ctx, text):
    """A sync job: the worker runs it in a thread, with Django's database connection clean-up around it."""
    return len(text.split())
