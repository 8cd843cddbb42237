"""The help assistant: answers a portal user's question without any outside service.

What it does, in order (each step is a plain rule; the answer says which one fired):

1. Small talk (greeting, thanks) gets a short reply; an explicit wish to talk to a person hands
   over at once.
2. Questions about the customer's own money - "my balance" / "我的余额", "last five payments" /
   "最近五笔付款" - are answered from the accounts this portal user may see (the portal passes
   them: an individual's own accounts, a corporate user's mandated ones), and from nothing else.
3. Everything else is matched against the published FAQ. Each entry's questions and keywords are
   compared with the question in three spellings: characters, full pinyin and pinyin initials, so
   "zhuanzhang", "zz" and the typo "转帐" (a homophone of 转账) all find the transfer entry;
   English words are matched with typos tolerated (rapidfuzz). The best entry's score is 0-100.
4. Below FAQ_THRESHOLD the assistant is not sure: it hands over to a person - a Ticket with the
   conversation so far - and says so.

`assistant_reply` returns an `Answer` with the intent, the score and the matched entry, so tests
and the page can show why it answered as it did.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from pypinyin import Style, lazy_pinyin
from rapidfuzz import fuzz

from apps.accounts.models import Account
from apps.common.money import format_amount
from apps.common.principals import Actor
from apps.customers.models import PortalUser
from apps.support.models import FaqEntry, Ticket, TicketKind
from apps.support.selectors import faq_published, handovers_since, own_recent_postings
from apps.support.services import ticket_create

FAQ_THRESHOLD = 72.0  # an FAQ answer needs at least this score; below it, a person answers
HANDOVERS_PER_HOUR = 5  # a login opens at most this many handover tickets an hour (no flooding)
QUESTION_MAX = 500
DEFAULT_COUNT = 5
MAX_COUNT = 20

INTENT_EMPTY = "empty"
INTENT_GREETING = "greeting"
INTENT_THANKS = "thanks"
INTENT_BALANCE = "balance"
INTENT_RECENT = "recent_transactions"
INTENT_FAQ = "faq"
INTENT_HANDOVER = "handover"

# --- text in three spellings ------------------------------------------------------------------

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_NOT_WORD = re.compile(r"[^\w\u3400-\u4dbf\u4e00-\u9fff]+")
EN_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "i",
        "me",
        "my",
        "mine",
        "we",
        "our",
        "you",
        "your",
        "it",
        "its",
        "is",
        "are",
        "am",
        "was",
        "be",
        "been",
        "do",
        "does",
        "did",
        "how",
        "what",
        "when",
        "where",
        "why",
        "which",
        "who",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "with",
        "about",
        "and",
        "or",
        "not",
        "no",
        "please",
        "there",
        "this",
        "that",
        "these",
        "those",
        "have",
        "has",
        "had",
        "get",
        "got",
        "any",
        "some",
        "much",
        "many",
        "tell",
        "want",
        "need",
        "account",
        "accounts",
        "bank",
    ]  # too common in banking questions to point anywhere
)
ZH_FILLERS = (
    "请问",
    "你好",
    "您好",
    "我想",
    "我要",
    "怎么",
    "如何",
    "怎样",
    "为什么",
    "什么",
    "吗",
    "呢",
    "吧",
    "啊",
    "了",
)


def normalize(text: str) -> str:
    """NFKC (full-width to half-width), lower case, punctuation to spaces, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(_NOT_WORD.sub(" ", text).split())


@dataclass(frozen=True)
class Spelling:
    """A text as characters, full pinyin and pinyin initials (the last two only with Chinese)."""

    chars: str
    compact: str
    pinyin: str
    initials: str
    has_han: bool
    words: tuple[str, ...]


@lru_cache(maxsize=4096)
def spell(text: str) -> Spelling:
    chars = normalize(text)
    compact = chars.replace(" ", "")
    has_han = bool(_HAN.search(compact))
    pinyin = initials = ""
    if has_han:
        pinyin = "".join(lazy_pinyin(compact))
        if all(_HAN.match(ch) for ch in compact):
            initials = "".join(lazy_pinyin(compact, style=Style.FIRST_LETTER))
    words = tuple(w for w in chars.split() if w.isascii() and w not in EN_STOPWORDS)
    return Spelling(chars, compact, pinyin, initials, has_han, words)


def _ascii_letters(s: Spelling) -> bool:
    return bool(s.compact) and s.compact.isascii() and s.compact.isalpha()


