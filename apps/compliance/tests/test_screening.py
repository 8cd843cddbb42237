import time
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.accounts.models import Hold
from apps.audit.models import AuditEvent
from apps.compliance.aml import name_screen, screening_outcome
from apps.compliance.models import Case, CaseKind, Watchlist, WatchlistEntry
from apps.transactions.models import Payment
from apps.transactions.screening import ScreeningOutcome

DATA = Path(__file__).parent / "data"


@pytest.fixture
def lists(db):
    call_command("import_watchlist", "--format", "un", str(DATA / "un_consolidated_sample.xml"), stdout=StringIO())
    call_command(
        "import_watchlist", "--format", "ofac", str(DATA / "sdn.csv"), "--alt", str(DATA / "alt.csv"), stdout=StringIO()
    )
    call_command("import_watchlist", "--format", "csv", str(DATA / "internal.csv"), stdout=StringIO())


def _best(name):
    found = name_screen(name)
    return (found[0].entry.name, screening_outcome(found)) if found else (None, ScreeningOutcome.ALLOW)


@pytest.mark.parametrize(
    ("name", "listed", "outcome"),
    [
        # exact, whatever the case and punctuation
        ("Aiman Muhammed Rabi al-Zawahiri", "AIMAN MUHAMMED RABI AL-ZAWAHIRI", ScreeningOutcome.BLOCK),
        ("ESCOBAR GAVIRIA, Pablo", "ESCOBAR GAVIRIA, Pablo", ScreeningOutcome.BLOCK),
        # reordered
        ("Pablo Escobar Gaviria", "ESCOBAR GAVIRIA, Pablo", ScreeningOutcome.BLOCK),
        ("Jong Un Kim", "KIM, Jong Un", ScreeningOutcome.BLOCK),
        # transliterated: another romanisation, or Chinese characters against pinyin
        ("Muamar Kadafi", "MUAMMAR MOHAMMED ABU MINYAR QADHAFI", ScreeningOutcome.BLOCK),
        ("Moammar Gadhafi", "MUAMMAR MOHAMMED ABU MINYAR QADHAFI", ScreeningOutcome.REVIEW),
        ("Xiaoming Wang", "王小明", ScreeningOutcome.BLOCK),
        ("王小明", "王小明", ScreeningOutcome.BLOCK),
        ("张卫国", "ZHANG, Wei Guo", ScreeningOutcome.BLOCK),
        ("Weiguo Zhang", "ZHANG, Wei Guo", ScreeningOutcome.BLOCK),
        # misspelt
        ("Aiman Muhamed Rabi al-Zawahri", "AIMAN MUHAMMED RABI AL-ZAWAHIRI", ScreeningOutcome.BLOCK),
        ("Olga Petrovna Smirnowa", "Olga Petrovna Smirnova", ScreeningOutcome.REVIEW),
        ("Wang Xiaomin", "王小明", ScreeningOutcome.REVIEW),
        # an entity under an alias
        ("Aero Caribbean", "AEROCARIBBEAN AIRLINES", ScreeningOutcome.BLOCK),
    ],
)
def test_listed_names_are_found(lists, name, listed, outcome):
    assert _best(name) == (listed, outcome)


NEAR_MISSES = [
    "John Smith",
    "Maria Garcia",
    "Li Wei",
    "Wang Wei",
    "Zhang Wei",
    "Wang Fang",
    "Mohammed Ali",
    "Muhammad Khan",
    "Ahmed Hassan",
    "Olga Ivanova",
    "Pablo Martinez",
    "Kim Min-jun",
    "Wang Xiaohong",
    "Zhang Weiming",
    "李伟",
    "王芳",
    "Caribbean Airlines",
    "Anglo American",
    "Jose Gavilan",
    "Smirnov Trading",
]


@pytest.mark.parametrize("name", NEAR_MISSES)
def test_common_names_near_listed_ones_are_not_flagged(lists, name):
    assert name_screen(name) == []


def test_one_name_is_screened_quickly_once_the_index_is_built(lists):
    name_screen("warm up")
    started = time.perf_counter()
    for _ in range(20):
        name_screen("Pablo Escobar Gaviria")
    assert (time.perf_counter() - started) / 20 < 0.05


def test_the_same_file_twice_changes_nothing(lists):
    before = list(WatchlistEntry.objects.order_by("pk").values_list("pk", "name"))
    events = AuditEvent.objects.filter(action="watchlist.import").count()
    out = StringIO()
    call_command("import_watchlist", "--format", "csv", str(DATA / "internal.csv"), stdout=out)
    assert "unchanged" in out.getvalue()
    assert list(WatchlistEntry.objects.order_by("pk").values_list("pk", "name")) == before
    assert AuditEvent.objects.filter(action="watchlist.import").count() == events


