"""README "Enqueue from a view": a sync and an async view (tests/docs run them, and README's copies)."""

from django.http import JsonResponse
from django.views.decorators.http import require_POST

from django_arq import get_queue


@require_POST
def welcome(request):
    """A sync view: every queue call has a blocking ``*_sync`` twin."""
    job = get_queue().enqueue_sync("myapp.jobs.send_welcome", request.POST["email"])
    return JsonResponse({"job_id": job.id, "status": job.status.value}, status=202)


@require_POST
async def count(request):
    """An async view: await the queue."""
    job = await get_queue().enqueue("myapp.jobs.count_words", request.POST.get("text", ""))
    return JsonResponse({"job_id": job.id, "status": job.status.value}, status=202)