def _phrase_score(q: Spelling, p: Spelling, *, keyword: bool) -> tuple[float, str]:
    """How well the question matches one phrase (a question or a keyword), 0-100, and how."""
    if not p.compact:
        return 0.0, ""
    best: tuple[float, str] = (0.0, "")

    def take(score: float, via: str) -> None:
        nonlocal best
        if score > best[0]:
            best = (score, via)

    if q.compact == p.compact:
        return 100.0, "text"
    # characters: whole-text similarity; a Chinese question may match part of a longer text
    take(fuzz.ratio(q.chars, p.chars), "text")
    if q.has_han and p.has_han and len(q.compact) >= 3 and len(p.compact) > len(q.compact):
        take(fuzz.partial_ratio(q.compact, p.compact) * 0.9, "text")
    if p.has_han:
        if q.has_han:
            take(fuzz.ratio(q.pinyin, p.pinyin), "pinyin")  # homophone typos: 转帐 ~ 转账
        elif _ascii_letters(q):
            take(fuzz.ratio(q.compact, p.pinyin), "pinyin")  # typed in pinyin: zhuanzhang
            if len(q.compact) >= 2 and q.compact == p.initials:
                take(100.0, "initials")  # typed in initials: zz
    if keyword:
        # a keyword inside a longer question: 转账 in 我想转账, "fee" in "is there a fee"
        if (p.has_han and len(p.compact) >= 2 and p.compact in q.compact) or (
            not p.has_han and len(p.compact) >= 3 and re.search(rf"(?<!\w){re.escape(p.chars)}(?!\w)", q.chars)
        ):
            take(100.0, "keyword")
        if p.has_han and len(p.pinyin) >= 4:
            if q.has_han and p.pinyin in q.pinyin:
                take(96.0, "pinyin")  # a homophone typo inside a sentence: 我想转帐
            elif not q.has_han and p.pinyin in q.compact:
                take(96.0, "pinyin")  # pinyin inside a sentence: "wo xiang zhuanzhang"
        if not p.has_han and len(p.compact) >= 5:
            # a keyword with a typo among the question's words: "pasword" in "pasword reset"
            words, size = q.chars.split(), len(p.chars.split())
            for start in range(max(0, len(words) - size) + 1):
                similar = fuzz.ratio(" ".join(words[start : start + size]), p.chars)
                if similar >= 85:
                    take(similar * 0.97, "keyword")
    return best


def _words_score(q: Spelling, pool: set[str]) -> float:
    """The share of the question's English content words found (typos tolerated) among an
    entry's words (its English question and keywords), 0-100."""
    if not q.words or not pool:
        return 0.0
    found = sum(1 for w in q.words if w in pool or any(fuzz.ratio(w, pw) >= 85 for pw in pool))
    return 100.0 * found / len(q.words)


@dataclass(frozen=True)
class FaqMatch:
    entry: FaqEntry
    score: float
    via: str  # text | pinyin | initials | keyword | words
    phrase: str


def faq_match(question: str, entries: list[FaqEntry] | None = None) -> list[FaqMatch]:
    """Every published entry scored against the question, best first."""
    q = spell(_strip_fillers(question))
    if not q.compact:
        return []
    matches = []
    for entry in faq_published() if entries is None else entries:
        phrases = [(entry.question_en, False), (entry.question_zh, False)]
        phrases += [(word, True) for word in entry.keyword_list()]
        best = (0.0, "", "")
        fit = 0.0  # how well the other phrases fit too: decides between equally good entries
        pool: set[str] = set()
        for text, keyword in phrases:
            spelling = spell(text)
            pool.update(spelling.words)
            score, via = _phrase_score(q, spelling, keyword=keyword)
            if (score, len(text)) > (best[0], len(best[2])):
                best = (score, via, text)
            fit += score
        words = _words_score(q, pool)
        if words > best[0]:
            best = (words, "words", entry.question_en)
        if best[0] > 0:
            # among equal scores the longer matched phrase wins ("where is my payment" over "payment")
            key = (round(best[0], 1), len(spell(best[2]).compact) if best[1] != "words" else 0, fit)
            matches.append((key, FaqMatch(entry, round(best[0], 1), best[1], best[2])))
    matches.sort(key=lambda m: (m[0], -m[1].entry.position), reverse=True)
    return [m[1] for m in matches]


