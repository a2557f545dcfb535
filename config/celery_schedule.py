"""Every periodic task in one place. Each entry expires, so a backlog never piles up."""

HOUR = 3600

BEAT_SCHEDULE = {
    "core.ping": {
        "task": "core.tasks.ping",
        "schedule": 15 * 60,
        "options": {"expires": 15 * 60},
    },
}
