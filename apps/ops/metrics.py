"""Gauges computed at scrape time: Celery queue depth, worker heartbeat age, the outbox backlog,
emergency switches (registered with apps.common.metrics.register_scrape_gauge)."""

from __future__ import annotations

import functools

import redis
from django.conf import settings

from apps.common.controls import controls_load
from apps.common.heartbeat import heartbeat_age
from apps.common.metrics import register_scrape_gauge
from apps.integrations.selectors import outbox_backlog

# kombu's Redis transport keeps a queue as a list under its name, plus one list per priority
# step (used only when tasks are sent with a priority).
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)


@functools.lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def redis_client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def celery_queue_depth() -> dict[tuple[str, ...], float] | None:
    if not settings.REDIS_URL:
        return None  # eager: there is no queue
    queue = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
    keys = [queue, *(f"{queue}{_PRIORITY_SEPARATOR}{step}" for step in _PRIORITY_STEPS)]
    with redis_client().pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.llen(key)
        lengths = pipe.execute()
    return {(queue,): float(sum(lengths))}


def worker_heartbeat_age() -> float | None:
    if not settings.REDIS_URL:
        return None
    return heartbeat_age()


def emergency_controls_active() -> dict[tuple[str, ...], float]:
    controls = controls_load()
    return {
        ("payments_stopped",): float(controls.payments_stopped),
        ("read_only",): float(controls.read_only),
        ("customer_frozen",): float(len(controls.frozen_customers)),
    }


def register_ops_gauges() -> None:
    register_scrape_gauge(
        "finsys_celery_queue_depth", "Tasks waiting in the Celery queue (Redis LLEN).", celery_queue_depth, ("queue",)
    )
    register_scrape_gauge(
        "finsys_worker_heartbeat_age_seconds",
        "Seconds since a Celery worker last ran the beat-scheduled heartbeat task; absent if it never did.",
        worker_heartbeat_age,
    )
    register_scrape_gauge(
        "finsys_outbox_backlog",
        "Outbox work not done yet: events not relayed plus deliveries pending (webhooks, e-mail, SMS).",
        outbox_backlog,
    )
    register_scrape_gauge(
        "finsys_emergency_controls_active",
        "Emergency controls switched on, by kind (customer_frozen: how many customers).",
        emergency_controls_active,
        ("kind",),
    )