def _strip_fillers(question: str) -> str:
    text = question
    for filler in ZH_FILLERS:
        text = text.replace(filler, " ")
    return text if normalize(text) else question


# --- own-account intents ----------------------------------------------------------------------

_BALANCE = (
    re.compile(r"\b(balances?|how much (money )?(do i have|is (there )?(in|on|left)|have i got))\b"),
    re.compile(r"余额|还有多少钱|有多少钱|剩多少钱|存款有多少"),
)
_RECENT = (
    re.compile(
        r"\b(last|latest|recent|previous)\b.*\b(payments?|transactions?|transfers?|movements?|spending|debits?)\b"
        r"|\b(payment|transaction|account) history\b"
    ),
    re.compile(
        r"(最近|近期|最后|[上前][一二两三四五六七八九十几\d])[^，。？?]{0,6}(付款|支付|交易|转账|支出|流水|消费|明细)|(交易|付款|转账)记录"
    ),
)
_OUTGOING = re.compile(r"payment|spending|debit|付款|支付|支出|消费")
_HANDOVER = (
    re.compile(
        r"\b(talk|speak|chat|connect)\b.*\b(human|person|agent|someone|staff|representative|operator)\b"
        r"|\b(real person|human agent|customer service)\b"
    ),
    re.compile(r"人工|真人|客服人员|转客服|找客服"),
)
_GREETING = re.compile(r"^(hi|hello|hey|good (morning|afternoon|evening)|你好|您好|嗨|哈喽|在吗)$")
_THANKS = re.compile(r"^(thanks?( you)?( very much)?|thx|ok thanks|谢谢(你|您)?|多谢|感谢)$")
_EN_NUMBERS = {
    w: n for n, w in enumerate(["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"], start=1)
}
_ZH_NUMBERS = {ch: n for n, ch in enumerate("一二三四五六七八九十", start=1)} | {"两": 2, "俩": 2}


def _count(text: str) -> int:
    """How many items the question asks for ("last 3", "five", "五笔"), DEFAULT_COUNT when unsaid."""
    match = re.search(r"\d{1,3}", text)
    if match:
        return max(1, min(MAX_COUNT, int(match.group())))
    for word in text.split():
        if word in _EN_NUMBERS:
            return _EN_NUMBERS[word]
    match = re.search(r"([一二两俩三四五六七八九十])\s*(笔|条|次|个)", text)
    if match:
        return _ZH_NUMBERS[match.group(1)]
    return DEFAULT_COUNT


def _matches(rules: tuple[re.Pattern[str], ...], text: str) -> bool:
    return any(rule.search(text) for rule in rules)


def detect_intent(question: str) -> str:
    """The rule-based intent of a question; INTENT_FAQ when no rule fires."""
    text = normalize(question)
    if not text:
        return INTENT_EMPTY
    if _GREETING.match(text):
        return INTENT_GREETING
    if _THANKS.match(text):
        return INTENT_THANKS
    if _matches(_HANDOVER, text):
        return INTENT_HANDOVER
    if _matches(_RECENT, text):
        return INTENT_RECENT
    if _matches(_BALANCE, text):
        return INTENT_BALANCE
    return INTENT_FAQ


# --- answers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    intent: str
    text: str
    language: str
    rule: str = ""  # which rule fired, for people
    score: float = 0.0
    entry: FaqEntry | None = None
    ticket: Ticket | None = None
    lines: tuple[str, ...] = field(default=())  # own-account data, one line each


def _language_of(question: str, page_language: str) -> str:
    if _HAN.search(question):
        return "zh-hans"
    return "zh-hans" if page_language.lower().startswith("zh") else "en"


def _masked(number: str) -> str:
    return f"•••• {number[-4:]}"


def _balance_answer(accounts: list[Account], language: str) -> Answer:
    if not accounts:
        return Answer(INTENT_BALANCE, _("You have no accounts you may view."), language, rule=_("own balance"))
    lines = tuple(
        _("%(account)s %(product)s: balance %(balance)s %(currency)s, available %(available)s %(currency)s")
        % {
            "account": _masked(a.number),
            "product": a.product.name if a.product_id else "",
            "balance": format_amount(a.balance, a.currency),
            "available": format_amount(a.available, a.currency),
            "currency": a.currency,
        }
        for a in accounts
    )
    return Answer(INTENT_BALANCE, _("Your accounts:"), language, rule=_("own balance"), lines=lines)


