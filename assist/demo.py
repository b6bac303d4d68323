# ruff: noqa: E501 - demo content: long lines of text
"""Demo content for the assist app: a small Northwind Bank help centre, common phrases,
and the demo channels' page push domains (portal.services.demo_seed calls it).
Idempotent: each article and phrase is keyed by its slug or shortcut."""

from django.db import transaction

from assist.models import Article, ArticleStatus, Phrase, PushDomain
from chat.models import Channel, ChannelKind

# slug, title, category, tags, intents, summary, body (Markdown)
DEMO_ARTICLES: tuple[tuple[str, str, str, str, str, str, str], ...] = (
    (
        "lost-or-stolen-card",
        "Report a lost or stolen card",
        "Cards",
        "lost, stolen, stole, theft, missing, block, card",
        "lost_card",
        "Block your card at once in the app or in chat, and we send a replacement.",
        "If your card is **lost or stolen**, block it straight away so nobody can use it.\n\n"
        "1. In the Northwind app, open **Cards** and choose **Report lost or stolen**.\n"
        "2. Or tell us in chat: we block it while you wait.\n\n"
        "A replacement card with a new number arrives in 3–5 working days. Payments you "
        "did not make after the loss are refunded.",
    ),
    (
        "freeze-card",
        "Freeze and unfreeze your card",
        "Cards",
        "freeze, unfreeze, temporary block, misplaced",
        "card_freeze",
        "Misplaced your card? Freeze it for a while and unfreeze it when you find it.",
        "Not sure where your card is? **Freeze** it in the app under **Cards → Freeze card**. "
        "Card payments and cash withdrawals are paused; direct debits keep working.\n\n"
        "Found it? Tap **Unfreeze** and it works again at once.",
    ),
    (
        "replacement-card",
        "Order a replacement for a damaged or expiring card",
        "Cards",
        "replacement, damaged, broken, expired, expiry, new card",
        "card_replace",
        "A damaged card or one about to expire is replaced free of charge.",
        "If your card's chip or magnetic strip is **damaged**, or the card **expires** soon, "
        "order a replacement in the app (**Cards → Replace card**). It keeps the same number "
        "and PIN and arrives in 3–5 working days. We send cards that are about to expire "
        "automatically a month before.",
    ),
    (
        "activate-card",
        "Activate your new card",
        "Cards",
        "activate, new card, arrived, first use",
        "card_activate",
        "Activate a new card by making a chip and PIN payment or in the app.",
        "Your new card is ready once you **activate** it: make a chip-and-PIN payment or "
        "cash withdrawal, or tap **Activate** in the app. Contactless works after the first "
        "chip-and-PIN use.",
    ),
    (
        "card-declined",
        "Why was my card declined?",
        "Cards",
        "declined, rejected, refused, not working, payment failed",
        "card_declined",
        "The usual reasons a card payment is declined, and what to do.",
        "A payment can be **declined** when:\n\n- the card is frozen or blocked;\n- there is not "
        "enough money or overdraft;\n- you reached a daily limit;\n- the PIN was entered "
        "wrongly three times;\n- our fraud checks paused it: confirm in the app and try again.",
    ),
    (
        "change-pin",
        "Change or reset your PIN",
        "Cards",
        "pin, forgot pin, change pin, pin locked",
        "pin",
        "View your PIN in the app or change it at any cash machine.",
        "Forgot your **PIN**? View it in the app under **Cards → Show PIN**. To change it, "
        "use any cash machine's PIN services. After three wrong tries the PIN locks: unlock "
        "it at a cash machine with the right PIN.",
    ),
    (
        "contactless",
        "Contactless payments and limits",
        "Cards",
        "contactless, tap, limit, apple pay, google pay",
        "contactless",
        "How contactless works, its limit, and why you are sometimes asked for your PIN.",
        "Tap to pay up to **£100** a time. Now and then the terminal asks for your PIN for "
        "security; that is normal. Phone payments (Apple Pay, Google Pay) have no limit.",
    ),
    (
        "dispute-transaction",
        "Dispute a payment you don't recognise",
        "Payments",
        "dispute, unrecognised, unknown payment, chargeback, transaction",
        "dispute",
        "Check the merchant details, then dispute an unknown payment from the app or in chat.",
        "See a **payment you don't recognise**? Tap it in the app to see the merchant's full "
        "name: many businesses trade under another name. Still unknown? Choose **Dispute "
        "this payment**. We investigate within 10 working days and you are not charged "
        "meanwhile.",
    ),
    (
        "fraud-and-scams",
        "Report fraud, scam calls and phishing",
        "Security",
        "fraud, scam, phishing, suspicious call, text, email, security",
        "fraud",
        "Never share codes or your PIN; report suspicious calls, texts and emails to us.",
        "Northwind Bank will **never** ask for your full PIN, your password or a code we "
        "texted you. If someone did, or you sent money to a **scammer**, contact us at once: "
        "we block your cards and try to recover the money. Forward suspicious texts to 7726.",
    ),
    (
        "charged-twice",
        "Charged twice for one purchase",
        "Billing",
        "charged twice, duplicate, double charge, refund, pending",
        "billing",
        "A second charge is often a pending hold that disappears; otherwise we refund it.",
        "Seeing **two charges** for one purchase? Often one is a **pending** hold that drops "
        "off within 5 days. If both have gone through, we raise a **refund** for the "
        "duplicate: it is back in your account within 3–5 working days.",
    ),
    (
        "refunds",
        "When will I get my refund?",
        "Billing",
        "refund, return, money back, merchant refund",
        "refund",
        "Merchant refunds take up to 5 working days to reach your account.",
        "When a shop gives you a **refund**, it usually reaches your account within 5 "
        "working days. It shows as a credit with the shop's name. No refund after 10 days? "
        "Ask the shop for its refund reference, then chat with us.",
    ),
    (
        "account-fees",
        "Account fees and charges explained",
        "Billing",
        "fees, charges, monthly fee, account fee, cost",
        "fees",
        "What each account costs per month and the charges you may see.",
        "The **Everyday** account is free. **Plus** costs £5 a month and includes travel "
        "insurance. Other **fees**: £10 for an unarranged overdraft item, £25 for an urgent "
        "international payment. Fees are taken on the 1st of the month.",
    ),
    (
        "overdraft",
        "Overdrafts",
        "Billing",
        "overdraft, interest, borrowing, arranged overdraft, limit",
        "overdraft",
        "Apply for or change an arranged overdraft, and how overdraft interest works.",
        "An **arranged overdraft** lets you borrow up to an agreed limit. Interest is 39.9% "
        "EAR, charged monthly. Apply or change the limit in the app under **Borrowing**.",
    ),
    (
        "direct-debits",
        "Set up or cancel a direct debit",
        "Payments",
        "direct debit, standing order, cancel, subscription, bill payment",
        "payment",
        "Manage direct debits and standing orders in the app.",
        "See every **direct debit** in the app under **Payments → Direct debits**. Cancel "
        "one with **Cancel**; tell the company too. A wrong direct debit is refunded under "
        "the Direct Debit Guarantee.",
    ),
    (
        "send-money-abroad",
        "Send money abroad",
        "Payments",
        "international, abroad, overseas, swift, iban, foreign currency, transfer",
        "international",
        "Send international payments in 30 currencies with the recipient's IBAN and SWIFT code.",
        "To **send money abroad** you need the recipient's **IBAN** and the bank's **SWIFT/BIC** "
        "code. Standard international payments are free and arrive in 1–3 working days; "
        "urgent ones cost £25.",
    ),
    (
        "payment-limits",
        "Daily payment and transfer limits",
        "Payments",
        "limit, daily limit, maximum, transfer limit, large payment",
        "limits",
        "How much you can send a day, and how to make a larger payment.",
        "You can send up to **£25,000 a day** in the app. For a larger payment, such as a house "
        "deposit, call us or visit a branch. Cash machine withdrawals are limited to £500 a day.",
    ),
    (
        "payment-not-arrived",
        "My payment hasn't arrived",
        "Payments",
        "payment not arrived, pending, delayed, missing transfer, where is my money",
        "payment_status",
        "Payments between UK banks usually arrive in minutes; what to check if one hasn't.",
        "Most payments **arrive within minutes**. Some are held for a security check for up to "
        "2 hours. Check the sort code and account number; if they were wrong, we can try to "
        "recover the money.",
    ),
    (
        "reset-password",
        "Reset your online banking password",
        "Online banking",
        "password, forgot password, reset, sign in",
        "password_reset",
        "Reset a forgotten password with Forgot password on the sign-in page.",
        "Forgot your **password**? On the sign-in page choose **Forgot password**, enter your "
        "customer number and follow the **reset link** we email you. It is valid for 30 minutes.",
    ),
    (
        "locked-out",
        "Locked out of online banking",
        "Online banking",
        "locked out, locked, too many attempts, login, sign in, blocked access",
        "login",
        "After five wrong sign-in attempts your access locks for 24 hours or until we unlock it.",
        "After **five wrong attempts** online banking is **locked** for your safety. Wait 24 "
        "hours, or ask us in chat to unlock it after we confirm who you are.",
    ),
    (
        "app-problems",
        "The app crashes or won't open",
        "Online banking",
        "app, crash, crashes, won't open, error, update, phone",
        "app_error",
        "Update the app and your phone, then reinstall if it still crashes.",
        "If the **app crashes** or shows an **error**: update it from the app store, restart your "
        "phone and check you have a supported system (iOS 16 or Android 10 and later). Still "
        "broken? Delete and reinstall it; your details are safe.",
    ),
    (
        "verification-codes",
        "Verification codes not arriving",
        "Online banking",
        "verification code, 2fa, one-time passcode, sms, text message, otp",
        "technical",
        "Security codes arrive by text within two minutes; how to get a new one.",
        "Your **verification code** comes by text message within 2 minutes. Check your phone "
        "has signal and the number we have is right. Ask for a new code after 2 minutes; "
        "older codes stop working.",
    ),
    (
        "change-address",
        "Change your address or contact details",
        "Your account",
        "address, moved, move house, phone number, email, contact details",
        "update_details",
        "Update your address, phone number or email address in the app.",
        "Moved house? Update your **address** in the app under **Profile → Personal details**. "
        "Changing a **phone number** needs a code sent to the old number, or a chat with us.",
    ),
    (
        "savings-accounts",
        "Savings accounts and interest rates",
        "Savings",
        "savings, interest rate, isa, save, saver",
        "savings",
        "Open an easy-access saver or ISA in minutes, and today's rates.",
        "Our **Easy Saver** pays 3.1% AER and you can take money out at any time. The **Cash "
        "ISA** pays 3.6% AER tax-free up to £20,000 a year. Open one in the app under **Savings**.",
    ),
    (
        "statements",
        "Download your statements",
        "Your account",
        "statement, statements, pdf, history, proof of address",
        "statements",
        "Download up to seven years of statements as PDF files.",
        "Find **statements** in the app under **Account → Statements**: download any month as a "
        "PDF, up to seven years back. Statements are accepted as proof of address.",
    ),
    (
        "card-abroad",
        "Using your card abroad",
        "Cards",
        "abroad, travel, holiday, foreign, overseas, travel notice, currency",
        "travel",
        "No travel notice needed; what card payments and cash abroad cost.",
        "You don't need to tell us before you **travel**. Card payments in the EU are free; "
        "elsewhere a **2.75% foreign transaction fee** applies. Cash withdrawals abroad cost "
        "1.5%.",
    ),
    (
        "opening-hours",
        "Opening hours",
        "Contact us",
        "opening hours, open, branch, phone, call, times",
        "general",
        "When our phone lines, chat and branches are open.",
        "Chat is open every day, 7am to 11pm. **Phone** lines are open 8am–8pm Monday to "
        "Saturday. **Branches** are open 9am–5pm on weekdays.",
    ),
    (
        "close-account",
        "Close your account",
        "Your account",
        "close account, cancel account, leave, switch bank",
        "close_account",
        "Close an account in the app, or switch to another bank with the switch service.",
        "To **close your account**, move any money out and cancel direct debits, then choose "
        "**Close account** in the app. Switching to another bank? Their switch service moves "
        "everything for you in 7 working days.",
    ),
    (
        "draft-new-mortgage-rates",
        "New mortgage rates (draft)",
        "Mortgages",
        "mortgage, rates",
        "mortgage",
        "Not published yet.",
        "Our new mortgage rates are coming soon.",
    ),
)

