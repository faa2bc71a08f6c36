"""Celery beat's schedule. Settings (production) import it:

    from marketplace.celery_schedule import CELERY_BEAT_SCHEDULE  # noqa: F401

The chronograph decides which jobs are due; beat only has to tick it often enough. ``expires``
drops ticks that waited in the queue longer than one period (a backlog of ticks is useless).
"""

CHRONOGRAPH_TICK_SECONDS = 30.0

CELERY_BEAT_SCHEDULE = {
    "marketplace-chronograph": {
        "task": "marketplace.run_due_jobs",
        "schedule": CHRONOGRAPH_TICK_SECONDS,
        "options": {"expires": CHRONOGRAPH_TICK_SECONDS},
    },
}
