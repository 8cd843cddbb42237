"""Row locks taken in one global order (ascending primary key), so lockers never deadlock."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


def lock_by_pk(queryset: models.QuerySet[M], pks: Iterable[int]) -> dict[int, M]:
    """SELECT ... FOR UPDATE the rows with these primary keys, in ascending order.

    Must run inside a transaction. Returns the locked rows by primary key; a missing pk is
    simply absent from the result.
    """
    wanted = sorted(set(pks))
    rows = queryset.select_for_update().filter(pk__in=wanted).order_by("pk")
    return {row.pk: row for row in rows}