# shortcut, title, text
DEMO_PHRASES: tuple[tuple[str, str, str], ...] = (
    (
        "greet",
        "Greeting",
        "Hi {customer_first_name}, I'm {csr_name} from Northwind Bank. How can I help you today?",
    ),
    (
        "wait",
        "Thanks for waiting",
        "Thanks for waiting, {customer_first_name}. I'm looking into this now.",
    ),
    ("moment", "One moment", "One moment please while I check that for you."),
    (
        "verify",
        "Confirm identity",
        "Before I look at your account, I need to confirm who you are. I'm sending you a sign-in request now.",
    ),
    (
        "card-blocked",
        "Card blocked, replacement sent",
        "I've blocked your card so nobody can use it. A replacement card with a new number will arrive in 3–5 working days.",
    ),
    (
        "card-frozen",
        "Card frozen",
        "I've frozen your card for now. Payments are paused; you can unfreeze it in the app as soon as you find it.",
    ),
    (
        "refund-raised",
        "Refund for a duplicate charge",
        "I've raised a refund for the duplicate payment. It will be back in your account within 3–5 working days.",
    ),
    (
        "dispute-opened",
        "Dispute opened",
        "I've opened a dispute for that payment. We'll update you within 10 working days, and you won't be charged while we investigate.",
    ),
    (
        "fraud-warning",
        "Fraud warning",
        "Northwind Bank will never ask for your full PIN, your password or a code we texted you. Please don't share them with anyone who calls you.",
    ),
    (
        "reset-link",
        "Password reset link sent",
        "I've sent a password reset link to the email address we have for you. It's valid for 30 minutes.",
    ),
    (
        "unlocked",
        "Online banking unlocked",
        "I've unlocked your online banking. You can sign in again now.",
    ),
    (
        "app-update",
        "Update the app",
        "Please update the Northwind app to the latest version and restart your phone; that fixes most crashes and errors.",
    ),
    (
        "code-resent",
        "Verification code resent",
        "I've sent you a new verification code. It can take up to 2 minutes to arrive by text.",
    ),
    (
        "address-updated",
        "Address updated",
        "I've updated your address. Your next statement and letters will go to the new address.",
    ),
    (
        "transfer-team",
        "Passing to another team",
        "I'm passing you to our {queue} team, who can help with this. Please stay in the chat.",
    ),
    (
        "reference",
        "Conversation reference",
        "Your reference for this conversation is {interaction_id}.",
    ),
    (
        "anything-else",
        "Anything else?",
        "Is there anything else I can help you with today, {customer_first_name}?",
    ),
    (
        "goodbye",
        "Goodbye",
        "Thank you for chatting with Northwind Bank, {customer_first_name}. Have a great day!",
    ),
    (
        "hours",
        "Opening hours",
        "Our phone lines are open 8am–8pm Monday to Saturday, and chat is open every day from 7am to 11pm.",
    ),
    (
        "fee-refunded",
        "Fee refunded as a goodwill gesture",
        "I've refunded that fee as a one-off goodwill gesture. You'll see it back in your account tomorrow.",
    ),
)

# Domains the demo channels may push pages from (the portal's own demo site).
DEMO_PUSH_DOMAINS = ("127.0.0.1", "localhost", "northwind.example")


def _ensure(model, lookup: dict, fields: dict) -> None:  # type: ignore[no-untyped-def]
    """Create the row, or put back the fields that differ; an unchanged row is not
    written (a second seeding changes nothing)."""
    row = model.objects.filter(**lookup).first()
    if row is None:
        model.objects.create(**lookup, **fields)
    elif any(getattr(row, name) != value for name, value in fields.items()):
        for name, value in fields.items():
            setattr(row, name, value)
        row.save()


@transaction.atomic
def demo_assist_seed() -> None:
    """Create or refresh the demo articles, phrases and page push domains."""
    for slug, title, category, tags, intents, summary, body in DEMO_ARTICLES:
        status = ArticleStatus.DRAFT if slug.startswith("draft-") else ArticleStatus.PUBLISHED
        fields = {
            "title": title, "category": category, "tags": tags, "intents": intents,
            "summary": summary, "body": body, "status": status,
        }  # fmt: skip
        _ensure(Article, {"slug": slug}, fields)
    for shortcut, title, text in DEMO_PHRASES:
        _ensure(
            Phrase,
            {"owner": None, "shortcut": shortcut},
            {"title": title, "text": text, "active": True},
        )
    for channel in Channel.objects.filter(kind=ChannelKind.WEB_MESSAGING):
        for domain in DEMO_PUSH_DOMAINS:
            PushDomain.objects.get_or_create(channel=channel, domain=domain)