def test_an_update_adds_changes_and_removes_entries(lists, tmp_path):
    update = tmp_path / "internal.csv"
    update.write_text(
        "name,aliases,country,birth_date,list_id\n"
        "王小明,Wang Xiaoming,CN,1980-05-04,INT-0001\n"
        "Ivan Ivanovich Petrov,,RU,,INT-0004\n",
        encoding="utf-8",
    )
    out = StringIO()
    call_command("import_watchlist", "--format", "csv", str(update), stdout=out)
    assert "added 1, updated 1, removed 2" in out.getvalue()
    internal = Watchlist.objects.get(name="internal")
    assert sorted(internal.entries.values_list("ref", flat=True)) == ["INT-0001", "INT-0004"]
    assert internal.entry_count == 2
    assert name_screen("Olga Petrovna Smirnova") == []  # the in-process index follows the new version
    assert _best("Petrov Ivan Ivanovich")[0] == "Ivan Ivanovich Petrov"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--format", "un", "missing.xml"], "no such file"),
        (["--format", "un", str(DATA / "sdn.csv")], "not a readable XML"),
        (["--format", "csv", str(DATA / "sdn.csv")], "header"),
        (["--format", "csv", str(DATA / "internal.csv"), "--alt", str(DATA / "alt.csv")], "only for the OFAC"),
    ],
)
def test_a_bad_import_stops_with_a_reason_and_stores_nothing(db, args, reason):
    with pytest.raises(CommandError, match=reason):
        call_command("import_watchlist", *args, stdout=StringIO())
    assert not Watchlist.objects.exists()
    assert not WatchlistEntry.objects.exists()


def test_import_command_exits_non_zero_with_one_line_on_stderr(tmp_path):
    import subprocess
    import sys

    from django.conf import settings

    bad = tmp_path / "bad.csv"
    bad.write_text("nope\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "import_watchlist", "--format", "csv", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0
    assert "header" in done.stderr


def test_onboarding_a_listed_customer_opens_a_case(lists, make_customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        listed = make_customer(name="Pablo Escobar Gaviria")
    with django_capture_on_commit_callbacks(execute=True):
        make_customer(name="Maria Garcia")
    case = Case.objects.get()
    assert (case.kind, case.customer_id, case.status) == (CaseKind.SCREENING_HIT, listed.pk, "open")
    assert case.detail["matches"][0]["name"] == "ESCOBAR GAVIRIA, Pablo"
    assert AuditEvent.objects.filter(action="case.open", object_id=str(case.public_id)).exists()


def test_a_name_change_is_screened_again(lists, make_customer, django_capture_on_commit_callbacks):
    from apps.common.principals import SYSTEM_ACTOR
    from apps.customers.services import customer_rename

    customer = make_customer(name="Olga Ivanova")
    assert not Case.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        customer_rename(actor=SYSTEM_ACTOR, customer=customer, full_name="Olga Petrovna Smirnova", reason="marriage")
    assert Case.objects.get().customer_id == customer.pk


def test_a_list_update_rescreens_every_customer_once(db, make_customer, django_capture_on_commit_callbacks):
    existing = make_customer(name="Kim Jong Un")
    make_customer(name="John Smith")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_watchlist", "--format", "ofac", str(DATA / "sdn.csv"), stdout=StringIO())
    assert list(Case.objects.values_list("customer_id", flat=True)) == [existing.pk]
    # A second re-screen does not open the same case again while it is open.
    from apps.compliance.aml import customers_rescreen

    assert customers_rescreen() == 0
    assert Case.objects.count() == 1


def _pay(api, account, name, country="CN"):
    return api.post(
        "/api/v1/payments/",
        {
            "from_account": str(account.public_id),
            "amount": "100.00",
            "currency": "CNY",
            "beneficiary": {
                "name": name,
                "account_number": "6222020200112233",
                "bank_code": "ICBKCNBJ",
                "country": country,
            },
        },
    )


def test_a_payment_to_a_listed_beneficiary_is_refused_and_nothing_is_stored(lists, api, make_account):
    account = make_account(balance="1000")
    response = _pay(api, account, "Kim Jong-un", country="KP")
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "blocked_by_screening"
    account.refresh_from_db()
    assert (account.balance, account.available) == (Decimal("1000"), Decimal("1000"))
    assert not Payment.objects.exists()
    assert not Hold.objects.filter(account=account).exists()


def test_a_payment_in_the_review_band_waits_with_a_case(lists, api, make_account, django_capture_on_commit_callbacks):
    account = make_account(balance="1000")
    with django_capture_on_commit_callbacks(execute=True):
        response = _pay(api, account, "Olga Petrovna Smirnowa", country="RU")
    assert response.status_code == 202, response.content
    payment = Payment.objects.get()
    assert payment.status == "pending_approval"
    case = Case.objects.get()
    assert (case.payment_id, case.customer_id, case.kind) == (payment.pk, account.customer_id, CaseKind.SCREENING_HIT)
    account.refresh_from_db()
    assert account.available == Decimal("1000")  # nothing held until a person releases it


def test_a_payment_to_an_unlisted_beneficiary_goes_through(lists, api, make_account):
    account = make_account(balance="1000")
    response = _pay(api, account, "Li Wei")
    assert response.status_code == 202, response.content
    assert Payment.objects.get().status != "pending_approval"
    assert not Case.objects.exists()