def _recent_answer(accounts: list[Account], question: str, language: str) -> Answer:
    count = _count(normalize(question))
    outgoing = bool(_OUTGOING.search(normalize(question)))
    postings = own_recent_postings(accounts, limit=count, outgoing_only=outgoing) if accounts else []
    rule = _("own recent payments") if outgoing else _("own recent transactions")
    if not postings:
        text = _("There are no payments on your accounts yet.") if outgoing else _("There are no transactions yet.")
        return Answer(INTENT_RECENT, text, language, rule=rule)
    lines = tuple(
        f"{formats.date_format(p.created_at, 'SHORT_DATE_FORMAT')}  {_masked(p.account.number)}  "
        f"{p.entry.reference or p.entry.get_kind_display()}  {format_amount(p.amount, p.currency)} {p.currency}"
        for p in postings
    )
    if outgoing:
        text = _("Your last %(n)d payments (money out):") % {"n": len(postings)}
    else:
        text = _("Your last %(n)d transactions:") % {"n": len(postings)}
    return Answer(INTENT_RECENT, text, language, rule=rule, lines=lines)


def _handover(
    *,
    actor: Actor,
    portal_user: PortalUser,
    question: str,
    language: str,
    transcript: list[dict[str, Any]],
    rule: str,
    score: float,
) -> Answer:
    if handovers_since(portal_user.pk, timezone.now() - dt.timedelta(hours=1)) >= HANDOVERS_PER_HOUR:
        text = _(
            "Our staff already have several of your questions and answer them under Your messages on "
            "this page. To add something, please use the form to send us a message."
        )
        return Answer(INTENT_HANDOVER, text, language, rule=_("too many handovers this hour"), score=score)
    text = _(
        "I am not sure I can answer that correctly, so I passed your question to our staff. "
        "You will find their reply under Your messages on this page."
    )
    turns = [*transcript, {"who": "customer", "text": question}, {"who": "assistant", "text": text}]
    subject = " ".join(question.split())[:80]
    ticket = ticket_create(
        actor=actor,
        portal_user=portal_user,
        kind=TicketKind.HANDOVER,
        subject=subject,
        message=question,
        transcript=turns,
        language=language,
    )
    return Answer(INTENT_HANDOVER, text, language, rule=rule, score=score, ticket=ticket)


def assistant_reply(
    *,
    actor: Actor,
    portal_user: PortalUser,
    accounts: Iterable[Account],
    question: str,
    language: str = "en",
    transcript: list[dict[str, Any]] | None = None,
) -> Answer:
    """Answer one question of a portal user (see the module's docstring for the rules).

    `accounts` are the accounts this portal user may see (the portal's `portal_accounts(user)`:
    every own account of an individual, the mandated ones of a corporate user). Only those of
    the user's own customer are ever read, whatever the caller passes."""
    own = [a for a in accounts if a.customer_id == portal_user.customer_id and not a.is_internal]
    question = question.strip()[:QUESTION_MAX]
    language = _language_of(question, language)
    with translation.override(language):
        intent = detect_intent(question)
        if intent == INTENT_EMPTY:
            return Answer(intent, _("Ask me a question, for example: how do I reset my password?"), language)
        if intent == INTENT_GREETING:
            return Answer(
                intent,
                _("Hello! Ask me about transfers, payments, statements, limits or fees, or about your own balance."),
                language,
                rule=_("greeting"),
            )
        if intent == INTENT_THANKS:
            return Answer(intent, _("You are welcome."), language, rule=_("thanks"))
        if intent == INTENT_BALANCE:
            return _balance_answer(own, language)
        if intent == INTENT_RECENT:
            return _recent_answer(own, question, language)
        history = transcript or []
        if intent == INTENT_HANDOVER:
            return _handover(
                actor=actor,
                portal_user=portal_user,
                question=question,
                language=language,
                transcript=history,
                rule=_("asked for a person"),
                score=0.0,
            )
        matches = faq_match(question)
        best = matches[0] if matches else None
        if best is not None and best.score >= FAQ_THRESHOLD:
            return Answer(
                INTENT_FAQ,
                best.entry.answer(language),
                language,
                rule=_("FAQ match by %(via)s on “%(phrase)s”") % {"via": best.via, "phrase": best.phrase},
                score=best.score,
                entry=best.entry,
            )
        return _handover(
            actor=actor,
            portal_user=portal_user,
            question=question,
            language=language,
            transcript=history,
            rule=_("no FAQ entry fits well enough"),
            score=best.score if best else 0.0,
        )
