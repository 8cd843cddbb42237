"""The FAQ entries finsys ships (seed_demo loads them through `faq_seed_defaults`; staff edit them
in the back office afterwards). Keywords hold aliases in both languages: the help assistant also
matches them by pinyin and pinyin initials, so they need not list those."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apps.support.services import FaqData


@dataclass(frozen=True)
class DefaultFaq:
    slug: str
    question_en: str
    question_zh: str
    answer_en: str
    answer_zh: str
    keywords: str

    def data(self, position: int) -> FaqData:
        from apps.support.services import FaqData

        return FaqData(
            question_en=self.question_en,
            question_zh=self.question_zh,
            answer_en=self.answer_en,
            answer_zh=self.answer_zh,
            keywords=self.keywords,
            position=position,
            published=True,
        )


DEFAULT_FAQ: tuple[DefaultFaq, ...] = (
    DefaultFaq(
        slug="transfer",
        question_en="How do I transfer money to another account?",
        question_zh="如何转账到另一个账户？",
        answer_en=(
            "Choose Transfers, pick the account to pay from, enter the other account's number and the amount, "
            "and check the confirmation screen, which shows any fee and the final amount, before you confirm. "
            "Transfers between accounts at our bank are booked at once."
        ),
        answer_zh=(
            "进入“转账”，选择付款账户，输入收款账户号码和金额，确认前请核对确认页面上显示的手续费和最终金额。"
            "本行账户之间的转账即时入账。"
        ),
        keywords="transfer, send money, move money, 转账, 汇款, 转钱",
    ),
    DefaultFaq(
        slug="external-payment",
        question_en="How do I pay someone at another bank?",
        question_zh="如何向他行账户付款？",
        answer_en=(
            "Save the payee as a beneficiary first (a new beneficiary asks for your second factor), then pay them "
            "from Payments. You can follow each payment's status until it is settled; if the other bank returns it, "
            "the money comes back to your account."
        ),
        answer_zh=(
            "请先把收款人保存为收款人（新增收款人需要验证您的第二重身份验证），然后在“付款”中付款。"
            "您可以跟踪每笔付款的状态直至结算；如对方银行退回，款项会退回您的账户。"
        ),
        keywords="payment, pay, beneficiary, payee, other bank, 付款, 支付, 收款人, 他行, 跨行",
    ),
    DefaultFaq(
        slug="statement",
        question_en="How do I get an account statement?",
        question_zh="如何获取账户对账单？",
        answer_en=(
            "Open the account's history and choose Statement: pick a period and a format (PDF or CSV). "
            "The statement is prepared in the background and is ready to download in a moment."
        ),
        answer_zh="打开账户明细并选择“对账单”：选择期间和格式（PDF 或 CSV）。对账单在后台生成，稍后即可下载。",
        keywords="statement, history, export, pdf, csv, 对账单, 账单, 流水, 明细",
    ),
    DefaultFaq(
        slug="totp",
        question_en="How do I turn on two-factor authentication (TOTP)?",
        question_zh="如何开启双重身份验证（动态验证码）？",
        answer_en=(
            "Go to Security in your profile and choose Enable two-factor authentication. Scan the QR code with "
            "an authenticator app and enter the six-digit code it shows. From then on you log in with your "
            "password and a code."
        ),
        answer_zh=(
            "在个人资料的“安全”中选择“开启双重身份验证”。用身份验证器应用扫描二维码，并输入应用显示的六位数验证码。"
            "此后登录需要密码和验证码。"
        ),
        keywords="totp, two-factor, 2fa, authenticator, one-time code, 双重验证, 动态验证码, 验证码, 身份验证器",
    ),
    DefaultFaq(
        slug="password-reset",
        question_en="I forgot my password. How do I reset it?",
        question_zh="忘记密码了，怎么重置？",
        answer_en=(
            "On the login page choose Forgot password and enter your e-mail address. We send you a link that "
            "works once and for a short time; choose a new password there. Nobody at the bank will ever ask "
            "you for your password."
        ),
        answer_zh=(
            "在登录页面选择“忘记密码”并输入您的电子邮箱。我们会发送一个一次性、短时有效的链接，请在其中设置新密码。"
            "银行工作人员绝不会向您索要密码。"
        ),
        keywords="password, forgot password, reset password, cannot log in, login, 密码, 忘记密码, 重置密码, 登录不了",
    ),
    DefaultFaq(
        slug="fees",
        question_en="What fees do you charge?",
        question_zh="你们收取哪些费用？",
        answer_en=(
            "Any fee for a transfer or payment is shown on the confirmation screen, with the final amount, "
            "before you confirm; nothing is charged that you did not see there. Your statement lists every fee "
            "booked on your account."
        ),
        answer_zh="转账或付款的任何手续费都会在您确认前显示在确认页面上，并附最终金额；不会收取您未看到的费用。对账单会列出账户上的每笔费用。",
        keywords="fee, fees, charge, charges, cost, price, 手续费, 费用, 收费, 服务费",
    ),
    DefaultFaq(
        slug="limits",
        question_en="What are my transfer limits?",
        question_zh="我的转账限额是多少？",
        answer_en=(
            "For online banking the standard limits are CNY 50,000 per transaction, CNY 200,000 per day and "
            "CNY 1,000,000 per month (USD 7,000, 30,000 and 150,000), across all your accounts. When a payment "
            "would go over a limit, we tell you how much is left."
        ),
        answer_zh=(
            "网上银行的标准限额为：单笔人民币 50,000 元、每日 200,000 元、每月 1,000,000 元"
            "（美元分别为 7,000、30,000 和 150,000），按您所有账户合计。付款超出限额时，我们会告诉您剩余额度。"
        ),
        keywords="limit, limits, daily limit, maximum, how much can i send, 限额, 额度, 上限, 每日限额",
    ),
    DefaultFaq(
        slug="frozen-account",
        question_en="Why is my account frozen?",
        question_zh="我的账户为什么被冻结了？",
        answer_en=(
            "An account is frozen when you reported a lost device or card, on a court or regulator's order, or "
            "while we check unusual activity. Money cannot leave a frozen account. Contact us and we explain "
            "what is needed to lift the freeze."
        ),
        answer_zh="账户会在您挂失设备或卡片、法院或监管机构要求、或我们核查异常交易时被冻结。冻结账户不能转出资金。请联系我们，我们会说明解冻所需的步骤。",
        keywords="frozen, freeze, blocked, locked account, unfreeze, 冻结, 解冻, 账户冻结, 被锁",
    ),
    DefaultFaq(
        slug="payment-status",
        question_en="Where is my payment? How long does it take?",
        question_zh="我的付款到哪了？需要多长时间？",
        answer_en=(
            "Payments to other banks are usually settled the same business day. Each payment shows its status "
            "(received, screened, submitted, settled, or returned). A payment held for a check is released or "
            "refused after review; you are notified either way."
        ),
        answer_zh="向他行的付款通常在当个工作日内结算。每笔付款都会显示状态（已接收、已筛查、已提交、已结算或已退回）。因审核而暂停的付款在审核后放行或拒绝，两种情况都会通知您。",
        keywords="payment status, where is my payment, pending, settled, returned, 付款状态, 到账, 多久到账, 退回",
    ),
    DefaultFaq(
        slug="contact",
        question_en="How can I contact the bank?",
        question_zh="如何联系银行？",
        answer_en=(
            "Send us a message with the feedback form on this page, or ask the assistant to talk to a person: "
            "a member of staff answers here. For a lost device or suspected fraud, call the hotline on the back "
            "of your bank documents at any time."
        ),
        answer_zh="请使用本页的意见反馈表给我们留言，或让助手转人工：工作人员会在这里回复。如设备丢失或怀疑诈骗，请随时拨打银行文件背面的热线电话。",
        keywords="contact, phone, hotline, call, email, complaint, 联系, 电话, 客服电话, 热线, 投诉",
    ),
)
