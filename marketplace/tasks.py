"""Celery tasks of the core. Both are thin: the logic lives in ``outbox`` and ``chronograph``
so that the sweep, the management command and the demo thread call exactly the same code."""

from celery import shared_task


@shared_task(name="marketplace.deliver_outbox", ignore_result=True)
def deliver_outbox(message_id: int) -> bool:
    from marketplace import outbox

    return outbox.deliver(message_id)


@shared_task(name="marketplace.run_due_jobs", ignore_result=True)
def run_due_jobs() -> list[dict]:
    from marketplace import chronograph

    return [{"name": r.name, "status": r.status, "error": r.error} for r in chronograph.tick()]
