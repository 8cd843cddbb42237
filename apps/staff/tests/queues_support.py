"""Helpers of the back-office queue tests: staff users of a role with a verified session."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User

from tests.support import verified_staff_client

PASSWORD = "Back-office-2026!"  # test users only


def staff_user(role: str, username: str | None = None, password: str = PASSWORD) -> User:
    user = User.objects.create_user(username=username or f"{role}-1", password=password, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def client_of(role: str, username: str | None = None) -> tuple[User, Any]:
    """A user of `role` and a test client of theirs past both factors."""
    user = staff_user(role, username)
    return user, verified_staff_client(user)


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []
