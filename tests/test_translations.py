"""Every user-facing string ships in zh-hans and en, and the API answers in the caller's language."""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ("zh_Hans", "en")
SOURCES = ("apps", "finsys", "templates", "manage.py")

needs_gettext = pytest.mark.skipif(
    shutil.which("msgfmt") is None, reason="needs GNU gettext (msgfmt): apt-get install gettext (CI does)"
)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def _msgids(po_text: str) -> set[str]:
    ids = set()
    for block in po_text.split("\n\n"):
        if block.lstrip().startswith("#~"):
            continue
        match = re.search(r'^msgid ((?:".*"\n?)+)', block, re.MULTILINE)
        if match:
            text = _unescape("".join(re.findall(r'"(.*)"', match.group(1))))
            if text:
                ids.add(text)
    return ids


@needs_gettext
def test_zh_hans_catalogue_has_no_untranslated_or_fuzzy_entries() -> None:
    po = ROOT / "locale/zh_Hans/LC_MESSAGES/django.po"
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr
    assert "fuzzy" not in result.stderr


@needs_gettext
def test_catalogues_hold_every_marked_string(tmp_path: Path) -> None:
    """makemessages on a copy of the sources finds no string the committed catalogues lack."""
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, tmp_path / name, ignore=shutil.ignore_patterns("tests", "__pycache__", "migrations")
            )
        elif source.exists():
            shutil.copy(source, tmp_path / name)
    (tmp_path / "locale").mkdir()
    subprocess.run(
        [
            sys.executable,
            str(tmp_path / "manage.py"),
            "makemessages",
            "--no-location",
            *[f"-l{code}" for code in LOCALES],
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "finsys.settings.test", "PYTHONPATH": str(tmp_path)},
    )
    for code in LOCALES:
        fresh = _msgids((tmp_path / f"locale/{code}/LC_MESSAGES/django.po").read_text())
        shipped = _msgids((ROOT / f"locale/{code}/LC_MESSAGES/django.po").read_text())
        assert fresh - shipped == set(), f"run 'make messages': {code} lacks {sorted(fresh - shipped)[:10]}"


def test_compiled_catalogues_match_their_sources() -> None:
    for code in LOCALES:
        po = ROOT / f"locale/{code}/LC_MESSAGES/django.po"
        with (ROOT / f"locale/{code}/LC_MESSAGES/django.mo").open("rb") as handle:
            compiled = gettext.GNUTranslations(handle)
        for msgid in _msgids(po.read_text()):
            if code == "zh_Hans" and "%(" not in msgid:
                assert compiled.gettext(msgid) != msgid or not re.search("[A-Za-z]", msgid), f"stale .mo: {msgid!r}"


def test_api_problems_speak_the_callers_language(api, make_account) -> None:
    account = make_account(balance="10")
    body = {"account": str(account.public_id), "amount": "20.00", "currency": "CNY"}
    api.http.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    refused = api.post("/api/v1/withdrawals/", body)
    assert refused.status_code == 422
    assert refused.json()["code"] == "insufficient_funds"
    assert refused.json()["title"] == "余额不足"
    api.http.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert api.post("/api/v1/withdrawals/", body).json()["title"] == "Insufficient funds"
