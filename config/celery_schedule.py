"""Every periodic task in one place. Each entry expires, so a backlog never piles up."""

from celery.schedules import crontab

HOUR = 3600

BEAT_SCHEDULE = {
    "core.ping": {
        "task": "core.tasks.ping",
        "schedule": 15 * 60,
        "options": {"expires": 15 * 60},
    },
    "kpis.nightly-full-recompute": {
        "task": "kpis.tasks.recompute_all",
        "schedule": crontab(hour=2, minute=0),
        "options": {"expires": 3 * HOUR},
    },
    "kpis.sweep-dirty-rollups": {
        "task": "kpis.tasks.sweep_dirty_rollups",
        "schedule": 5 * 60,
        "options": {"expires": 5 * 60},
    },
    "core.prune-data-changes": {
        "task": "core.tasks.data_changes_prune",
        "schedule": 10 * 60,
        "options": {"expires": 10 * 60},
    },
    "territories.sweep-plan-diffs": {
        "task": "territories.tasks.plan_diffs_sweep",
        "schedule": 10 * 60,
        "options": {"expires": 10 * 60},
    },
    "territories.sweep-reassign-queue": {
        "task": "territories.tasks.reassign_pending_sweep",
        "schedule": 5 * 60,
        "options": {"expires": 5 * 60},
    },
}
