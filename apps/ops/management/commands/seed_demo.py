"""seed_demo: load the demo bank through the services, once.

Staff role groups and one staff user per role (password: settings.DEMO_PASSWORD), customers
with verified KYC (Chinese residents with valid resident ids, foreigners with passports, and
companies with valid unified social credit codes), their CNY and USD accounts, and about 90
days of history: deposits, withdrawals and transfers booked in chronological order, never
overdrawing. Everything is one database transaction, so a failed run leaves nothing behind;
a second run finds the `teller` user and changes nothing.

The data is deterministic for a given --seed (names, ids, amounts and times; account numbers
and public ids are random as always).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from stdnum.cn import ric, uscc

from apps.accounts.models import Account
from apps.accounts.services import MANDATE_APPROVE, MANDATE_INITIATE, account_freeze, account_open, mandate_grant
from apps.audit.services import audit_record
from apps.common.money import Money
from apps.common.principals import Actor, Channel
from apps.common.roles import ROLES, roles_sync
from apps.customers.identity import china_resident_id_for
from apps.customers.models import Customer, CustomerKind
from apps.customers.services import (
    customer_assign_relationship_manager,
    customer_create,
    customer_decide_kyc,
    customer_set_approval_threshold,
    portal_user_create,
)
from apps.support.services import faq_seed_defaults
from apps.transactions.services import deposit_create, transfer_create, withdrawal_create

SEED_ACTOR = Actor(label="system:seed", channel=Channel.SYSTEM)
MARKER_USERNAME = "teller"
HISTORY_DAYS = 90
LOCAL_TZ = ZoneInfo("Asia/Shanghai")

# --- staff -------------------------------------------------------------------------------

# Role groups and their permissions: apps/common/roles.py (roles_sync).
STAFF: list[tuple[str, str, str, str]] = [
    # username, group, first name, last name
    ("teller", "teller", "Na", "Li"),
    ("operations", "operations", "Wei", "Zhang"),
    ("relationship_manager", "relationship_manager", "Emma", "Walker"),
    ("risk_officer", "risk_officer", "Jun", "Chen"),
    ("compliance_officer", "compliance_officer", "Xiuying", "Wang"),
    ("auditor", "auditor", "Thomas", "Clarke"),
    ("admin", "administrator", "Min", "Zhao"),
]

# --- people and companies ----------------------------------------------------------------

SURNAMES = [
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("林", "lin"),
    ("罗", "luo"),
    ("高", "gao"),
]
GIVEN_NAMES = [
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("秀英", "xiuying"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("霞", "xia"),
    ("建华", "jianhua"),
    ("晓东", "xiaodong"),
    ("雨萱", "yuxuan"),
    ("子涵", "zihan"),
    ("浩然", "haoran"),
    ("欣怡", "xinyi"),
    ("思远", "siyuan"),
    ("佳怡", "jiayi"),
]
# Region codes that stdnum knows (Beijing, Shanghai and Tianjin ones for every birth year), with
# a street address in that district.
REGIONS = [
    ("110105", "北京市朝阳区建国路{n}号"),
    ("110108", "北京市海淀区中关村大街{n}号"),
    ("310104", "上海市徐汇区漕溪北路{n}号"),
    ("440106", "广州市天河区天河路{n}号"),
    ("330106", "杭州市西湖区文三路{n}号"),
    ("420106", "武汉市武昌区中南路{n}号"),
    ("320102", "南京市玄武区中山路{n}号"),
    ("370202", "青岛市市南区香港中路{n}号"),
    ("350203", "厦门市思明区鹭江道{n}号"),
    ("610113", "西安市雁塔区长安南路{n}号"),
    ("120101", "天津市和平区南京路{n}号"),
]
FIRST_NAMES = [
    "James",
    "Olivia",
    "William",
    "Emma",
    "Oliver",
    "Sophia",
    "Henry",
    "Charlotte",
    "Daniel",
    "Grace",
    "Michael",
    "Emily",
    "David",
    "Hannah",
    "Lucas",
    "Chloe",
]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Wilson",
    "Davies",
    "Evans",
    "Walker",
    "Wright",
    "Robinson",
    "Thompson",
    "Carter",
    "Mitchell",
    "Bennett",
]
# Country, passport number pattern (A: letter, 9: digit), phone prefix.
FOREIGN = [
    ("GB", "999999999", "+447700900"),
    ("US", "A99999999", "+1202555"),
    ("AU", "A9999999", "+61491570"),
    ("CA", "AA999999", "+1613555"),
    ("SG", "A9999999A", "+6581"),
    ("IE", "AA9999999", "+35385"),
]
COMPANIES = [
    ("北京云杉数据科技有限公司", "yunshan-data", "110108"),
    ("上海鼎泰国际贸易有限公司", "dingtai-trade", "310104"),
    ("杭州青禾餐饮管理有限公司", "qinghe-catering", "330106"),
    ("广州海岸线物流有限公司", "coastline-logistics", "440106"),
    ("Suzhou Evergreen Precision Machinery Co., Ltd.", "evergreen-machinery", "320102"),
    ("西安长安新能源科技有限公司", "changan-energy", "610113"),
    ("Xiamen Bluewave Software Co., Ltd.", "bluewave-software", "350203"),
    ("武汉江城医疗器械有限公司", "jiangcheng-medical", "420106"),
]

REFERENCES = {
    "deposit": ["Salary", "Cash deposit at branch", "Bonus", "Refund", "Rental income", "Cash deposit"],
    "corporate_deposit": ["Customer payment", "Invoice settlement", "Cash takings", "Capital injection"],
    "withdrawal": ["ATM withdrawal", "Cash withdrawal at branch", "ATM withdrawal", "Travel cash"],
    "transfer": ["Rent", "Dinner", "Loan repayment", "Gift", "School fees", "Shared bills", "Utilities"],
    "own_transfer": ["Savings", "Monthly savings", "Top-up"],
    "corporate_transfer": ["Payroll", "Supplier invoice", "Office rent", "Service fee"],
}


def _gb11714_check(body: str) -> str:
    """The check character of a 9-character organisation code (GB 11714)."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    value = 11 - sum(int(ch) * w for ch, w in zip(body, weights, strict=True)) % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def uscc_for(region: str, rng: random.Random) -> str:
    """A well-formed unified social credit code: enterprise ('91'), region, organisation code, check."""
    org = "".join(rng.choice("0123456789") for _ in range(8))
    body = f"91{region}{org}{_gb11714_check(org)}"
    return str(uscc.validate(body + uscc.calc_check_digit(body)))


