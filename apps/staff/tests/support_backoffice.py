"""Helpers of the back-office tests: staff users of a role, with a session past both factors."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import Group, User
from django.test import Client

from apps.common.roles import roles_sync
from tests.support import verified_staff_client


def staff_user(role: str, username: str | None = None) -> User:
    if not Group.objects.filter(name=role).exists():
        roles_sync()
    user = User.objects.create_user(username or f"{role}-user", password="Back-office-2026!", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def client_of(role: str, username: str | None = None) -> tuple[User, Client]:
    user = staff_user(role, username)
    return user, verified_staff_client(user)


def form_token(response: Any) -> str:
    found = re.search(r'name="form_token" value="([0-9a-f-]{36})"', response.content.decode())
    assert found, "the form carries no one-time token"
    return found.group(1)


def page_messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []
