"""Customer support: tickets about logins, billing, plans, the API and the product.

Every intent is resolved by a short, fixed sequence of the eleven support tools. Several
intents start with the same tool (`lookup_user`, `check_payment`, `check_api_docs`,
`search_kb`), and some use the same tools in another order, so the agent has to read the
ticket to know what comes next. The tickets are written from phrasing templates (formal,
casual, terse, angry, misspelt, chatty) filled with slot values by a fixed-seed generator, so
every build yields the same tasks with the same ids.
"""

from __future__ import annotations

from trainer.scenarios.base import Intent, ScenarioSpec, build_spec

ID = "customer_support"
PREFIX = "cs"
SEED = 20240601

TOOLS = (
    "search_kb",
    "update_ticket",
    "lookup_user",
    "send_reset_link",
    "check_payment",
    "refund",
    "check_api_docs",
    "escalate_to_engineering",
    "update_subscription",
    "verify_identity",
    "unlock_account",
)

# What each tool does, as a user would describe it to a model reading tools.
DESCRIPTIONS = {
    "search_kb": "Search the help-center knowledge base for articles that answer a product question.",
    "update_ticket": "Add a note to the support ticket or change its status, for example to mark it resolved.",
    "lookup_user": "Find the customer's account by email address or username and show its details.",
    "send_reset_link": "Email the customer a link to choose a new password.",
    "check_payment": "Look up the customer's charges, invoices and payment status.",
    "refund": "Refund a charge to the customer's card.",
    "check_api_docs": "Look up the API reference: endpoints, parameters, error codes and rate limits.",
    "escalate_to_engineering": "Hand the ticket to the engineering team: for bugs, outages and errors support cannot fix.",
    "update_subscription": "Change the customer's plan: upgrade, downgrade, cancel or renew the subscription.",
    "verify_identity": "Confirm the customer is the account owner before changing anything sensitive.",
    "unlock_account": "Unlock an account that was locked after too many failed sign-in attempts.",
}

# (intent, solution, templates: one a line, each with at least one {slot})
INTENTS: tuple[Intent, ...] = (
    (
        "password_reset",
        ("lookup_user", "verify_identity", "send_reset_link"),
        """
        Hi, I forgot my password for {email}. Could you send me a link to set a new one?
        forgot pw again lol. account is {email}, pls send reset email
        Good afternoon, I am unable to recall the password for my account ({user}). Kindly arrange a password reset.
        password reset for {email} please
        I've been trying to log in since {date} and my password just isn't accepted, I think I forgot it. Can you email me a reset link? Account: {user}
        WHY is there no working 'forgot password' button?? I need a reset link for {email} NOW.
        hi i forgott my pasword and cant login to {product}, my email is {email}
        My name is {name}, I changed phones last week and don't remember my password anymore. Could you send the reset link to {email}? Also my dog says hi.
        Need to reset my password, the account isn't locked, I just can't remember it. Username {user}.
        Our office manager {name} left and nobody knows the admin password for {email}. Please send a reset link so we can set a new one.
    """,
    ),
    (
        "account_locked",
        ("lookup_user", "verify_identity", "unlock_account"),
        """
        My account {email} says it's locked after too many login attempts. Can you unlock it?
        locked out of {product}, "account locked" message. user {user}. help
        Dear support, my account ({email}) was locked on {date} following several failed sign-in attempts. I kindly request that it be unlocked. I know my password.
        unlock {user} pls
        I know my password is right but it keeps saying account locked. This is the third time this month!!! {email}
        hey my acount got lockd after i typed the pasword wrong a few times, its {user}
        I'm {name}; our security policy locked my login while I was travelling in {city}. I remember the password, I just need the lock removed.
        Getting "too many attempts, account temporarily locked" on {device}. Email on file: {email}
        Can you lift the lock on account {user}? Not a password problem, the account itself is locked.
        My account was blocked after login failures on {date}, can someone please unlock it? I'm {name}, {email}.
    """,
    ),
    (
        "double_charge",
        ("lookup_user", "check_payment", "refund"),
        """
        I was charged twice for my {plan} plan on {date}, {amount} each. Please refund the duplicate.
        double charge on my card!! {amount} two times. fix it
        Hello, my statement shows two identical payments of {amount} on {date} for a single {plan} subscription. Could you reverse one of them?
        charged 2x, {email}, want the extra {amount} back (second one is {txn})
        You billed me twice this month. TWICE. {amount} and again {amount}. I want my money back for the second one.
        hi, i think i got charged double for invoice {invoice}, same amount {amount} twice
        My name is {name}; I renewed on {date} while on the train and the page froze, and now there are two charges of {amount}. Please refund one.
        Duplicate payment for {invoice}, both went through ({txn} and the next one). Refund one please. Account {user}.
        Our finance team noticed {invoice} was paid twice ({amount}). Kindly refund the duplicate to the card on file.
        the app took my payment two times when I renewed {plan}, can I get the duplicate refunded? {email}
    """,
    ),
    (
        "unrecognized_charge",
        ("check_payment", "lookup_user", "refund"),
        """
        There's a charge of {amount} from your company on my card dated {date} and I don't have an account with you. Reference {txn}. Please refund.
        who charged me {amount}?? ref {txn}. i never signed up
        Good morning. I have identified an unfamiliar transaction ({txn}, {amount}) on my bank statement. I do not believe I hold an account with you. Please investigate and refund.
        unknown charge {txn} {amount}, refund pls
        I don't recognise this payment: {txn} for {amount} on {date}. Which account is it from? If it isn't mine I want it back.
        some charge from you showed up on my credit card, {amount}, transaction id {txn}. never heard of {product}
        My teenage son might have signed up for something? There's {amount} on {date}, reference {txn}. I'm {name}. Please find the account and refund.
        This is fraud. {amount} was taken from my card ({txn}) and I never created any account. Refund it immediately.
        Could you look up transaction {txn}? It's on my card but I can't tell which account it belongs to, and I'd like a refund.
        Mysterious {amount} payment, ref {txn}, no idea what it's for. Can you trace it and return the money?
    """,
    ),
    (
        "payment_status",
        ("lookup_user", "check_payment", "update_ticket"),
        """
        Did my payment of {amount} on {date} go through? My dashboard still shows invoice {invoice} as unpaid.
        payment pending for days, {invoice}. is it processed or not
        Hello, could you kindly confirm whether payment for invoice {invoice} ({amount}) has been received? Our accounts department requires confirmation.
        status of payment for {email}?
        I paid {invoice} on {date} and you're still sending me overdue reminders. Check your records!
        hi did u get my payment, i paid {amount} with a new card yesterday, ref {txn}, account {user}
        I'm {name} from accounts payable; we wired {amount} for {invoice} and need to know if it arrived before month end. Not asking for a refund, just confirmation.
        My card was charged {amount} but the invoice {invoice} still says "awaiting payment". Which is it?
        Can you check if the {plan} renewal payment on {date} succeeded? Account {email}. Please note it on my ticket.
        is my bank transfer for {invoice} received yet? just want a confirmation, thx
    """,
    ),
    (
        "plan_upgrade",
        ("lookup_user", "update_subscription"),
        """
        I'd like to upgrade from {plan_from} to {plan} for account {email}.
        upgrade me to {plan} pls. user {user}
        Dear team, we wish to move our organisation's subscription to the {plan} plan effective immediately. Account holder: {name}.
        {plan} upgrade, {email}
        How hard can it be to upgrade?? The button does nothing. Just put my account on {plan}.
        hey can u switch my plan to {plan}? we need more seats, were growing fast ({user})
        Our team grew from 5 to 20 people after the launch in {city}; please move us up to the {plan} tier. Account: {user}.
        Need to add seats, please change the subscription on {email} to {plan}.
        Could you bump my plan up to {plan}? I want the {feature} feature.
        i want more storage, upgrade {user} from {plan_from} to {plan} plz
    """,
    ),
    (
        "upgrade_after_decline",
        ("lookup_user", "check_payment", "update_subscription"),
        """
        I tried to upgrade to {plan} but my card was declined, though the bank says it's fine. Can you check the payment and finish the upgrade?
        upgrade to {plan} failed, payment declined?? card is valid. {email}
        Good day. My attempt to change to the {plan} plan on {date} was rejected with a payment error. Please verify the payment and apply the upgrade.
        card declined on {plan} upgrade, user {user}
        Your checkout keeps saying "payment failed" when I try to go {plan}. My card works everywhere else. Sort it out.
        tryed upgrading my plan to {plan} but it says transaction declined, i updated my card on {date}
        I'm {name}; I updated our billing card and then tried moving to {plan} but got error "card_declined". Could you see if the charge went through and upgrade us?
        Upgrade stuck: {amount} authorisation ({txn}) shows on my card but I'm still on {plan_from}. Please check the payment and move me to {plan}.
        The {plan} upgrade didn't complete because of a payment error. Can you look into the payment and then upgrade account {email}?
        payment failed while switching to {plan}, bank confirms no block on the card. account {user}
    """,
    ),
    (
        "cancel_with_refund",
        ("lookup_user", "update_subscription", "refund"),
        """
        Please cancel my {plan} subscription and refund the unused part of this month. {email}
        cancel + refund pls. {user}
        I would like to terminate my subscription with immediate effect and receive a prorated refund for the remaining period. Account holder: {name}.
        cancel {plan}, refund {amount}
        I've asked twice already: CANCEL my subscription and give me back the {amount} you charged on {date}.
        hi i want to cancel my plan, i didnt use it at all this month so can i get my money back? {email}
        We're closing our shop in {city} at the end of the month, so please cancel account {user} and refund whatever is left.
        Auto-renewal charged me {amount} on {date} ({txn}) but I don't want to continue. Cancel the subscription and refund the renewal please.
        Could you end my {plan} plan today and refund the rest of the billing period? Account {user}.
        canceling, {product} isnt for us. refund the last payment too pls ({email})
    """,
    ),
    (
        "api_question",
        ("check_api_docs", "update_ticket"),
        """
        What's the rate limit on {endpoint}? I'm getting {code} responses when I send batches.
        how do i paginate {endpoint}? docs unclear
        Good morning, could you clarify which authentication scheme the {endpoint} endpoint expects? We receive HTTP {code} with our current headers.
        {endpoint} params?
        Your API docs are a mess. What fields does {endpoint} actually require?? Getting {code}.
        hi, wat does error {code} mean when calling {endpoint} from {sdk}
        I'm {name}, building an integration for our {city} warehouse. Is {endpoint} supposed to accept ISO dates, or epoch seconds?
        Which API version should we use for {endpoint}? We're on {sdk} and see {code} since we changed the headers.
        Is there a webhook for {feature} events, or do I have to poll {endpoint}?
        Quick q: what's the max page size for {endpoint}? Just want to know before I write the client in {sdk}.
    """,
    ),
    (
        "api_bug",
        ("check_api_docs", "escalate_to_engineering"),
        """
        {endpoint} returns {code} for requests that exactly match the documented schema. I think it's a bug on your side.
        api broken?? {endpoint} gives {code} since {date}, nothing changed on our end
        Dear support, since {date} the {endpoint} endpoint responds with HTTP {code} to valid requests, contrary to your documentation. This is blocking our production release.
        {endpoint} {code} since your deploy, docs say it should work
        Your API is BROKEN. {endpoint} has been throwing {code} all morning and it's killing our checkout.
        hey {endpoint} started returnin {code} after yall updated something, our code is the same as the docs example
        I'm {name} from an agency in {city}; the {endpoint} response is missing the `id` field that the reference says is always present. Looks like a regression.
        Calling {endpoint} exactly as in the docs example with {sdk} gives {code}. Please have your developers look at it.
        The pagination cursor from {endpoint} loops back to page 1, which the docs say can't happen. Bug? We use {sdk}.
        Documented filter on {endpoint} is ignored, we get every record instead of the filtered ones. Since {date}.
    """,
    ),
    (
        "product_bug",
        ("search_kb", "escalate_to_engineering"),
        """
        The {feature} button in {product} does nothing since the update on {date}. Clicking it just spins.
        {product} crashes when i open {feature}. {device}
        Hello, I wish to report a defect: the {feature} function in {product} produces an empty file on {device}. Steps: open a project, click it, wait.
        bug: {feature} broken on {device}
        Your latest update broke {feature}. It worked fine before {date}. Fix it!!!
        hi the app keeps freezing on {device} whenever i try {feature}, reinstalled twice already
        I'm {name}; since Tuesday {product} shows numbers from the wrong month in {feature}. We noticed while preparing a report for our {city} office.
        {feature} shows an error "something went wrong" every time on {device}. Is this a known issue? Please pass it to your developers.
        Found a bug: dark mode makes the {feature} text invisible in {product}.
        Every time I use {feature} in {product} my changes get lost. Reproducible on {device}.
    """,
    ),
    (
        "how_to",
        ("search_kb", "update_ticket"),
        """
        How do I set up {feature} in {product}? I can't find it in the settings.
        where is {feature}?? cant find it anywhere on {device}
        Good afternoon, could you direct me to instructions for configuring {feature} for my team in {product}?
        how to use {feature} on {device}
        I've spent an hour looking for how to turn on {feature}. Why is this so hidden?
        hi how do i add my colleague {name} to {product}, is there a guide
        We're onboarding the {city} team next week; is there an article explaining how {feature} works?
        Is it possible to use {feature} on {device}, and how? Not a bug, just don't know where to start.
        Can you point me to the help article for {feature} in {product}?
        newbie question: how do i get my data out of {product}? saw something called {feature}
    """,
    ),
)

SLOTS: dict[str, str] = {
    "name": "Maria Lopez|Tom Becker|Aisha Khan|Jonas Weber|Priya Nair|Liam O'Brien|Chen Wei|Sofia Rossi|Kwame Mensah|Emma Novak|Diego Alvarez|Hana Sato",
    "email": "maria.lopez@gmail.com|tbecker@outlook.com|aisha.k@fastmail.com|jonas@weber-design.de|priya.nair@acme.io|liam.obrien@yahoo.ie|chen.wei@qq.com|sofia.rossi@libero.it|kwame@mensah.co|emma.novak@seznam.cz|diego@alvarezbakery.mx|hana.sato@docomo.jp",
    "user": "mlopez|tbecker88|aishak|jonas_w|priya.n|liamob|chenwei2|srossi|kmensah|enovak|dalvarez|hsato",
    "product": "the mobile app|the web dashboard|the desktop app|the iOS app|the Android app|the browser extension|the admin console",
    "plan": "Pro|Business|Team|Enterprise|Premium|Pro Annual",
    "plan_from": "Free|Starter|Basic|Personal",
    "amount": "$9.99|$19.00|$29.00|$49.00|$99.00|$149.50|€24.90|€59.00|£15.00|£120.00|$12.50|$249.00",
    "date": "March 3|the 14th|April 17|May 21|Monday|June 2|the 1st|Tuesday|Oct 9|Jan 28|Sept 30|Dec 12",
    "invoice": "INV-20931|INV-18872|INV-30415|INV-27760|INV-11208|INV-40027|INV-35591|INV-22143|INV-19904|INV-31876",
    "txn": "TX-88213|TX-40917|TX-66302|TX-12984|TX-57731|TX-90456|TX-23309|TX-71148|TX-35520|TX-64097",
    "city": "Lisbon|Toronto|Nairobi|Munich|Austin|Melbourne|Osaka|Dublin|Warsaw|Bogotá",
    "device": "iPhone 14|Pixel 7|Windows 11|macOS Sonoma|Galaxy S23|an iPad|Chrome on Linux|Firefox|Safari|Edge",
    "feature": "CSV export|two-factor login|shared folders|calendar sync|team invites|dark mode|bulk import|the reporting tab|offline mode|custom fields|Slack notifications|PDF invoices",
    "endpoint": "/v2/orders|/v2/customers|/v1/invoices|/v2/webhooks|/v1/users/search|/v2/payments|/v2/reports/export|/v1/auth/token|/v2/subscriptions|/v2/events",
    "code": "400|401|403|404|409|422|429|500|502|503",
    "sdk": "the Python SDK|the Node SDK|curl|Postman|the Go client|the Ruby gem|the PHP library|Java 17",
}


def build() -> ScenarioSpec:
    return build_spec(
        ID,
        version="1",
        prefix=PREFIX,
        seed=SEED,
        tools=TOOLS,
        intents=INTENTS,
        slots=SLOTS,
        counted=("support tickets", "support tools", "request types"),
        name="Customer Support",
        description=(
            "Train agents to handle customer inquiries with high reliability. Focus on tool "
            "usage, escalation handling, and response quality."
        ),
        difficulty="beginner",
        duration="2-3 hours",
        rating=4.8,
        metrics=("Tool Reliability", "Response Quality", "Resolution Rate"),
        failure_rates={"check_payment": 0.2, "search_kb": 0.15, "lookup_user": 0.1},
        fallbacks={"search_kb": "check_api_docs"},
        descriptions=DESCRIPTIONS,
    )