def _fill(pattern: str, rng: random.Random) -> str:
    return "".join(
        rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") if ch == "A" else str(rng.randrange(10)) if ch == "9" else ch
        for ch in pattern
    )


@dataclass
class Profile:
    kind: str
    full_name: str
    country: str
    national_id: str
    date_of_birth: dt.date | None
    email: str
    phone: str
    address: str


def demo_profiles(count: int, rng: random.Random) -> list[Profile]:
    """`count` customers: about 10 % companies, 20 % foreigners, the rest Chinese residents."""
    corporate = min(len(COMPANIES), max(1, count // 10))
    foreign = count // 5
    chinese = count - corporate - foreign
    profiles: list[Profile] = []
    names = rng.sample([(s, g) for s in SURNAMES for g in GIVEN_NAMES], chinese)
    for n, ((surname, s_py), (given, g_py)) in enumerate(names, start=1):
        birth = dt.date(1955, 1, 1) + dt.timedelta(days=rng.randrange(48 * 365))
        serial = rng.randrange(1000)
        # stdnum knows when each region code came into use: only codes valid in the birth year.
        region, street = rng.choice(
            [(code, s) for code, s in REGIONS if ric.is_valid(china_resident_id_for(birth, serial, code))]
        )
        national_id = china_resident_id_for(birth, serial, region)
        phone = "+861" + rng.choice("3589") + "".join(str(rng.randrange(10)) for _ in range(9))
        profiles.append(
            Profile(
                kind=CustomerKind.INDIVIDUAL,
                full_name=surname + given,
                country="CN",
                national_id=national_id,
                date_of_birth=birth,
                email=f"{g_py}.{s_py}{n}@example.cn",
                phone=phone,
                address=street.format(n=rng.randrange(1, 300)),
            )
        )
    for n, (first, last) in enumerate(rng.sample([(f, s) for f in FIRST_NAMES for s in LAST_NAMES], foreign), 1):
        country, passport, phone_prefix = rng.choice(FOREIGN)
        birth = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(40 * 365))
        profiles.append(
            Profile(
                kind=CustomerKind.INDIVIDUAL,
                full_name=f"{first} {last}",
                country=country,
                national_id=_fill(passport, rng),
                date_of_birth=birth,
                email=f"{first.lower()}.{last.lower()}{n}@example.com",
                phone=phone_prefix + "".join(str(rng.randrange(10)) for _ in range(4)),
                address="",
            )
        )
    for name, slug, region in rng.sample(COMPANIES, corporate):
        profiles.append(
            Profile(
                kind=CustomerKind.CORPORATE,
                full_name=name,
                country="CN",
                national_id=uscc_for(region, rng),
                date_of_birth=None,
                email=f"finance@{slug}.example.cn",
                phone="+86400" + "".join(str(rng.randrange(10)) for _ in range(7)),
                address=dict(REGIONS)[region].format(n=rng.randrange(1, 300)),
            )
        )
    rng.shuffle(profiles)
    return profiles


# --- the command ---------------------------------------------------------------------------


@dataclass
class Book:
    """What the seed knows about an account while it books history (amounts in minor units)."""

    account: Account
    corporate: bool
    customer_id: int
    balance: int = 0


class Command(BaseCommand):
    help = "Load the demo bank (staff, customers, accounts, 90 days of history). Running it twice changes nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=50, help="How many customers (default 50).")
        parser.add_argument("--accounts", type=int, default=None, help="How many accounts (default 2 per customer).")
        parser.add_argument(
            "--transactions", type=int, default=1000, help="How many historical transactions (default 1000)."
        )
        parser.add_argument("--seed", type=int, default=2024, help="Random seed: the same seed, the same bank.")

    def handle(self, *args: Any, **options: Any) -> None:
        customers = options["customers"]
        accounts = options["accounts"] if options["accounts"] is not None else 2 * customers
        transactions = options["transactions"]
        if customers < 1 or accounts < 0 or transactions < 0:
            raise CommandError("--customers must be at least 1; --accounts and --transactions not negative")
        if not settings.DEMO_PASSWORD:
            raise CommandError("DEMO_PASSWORD is not set: the demo staff users need a password")
        if User.objects.filter(username=MARKER_USERNAME).exists():
            with transaction.atomic():
                added = faq_seed_defaults(actor=SEED_ACTOR)  # a bank loaded before the FAQ existed gets it
            if added:
                self.stdout.write(f"Demo bank already loaded: only the {added} missing FAQ entries were added.")
                return
            self.stdout.write(f"Demo bank already loaded (user '{MARKER_USERNAME}' exists): nothing changed.")
            return
        started = time.monotonic()
        rng = random.Random(options["seed"])  # noqa: S311 - demo data, deterministic on purpose
        with transaction.atomic():
            staff = self._staff()
            made = self._customers(customers, rng)
            managed = self._assign_relationship_manager(made)
            verified = [c for c in made if c.kyc_status == "verified"]
            books = self._accounts(verified, accounts, rng)
            kinds = self._history(books, transactions, rng)
            frozen = self._freeze_one(books, rng)
            portal = self._portal_logins(made, books)
            faq_entries = faq_seed_defaults(actor=SEED_ACTOR)  # the help assistant's FAQ (idempotent)
            audit_record(
                actor=SEED_ACTOR.label,
                action="demo.seed",
                detail={
                    "seed": options["seed"],
                    "customers": len(made),
                    "accounts": len(books),
                    "transactions": sum(kinds.values()),
                },
            )
        elapsed = time.monotonic() - started
        currencies = Counter(book.account.currency for book in books)
        corporate = sum(1 for c in made if c.kind == CustomerKind.CORPORATE)
        self.stdout.write(f"Demo bank loaded in {elapsed:.1f} s:")
        self.stdout.write(f"  staff users   {len(staff)} ({', '.join(staff)})")
        self.stdout.write(f"  relationship_manager looks after {managed} customers")
        self.stdout.write(
            f"  customers     {len(made)} ({len(verified)} KYC-verified, {len(made) - len(verified)} pending;"
            f" {corporate} corporate)"
        )
        self.stdout.write(
            f"  accounts      {len(books)} ("
            + ", ".join(f"{cur} {n}" for cur, n in sorted(currencies.items()))
            + f"; {frozen} frozen)"
        )
        self.stdout.write(
            f"  transactions  {sum(kinds.values())} over the last {HISTORY_DAYS} days ("
            + ", ".join(f"{n} {kind}s" for kind, n in sorted(kinds.items()))
            + ")"
        )
        self.stdout.write(f"  FAQ entries   {faq_entries} (the portal's help assistant answers from them)")
        self.stdout.write(f"  portal logins {len(portal)} ({', '.join(portal)})")
        self.stdout.write("Logins and URLs: manage.py demo_logins")

    # --- staff ---

    def _staff(self) -> list[str]:
        roles_sync()
        groups = {group.name: group for group in Group.objects.filter(name__in=ROLES)}
        usernames = []
        for username, group, first, last in STAFF:
            user = User(
                username=username,
                first_name=first,
                last_name=last,
                email=f"{username}@bank.example.cn",
                is_staff=True,
                is_superuser=username == "admin",
            )
            user.set_password(settings.DEMO_PASSWORD)
            user.save()
            user.groups.add(groups[group])
            usernames.append(username)
        audit_record(actor=SEED_ACTOR.label, action="staff.seed", detail={"users": usernames})
        return usernames

    def _portal_logins(self, customers: list[Customer], books: list[Book]) -> list[str]:
        """Portal logins (password DEMO_PASSWORD): `customer` for an individual; `clerk` (may
        initiate) and `director` (may also approve) for a company whose payments above
        10,000.00 need a second person."""
        active = {b.customer_id for b in books if b.account.status == "active"}
        by_customer: dict[int, list[Account]] = {}
        for book in books:
            by_customer.setdefault(book.customer_id, []).append(book.account)
        made: list[str] = []
        for kind, logins in (
            (CustomerKind.INDIVIDUAL, [("customer", ())]),
            (
                CustomerKind.CORPORATE,
                [("clerk", (MANDATE_INITIATE,)), ("director", (MANDATE_INITIATE, MANDATE_APPROVE))],
            ),
        ):
            customer = next(
                (c for c in customers if c.kind == kind and c.kyc_status == "verified" and c.pk in active), None
            )
            if customer is None:
                continue
            for username, rights in logins:
                user = User(username=username, email=f"{username}@customer.example.cn")
                user.set_password(settings.DEMO_PASSWORD)
                user.save()
                portal_user = portal_user_create(actor=SEED_ACTOR, customer=customer, user=user)
                if kind == CustomerKind.CORPORATE:
                    for account in by_customer[customer.pk]:
                        mandate_grant(actor=SEED_ACTOR, portal_user=portal_user, account=account, rights=rights)
                made.append(f"{username}: {customer.full_name}")
            if kind == CustomerKind.CORPORATE:
                currency = by_customer[customer.pk][0].currency
                customer_set_approval_threshold(
                    actor=SEED_ACTOR, customer=customer, threshold=Money(Decimal("10000.00"), currency)
                )
        return made

    @staticmethod
    def _assign_relationship_manager(customers: list[Customer]) -> int:
        """Every third customer is looked after by the demo relationship manager (who sees only them)."""
        manager = User.objects.get(username="relationship_manager")
        mine = customers[::3]
        for customer in mine:
            customer_assign_relationship_manager(actor=SEED_ACTOR, customer=customer, manager=manager)
        return len(mine)

    # --- customers and accounts ---

    def _customers(self, count: int, rng: random.Random) -> list[Customer]:
        profiles = demo_profiles(count, rng)
        pending = max(1, count // 25) if count >= 5 else 0
        pending_at = set(rng.sample(range(len(profiles)), pending))
        made = []
        for i, profile in enumerate(profiles):
            customer = customer_create(
                actor=SEED_ACTOR,
                kind=profile.kind,
                full_name=profile.full_name,
                national_id=profile.national_id,
                country=profile.country,
                date_of_birth=profile.date_of_birth,
                email=profile.email,
                phone=profile.phone,
                address=profile.address,
            )
            if i not in pending_at:
                customer = customer_decide_kyc(
                    actor=SEED_ACTOR, customer=customer, decision="verified", note="Demo data: documents checked"
                )
            made.append(customer)
        return made

    def _accounts(self, verified: list[Customer], target: int, rng: random.Random) -> list[Book]:
        """A CNY current account each; the rest of `target` as CNY savings and USD accounts."""
        wanted: list[tuple[Customer, str]] = [(c, "CURRENT-CNY") for c in verified]
        extras = [(c, "CURRENT-USD") for c in verified if c.kind == CustomerKind.CORPORATE]
        others = [(c, "SAVINGS-CNY") for c in verified] + [
            (c, "CURRENT-USD") for c in verified if c.kind != CustomerKind.CORPORATE
        ]
        rng.shuffle(others)
        extras += others + [(c, "SAVINGS-USD") for c in verified]
        wanted = (wanted + extras)[:target]
        wanted.sort(key=lambda pair: pair[0].pk)  # a customer's accounts get neighbouring ids
        books = []
        for customer, product in wanted:
            account = account_open(
                actor=SEED_ACTOR, customer=customer, currency=product.rsplit("-", 1)[1], product_code=product
            )
            books.append(
                Book(account=account, corporate=customer.kind == CustomerKind.CORPORATE, customer_id=customer.pk)
            )
        return books

    # --- history ---

    @staticmethod
    def _moment(rng: random.Random, day_from: int, day_to: int, now: dt.datetime) -> dt.datetime:
        """A time during local banking hours between `day_from` and `day_to` days ago, in the past."""
        day = (now - dt.timedelta(days=rng.randint(day_to, day_from))).astimezone(LOCAL_TZ).date()
        local = dt.datetime.combine(day, dt.time(8), tzinfo=LOCAL_TZ) + dt.timedelta(seconds=rng.randrange(12 * 3600))
        return min(local, now - dt.timedelta(minutes=rng.randint(5, 600)))

    @staticmethod
    def _cents(rng: random.Random, low: int, high: int) -> int:
        """A random amount between `low` and `high` major units, skewed towards round-ish small ones."""
        cents = rng.randint(low * 100, high * 100)
        if rng.random() < 0.5:
            cents -= cents % 10000  # whole hundreds
        return max(cents, 100)

    def _opening_cents(self, book: Book, rng: random.Random) -> int:
        usd = book.account.currency == "USD"
        if book.corporate:
            return self._cents(rng, 20_000, 300_000) if usd else self._cents(rng, 200_000, 2_000_000)
        return self._cents(rng, 500, 15_000) if usd else self._cents(rng, 3_000, 80_000)

    def _history(self, books: list[Book], count: int, rng: random.Random) -> Counter[str]:
        """Opening deposits in the first days, then random movements in time order."""
        now = timezone.now()
        plan: list[tuple[dt.datetime, str, Book | None]] = []
        openings = books[: min(count, len(books))]
        for opening in openings:
            plan.append((self._moment(rng, HISTORY_DAYS, HISTORY_DAYS - 4, now), "opening", opening))
        for _n in range(count - len(openings)):
            kind = rng.choices(["transfer", "deposit", "withdrawal"], weights=[45, 30, 25])[0]
            plan.append((self._moment(rng, HISTORY_DAYS - 5, 0, now), kind, None))
        plan.sort(key=lambda step: step[0])
        by_currency: dict[str, list[Book]] = {}
        for each in books:
            by_currency.setdefault(each.account.currency, []).append(each)
        kinds: Counter[str] = Counter()
        for when, kind, planned in plan:
            kinds[self._book(when, kind, planned, books, by_currency, rng)] += 1
        return kinds

    def _book(
        self,
        when: dt.datetime,
        kind: str,
        book: Book | None,
        books: list[Book],
        by_currency: dict[str, list[Book]],
        rng: random.Random,
    ) -> str:
        """Book one movement; a withdrawal or transfer that no funded account can make becomes a deposit."""
        funded = [b for b in books if b.balance >= 10_000]  # at least 100.00
        if kind in ("withdrawal", "transfer") and funded:
            source = rng.choice(funded)
            if kind == "withdrawal":
                cents = min(self._cents(rng, 100, 5_000), source.balance // 2)
                cents -= (cents % 10000) if cents >= 10000 else 0  # ATMs pay out hundreds
                self._withdraw(source, cents, when, rng)
                return "withdrawal"
            peers = [b for b in by_currency[source.account.currency] if b is not source]
            if peers:
                own = [b for b in peers if b.customer_id == source.customer_id]
                target = rng.choice(own) if own and rng.random() < 0.3 else rng.choice(peers)
                high = 50_000 if source.corporate else 8_000
                cents = min(self._cents(rng, 10, high), source.balance * 2 // 5)
                self._transfer(source, target, cents, when, rng)
                return "transfer"
        target = book or rng.choice(books)
        if kind == "opening":
            cents = self._opening_cents(target, rng)
        else:
            cents = self._cents(rng, 100, 60_000 if target.corporate else 12_000)
        refs = REFERENCES["corporate_deposit" if target.corporate else "deposit"]
        deposit_create(
            actor=SEED_ACTOR,
            account=target.account.public_id,
            money=self._money(cents, target),
            reference="Opening deposit" if kind == "opening" else rng.choice(refs),
            booked_at=when,
        )
        target.balance += cents
        return "deposit"

    @staticmethod
    def _money(cents: int, book: Book) -> Money:
        return Money(Decimal(cents).scaleb(-2), book.account.currency)

    def _withdraw(self, source: Book, cents: int, when: dt.datetime, rng: random.Random) -> None:
        assert 0 < cents <= source.balance
        withdrawal_create(
            actor=SEED_ACTOR,
            account=source.account.public_id,
            money=self._money(cents, source),
            reference=rng.choice(REFERENCES["withdrawal"]),
            booked_at=when,
        )
        source.balance -= cents

    def _transfer(self, source: Book, target: Book, cents: int, when: dt.datetime, rng: random.Random) -> None:
        assert 0 < cents <= source.balance
        if target.customer_id == source.customer_id:
            refs = REFERENCES["own_transfer"]
        else:
            refs = REFERENCES["corporate_transfer" if source.corporate else "transfer"]
        transfer_create(
            actor=SEED_ACTOR,
            from_account=source.account.public_id,
            to_account=target.account.public_id,
            money=self._money(cents, source),
            reference=rng.choice(refs),
            booked_at=when,
        )
        source.balance -= cents
        target.balance += cents

    @staticmethod
    def _freeze_one(books: list[Book], rng: random.Random) -> int:
        """One account frozen after its history, so the back office has something to look at."""
        if len(books) < 10:
            return 0
        book = rng.choice([b for b in books if not b.corporate])
        account_freeze(actor=SEED_ACTOR, account=book.account, reason="Customer reported a lost card")
        return 1
