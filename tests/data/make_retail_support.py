"""Writes retail_support.json: long tool sequences in a retail-support flow like tau-bench's
retail domain (written anew here; no tau-bench data is used).

    .venv/bin/python tests/data/make_retail_support.py [--out tests/data/retail_support.json]

Seeded and deterministic: running it again rewrites the file byte for byte.

The request alone decides the sequence, as a careful agent would run it:

1. who: an email gives `find_user_id_by_email`, a name and zip `find_user_id_by_name_zip`
   (a product question needs no account: `list_all_product_types`, then one
   `get_product_details` per product asked about);
2. `get_user_details` when an order is described rather than numbered ("my last two
   orders"), or the profile itself is needed (payment methods, the saved address);
3. one `get_order_details` per order, in the order mentioned;
4. one `get_product_details` per item to exchange or modify (for the new variant's id);
5. `calculate` when the customer asks for a total;
6. one action per order, in the order mentioned (items of one order go in one call), then
   `modify_user_address`, then `transfer_to_human_agents` for what no tool can do.

Held out: the same kinds of request in other words, and some whose whole sequence training
never shows (three orders where training has two, three items where it has two, actions
chained in new combinations), while every step of them (each tool after the one before, from
the start to the finish) is in some training solution: `check` makes sure.
"""

from __future__ import annotations

import argparse
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from scenario_json import dump  # beside this script

SEED = 20240611
OUT = Path(__file__).with_name("retail_support.json")

TOOLS = {
    "find_user_id_by_email": "Look up a customer's user id from the email address on their account.",
    "find_user_id_by_name_zip": "Look up a customer's user id from their first name, last name and zip code, when they cannot give an email.",
    "get_user_details": "Show a user's profile: name, default address, saved payment methods and the ids of all their orders.",
    "get_order_details": "Show one order by its id: status, items with their item ids and prices, shipping address, payment and tracking.",
    "get_product_details": "Show one product type and every variant of it (options such as color or size), with item ids, prices and stock.",
    "list_all_product_types": "List every product type the store sells, with the product id to look each one up.",
    "cancel_pending_order": "Cancel an order that has not shipped yet and refund what was paid to the original payment method.",
    "return_delivered_order_items": "Return some or all items of a delivered order for a refund, and email the customer return instructions.",
    "exchange_delivered_order_items": "Exchange items of a delivered order for other variants of the same products, charging or refunding the price difference.",
    "modify_pending_order_items": "Swap items of an order that has not shipped yet for other variants of the same products.",
    "modify_pending_order_address": "Change the shipping address of an order that has not shipped yet.",
    "modify_pending_order_payment": "Change the payment method of an order that has not shipped yet to another one saved on the profile.",
    "modify_user_address": "Change the default address saved on the user's profile, used for future orders.",
    "transfer_to_human_agents": "Hand the conversation to a human agent with a summary, for requests these tools cannot resolve.",
    "calculate": "Evaluate an arithmetic expression, for example to add up prices or a refund total.",
}
# The tool that does an ask ("status" is lookups alone; "transfer" is one transfer at the end).
ACTION_TOOL = {
    "cancel": "cancel_pending_order",
    "return": "return_delivered_order_items",
    "exchange": "exchange_delivered_order_items",
    "modify_items": "modify_pending_order_items",
    "modify_address": "modify_pending_order_address",
    "modify_payment": "modify_pending_order_payment",
}
NEEDS_PRODUCTS = ("exchange", "modify_items")

PRODUCTS = {
    "T-Shirt": ("black, size M", "blue, size L", "red, size S", "white, XL"),
    "Water Bottle": ("500ml stainless", "1000ml plastic", "750ml glass"),
    "Desk Lamp": ("white LED", "black, USB powered", "silver, battery"),
    "Running Shoes": ("size 9, black", "size 10, white", "size 8.5, red"),
    "Hiking Boots": ("size 11 waterproof", "size 10 leather", "size 9 synthetic"),
    "Backpack": ("grey, 30L", "black, 35L", "navy, small"),
    "Wireless Earbuds": ("blue", "black", "white with the long battery"),
    "Bluetooth Speaker": ("red", "black, water resistant", "blue, 20W"),
    "Mechanical Keyboard": ("linear switches", "clicky switches", "tactile, full size"),
    "Gaming Mouse": ("RGB wired", "white wireless", "black optical"),
    "Office Chair": ("black mesh", "grey fabric", "blue leather"),
    "Coffee Maker": ("black, 8 cups", "stainless, 12 cups", "drip, 4 cups"),
    "Electric Kettle": ("1.5L white", "1L glass", "2L stainless steel"),
    "Air Purifier": ("medium room, HEPA", "large room, carbon filter", "small room"),
    "Smart Watch": ("silver, leather band", "black, silicone band", "gold, metal band"),
    "Headphones": ("over-ear, black", "on-ear, white", "in-ear, blue"),
    "Jigsaw Puzzle": ("1000 pieces, animals", "500 pieces, art", "2000 pieces, fantasy"),
    "Yoga Mat": ("6mm purple", "4mm green", "5mm pink"),
    "Tablet": ("10 inch 64GB", "8 inch 128GB", "12 inch 256GB"),
    "Vacuum Cleaner": ("cordless", "robotic", "upright, bagless"),
    "Skateboard": ("maple, 31 inch", "bamboo, 28 inch", "plastic, 34 inch"),
    "Garden Hose": ("50ft latex", "25ft vinyl", "100ft rubber"),
    "Cycling Helmet": ("size M, blue", "size L, black", "size S, red"),
    "Sunglasses": ("polarized black", "brown, non-polarized", "silver mirrored"),
    "Digital Camera": ("20MP, 3x zoom", "24MP, 5x zoom", "30MP, 10x zoom"),
    "Espresso Machine": ("capsule", "manual, 1.5L", "automatic, 2L"),
    "Fleece Jacket": ("navy, size M", "red, size L", "black, size XL"),
    "Bookshelf": ("oak, 5 shelves", "white, 3 shelves", "glass, 4 ft"),
    "Dumbbell Set": ("5-25 lbs, iron", "30-50 lbs, rubber", "adjustable urethane"),
    "Action Camera": ("4K, waterproof", "1080p", "5K, with case"),
    "Pet Bed": ("large, grey", "small, beige", "medium, brown"),
    "Portable Charger": ("10000mAh", "20000mAh, USB-C", "5000mAh, wireless"),
    "E-Reader": ("6 inch, wifi", "7 inch, cellular", "8 inch, 32GB"),
    "Luggage Set": ("2 pieces, hardshell", "3 pieces, soft", "4 pieces, red"),
    "Electric Toothbrush": ("blue, sonic", "white, rechargeable", "black, battery"),
    "Patio Umbrella": ("7ft, olive", "9ft, red", "6ft, black"),
}
PLURAL = {"wireless earbuds", "running shoes", "hiking boots", "headphones", "sunglasses"}
FIRST = str.split(
    "Yusuf Mia Ava Omar Chen Sofia Liam Harper Lucas Aarav Fatima Noah Isabella Ethan Mei "
    "Daiki Olivia Mason Amelia Raj Lei Yara Mateo Emma Ivan Juan Sara Anya James Priya "
    "Evelyn Malik Lina Ahmed Chloe Kenji Nora Arjun Zoe Mohamed Grace Diego Hana Tomas Leah "
    "Kofi Ines Oscar Ruth Samir Aiko Pablo Freya Dmitri Amara Hugo Nadia Felix Rosa Tariq "
    "Elena Jonas Keiko Marco Zainab Victor Ingrid Luis Maya Emeka Clara Bilal Astrid Rafael "
    "Sunita Owen Leila Andrei Beatriz Kwame Julia Hiro Esther Nikhil Camille Yosef Alma"
)
LAST = str.split(
    "Rossi Garcia Moore Hernandez Kim Silva Patel Nguyen Brown Khan Santos Lopez Ito Wilson "
    "Muller Gonzalez Anderson Ahmed Sanchez Lee Johnson Thomas Sato Jackson Martin Taylor "
    "Li Kovacs Davis Okafor Novak Smith Wang Cohen Rivera Dubois Ali Jensen Costa Park "
    "Fischer Romero Nakamura Osei Larsen Moreau Haddad Petrov Mensah Schmidt Reyes Yamamoto "
    "Kaur Bianchi Walsh Adeyemi Lindqvist Ortiz Chowdhury Horvat Fernandes Tanaka Murphy "
    "Ivanova Abubakar Nielsen Castillo Friedman Gupta Popescu Oliveira Hoang Brennan Varga"
)
DOMAINS = ("example.com",) * 5 + ("gmail.com", "outlook.com", "yahoo.com", "proton.me")
STREETS = str.split("Maple Oak Pine Cedar Elm Lakeview Hillcrest Sunset River Park Willow Main")
SUFFIXES = ("Street", "Avenue", "Drive", "Lane", "Road", "Court", "Boulevard")
CITIES = (
    ("Austin", "TX"), ("Denver", "CO"), ("Seattle", "WA"), ("Columbus", "OH"),
    ("Charlotte", "NC"), ("Phoenix", "AZ"), ("San Diego", "CA"), ("Chicago", "IL"),
    ("Philadelphia", "PA"), ("Fort Worth", "TX"), ("Jacksonville", "FL"), ("Boston", "MA"),
)  # fmt: skip
NUMBER = {1: "one", 2: "two", 3: "three"}

# How customers say who they are ({e}: email, {F} {L}: name, {z}: zip).
BY_EMAIL = (
    "my email is {e}", "email on the account: {e}", "you can find me under {e}",
    "the account is {e}", "I'm {F}, {e}", "{e} is my login", "registered with {e}",
    "my emial is {e}", "I signed up with {e} if that helps", "it's {e}",
    "{F} {L} here, email {e}", "account email {e}",
)  # fmt: skip
BY_NAME_ZIP = (
    "I'm {F} {L}, zip code {z}", "name is {F} {L}, zip {z}", "{F} {L} here ({z})",
    "this is {f} {l}, {z}", "My name is {F} {L} and I live in {z}",
    "I don't remember which email I used but I'm {F} {L}, zip {z}",
    "{F} {L}, postal code {z}", "{l}, {f} - zip {z}", "You'll have me as {F} {L}, zip {z}",
    "can't get into my email right now. name {F} {L}, zip {z}", "{F} {L} {z}",
)  # fmt: skip
# One ask about one order: {ref} the order; {names} the items; {swaps} the variants wanted;
# {they}/{them}/{were} agree with the items; {reason}, {address}, {pay} as drawn.
CLAUSES = {
    "status": (
        "where is {ref}?", "what's the status of {ref}", "has {ref} shipped yet",
        "any update on {ref}? it's been ages", "can you check on {ref} for me",
        "I'm wondering whether {ref} is on its way",
    ),
    "transfer": (
        "tracking says {ref} was delivered but nothing came. I want to speak to a person",
        "{ref} showed up smashed and I want compensation, not a return. Put me through to a manager",
        "I was charged twice for {ref}. get me a human please",
        "look up {ref} and then transfer me to a real agent, I'm done with bots",
        "{ref} was left at the wrong house and the neighbour kept it. Can a person call me about it",
    ),
    "cancel": (
        "cancel {ref}", "please cancel {ref}{reason}", "I need {ref} cancelled{reason}",
        "{ref} - don't ship it, cancel it{reason}", "can you cancel {ref}?",
        "I'd like to cancel {ref}", "I changed my mind about {ref}, please cancel it",
        "cancle {ref}{reason}",
    ),
    "return": (
        "I want to return {names} from {ref}", "return {names} ({ref}), {they} didn't work out",
        "{names} from {ref} {were} not what I expected, so I'd like to send {them} back",
        "can I get a refund for {names} in {ref}?", "{ref}: returning {names}",
        "I'd like my money back for {names} I got in {ref}",
        "sending back {names} from {ref}, {they} stopped working after a week",
    ),
    "exchange": (
        "I'd like to exchange {swaps} from {ref}", "can I swap {swaps}? it's {ref}",
        "{ref}: exchange {swaps}", "wanna trade {swaps} ({ref})",
        "I received {ref} but I need different versions: {swaps}",
    ),
    "modify_items": (
        "{ref} hasn't shipped yet right? please change {swaps} before it goes out",
        "before {ref} ships, switch {swaps}",
        "can you update the items on {ref}, it's still pending: {swaps}",
        "i made a mistake in {ref}, it's still processing - {swaps} please",
    ),
    "modify_address": (
        "please ship {ref} to {address} instead",
        "{ref} is going to my old place, it should go to {address}",
        "change the delivery address for {ref} to {address}",
        "I moved last week - can {ref} be sent to {address}?",
        "wrong address on {ref}!! it needs to go to {address}",
    ),
    "modify_payment": (
        "I want to pay for {ref} with {pay} instead", "switch the payment on {ref} to {pay}",
        "can {ref} be charged to {pay} rather than the card I used?",
        "{ref}: change payment method to {pay} please",
    ),
}  # fmt: skip
SWAPS = (
    "the {p} ({old}) for the {new} one", "my {p} in {old} for one in {new}",
    "{p}: {old} -> {new}", "the {p} from {old} to {new}", "the {p}, {old}, for {new}",
)  # fmt: skip
REASONS = (
    "", "", " because I ordered it by mistake", ", found it cheaper somewhere else",
    " - ordered the wrong thing", ", don't need it anymore",
)  # fmt: skip
# Orders in one breath ({listed}: their ids, {n} how many, {b} the same or "both").
TOGETHER = {
    "cancel": ("cancel {listed}", "please cancel {b}: {listed}",
               "I need {listed} cancelled, {n} orders", "kill {listed} pls"),
    "status": ("where are {listed}?", "status of my {n} orders {listed} please",
               "have {listed} shipped?", "any news on {listed}"),
}  # fmt: skip
# Orders described, not numbered ({ref}: "my last two orders" and the like).
DESCRIBED = {
    "status": ("what's going on with {ref}?", "can you check {ref}",
               "{ref} still haven't arrived, where are they"),
    "transfer": ("{ref} say delivered but I never got anything. I want to talk to a human",),
    "cancel": ("cancel {ref}", "I want {ref} cancelled, all of them"),
    "return": ("I want to return everything from {ref}", "refund {ref}, returning it all"),
    "exchange": ("I'd like to exchange stuff from {ref}: {swaps}",),
}  # fmt: skip
ONE_ORDER = ("my most recent order", "my last order", "the order I placed last week",
             "my order from last month", "my latest order", "yesterday's order")  # fmt: skip
ORDERS = ("my last {c} orders", "my {c} most recent orders", "the {c} orders I placed this month")
BOTH = ("both of my recent orders", "both orders I placed last week")
LEADS = ("I have {n} orders to sort out", "{b} things", "So, {b} orders")
TOTALS = (
    "how much will I get back in total?", "tell me the total before you do it",
    "what does that come to altogether?", "add up what I'm owed please",
    "can you work out the total for me first",
)  # fmt: skip
DIFFERENCES = (
    "how much extra will I pay for the difference?",
    "work out the price difference first please",
)
PROFILE_TOO = (
    "also update my default address to {a}", "my address on file should be {a} from now on",
    "can you change the address saved on my account to {a} too",
    "update my profile address as well, same one",
)  # fmt: skip
PROFILE_ONLY = (
    "please update my default address to {a}", "I moved! new address for my account: {a}",
    "change the address on my profile to {a}", "my address on file is old, it's {a} now",
)  # fmt: skip
# Product questions, by how many products they name ({listed}; {variant} of the one).
QUESTIONS = {
    0: ("what kinds of products do you sell?", "do you have a catalog? which product types are there",
        "what do you guys even sell", "list your product categories pls"),
    1: ("do you have {listed} in {variant}?", "is {listed} available in {variant}?",
        "what options does {listed} come in?", "how much is {listed}?"),
    2: ("I'm choosing between {listed} - what options do they come in?", "prices for {listed} please",
        "are {listed} in stock?", "what colors or sizes do {listed} come in"),
}  # fmt: skip
OPENERS = (
    "Hi,", "Hello!", "hey", "Hi there.", "Good morning,", "Hello, hope you're well.", "Ugh.",
    "", "", "", "Yo,", "Dear support team,", "hi hi", "Hey, quick one.",
)  # fmt: skip
CLOSERS = (
    "Thanks!", "thx", "Thank you so much.", "Appreciate it!", "This is urgent.", "", "", "",
    "Cheers", "I've been waiting forever.", "Please hurry.", "ty", "Thanks in advance :)",
)  # fmt: skip
CHATTER = (
    "My sister recommended your store so I'm a bit disappointed.", "Long time customer here.",
    "Sorry if this is the wrong place to ask.", "I tried the website but it kept erroring out.",
    "I'm on my phone so sorry for typos.", "Your chat bot last week was no help.",
    "Honestly not a great week for me.", "Love your stuff usually!",
)  # fmt: skip
ANGER = ("This is ridiculous.", "Not happy.", "Third time I'm writing about this!!", "Seriously??")


@dataclass
class Ask:
    """What the customer wants done with one order (`items`: (product, old, new) variants)."""

    action: str
    items: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class Request:
    ident: str | None  # "email", "name_zip", or None for a product question
    asks: list[Ask] = field(default_factory=list)
    numbered: bool = True  # orders given by id; otherwise described ("my last order")
    calculate: bool = False
    profile_address: bool = False
    products: list[str] = field(default_factory=list)  # a product question's products


def solution(request: Request) -> list[str]:
    if request.ident is None:
        return ["list_all_product_types"] + ["get_product_details"] * len(request.products)
    asks = request.asks
    steps = [f"find_user_id_by_{request.ident}"]
    if (
        not request.numbered
        or request.profile_address
        or any(a.action == "modify_payment" for a in asks)
    ):
        steps.append("get_user_details")
    steps += ["get_order_details"] * len(asks)
    steps += ["get_product_details" for a in asks if a.action in NEEDS_PRODUCTS for _ in a.items]
    steps += ["calculate"] * request.calculate
    steps += [ACTION_TOOL[a.action] for a in asks if a.action in ACTION_TOOL]
    steps += ["modify_user_address"] * request.profile_address
    steps += ["transfer_to_human_agents"] * any(a.action == "transfer" for a in asks)
    return steps


class Writer:
    """Writes requests the way customers do, from one seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used_ids: set[str] = set()

    def pick(self, options: tuple[str, ...], **fields: str) -> str:
        return self.rng.choice(options).format(**fields)

    def order_id(self) -> str:
        while (oid := f"W{self.rng.randint(1_000_000, 9_999_999)}") in self.used_ids:
            pass
        self.used_ids.add(oid)
        return self.rng.choice((f"#{oid}", f"#{oid}", oid, f"order #{oid}", f"order number {oid}"))

    def count(self, n: int, both: bool = False) -> str:
        """`n` as customers write it: digits or a word ("both" where it reads right)."""
        return self.rng.choice([str(n), NUMBER[n], NUMBER[n], *["both"] * (both and n == 2)])

    def address(self) -> str:
        city, state = self.rng.choice(CITIES)
        number, street = self.rng.randint(10, 9999), self.rng.choice(STREETS)
        unit = self.rng.choice(("", "", f", Apt {self.rng.randint(1, 40)}", ""))
        place = f"{number} {street} {self.rng.choice(SUFFIXES)}{unit}"
        return f"{place}, {city}, {state} {self.rng.randint(10000, 99999)}"

    def payment(self) -> str:
        digits = f"{self.rng.randint(0, 9999):04d}"
        return self.rng.choice(
            ("PayPal", "my paypal", "my gift card", f"the Visa ending in {digits}",
             f"my Mastercard ending {digits}", f"the credit card ending in {digits}", "my Amex")
        )  # fmt: skip

    def product(self, name: str) -> str:
        return self.rng.choice((name, name.lower(), name.lower()))

    def items(self, n: int) -> list[tuple[str, str, str]]:
        chosen = []
        for name in self.rng.sample(sorted(PRODUCTS), n):
            old, new = self.rng.sample(PRODUCTS[name], 2)
            chosen.append((self.product(name), old, new))
        return chosen

    def swaps(self, items: list[tuple[str, str, str]]) -> str:
        return join([self.pick(SWAPS, p=p, old=old, new=new) for p, old, new in items])

    def clause(self, ask: Ask, ref: str) -> str:
        many = len(ask.items) > 1 or any(p.lower() in PLURAL for p, _, _ in ask.items)
        return self.pick(
            CLAUSES[ask.action],
            ref=ref,
            names=join([f"the {p}" for p, _, _ in ask.items]),
            swaps=self.swaps(ask.items),
            they="they" if many else "it",
            them="them" if many else "it",
            were="were" if many else "was",
            reason=self.rng.choice(REASONS),
            address=self.address(),
            pay=self.payment(),
        )

    def who(self, ident: str) -> str:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        number, domain = self.rng.randint(1000, 9999), self.rng.choice(DOMAINS)
        email = f"{first.lower()}.{last.lower()}{number}@{domain}"
        zip_code = f"{self.rng.randint(10000, 99999)}"
        return self.pick(
            BY_EMAIL if ident == "email" else BY_NAME_ZIP,
            e=email, F=first, L=last, f=first.lower(), l=last.lower(), z=zip_code,
        )  # fmt: skip

    def body(self, request: Request) -> str:
        if request.ident is None:
            products = request.products
            listed = join([f"the {self.product(p)}" for p in products])
            variant = self.rng.choice(PRODUCTS[products[0]]) if products else ""
            return self.pick(QUESTIONS[min(len(products), 2)], listed=listed, variant=variant)
        asks = request.asks
        if not asks:  # the saved address alone
            return self.pick(PROFILE_ONLY, a=self.address())
        n, b = self.count(len(asks)), self.count(len(asks), both=True)
        if not request.numbered:
            text = self.described(asks)
        else:
            refs = [self.order_id() for _ in asks]
            action = asks[0].action
            if len({a.action for a in asks}) == 1 and action in TOGETHER and len(asks) > 1:
                text = self.pick(TOGETHER[action], listed=join(refs), n=n, b=b)
            else:
                parts = [self.clause(a, r) for a, r in zip(asks, refs, strict=True)]
                if len(parts) > 1 and self.rng.random() < 0.5:
                    parts[0] = f"{cap(self.pick(LEADS, n=n, b=b))}: {parts[0]}"
                text = self.chain(parts)
        extras = []
        if request.calculate:
            exchange = asks[0].action == "exchange"
            extras.append(self.pick(DIFFERENCES if exchange else TOTALS))
        if request.profile_address:
            extras.append(self.pick(PROFILE_TOO, a=self.address()))
        return self.chain([text, *extras])

    def described(self, asks: list[Ask]) -> str:
        """Orders the customer does not number: all of one kind."""
        if len(asks) == 1:
            return self.clause(asks[0], self.rng.choice(ONE_ORDER))
        count = self.count(len(asks), both=True)
        ref = self.rng.choice(BOTH) if count == "both" else self.pick(ORDERS, c=count)
        swaps = self.swaps([a.items[0] for a in asks if a.items])
        return self.pick(DESCRIBED[asks[0].action], ref=ref, swaps=swaps)

    def chain(self, parts: list[str]) -> str:
        text = parts[0]
        for part in parts[1:]:
            if text.endswith(("?", "!")):
                text += " " + cap(self.rng.choice(("", "also ", "and ")) + part)
            else:
                text += self.rng.choice((", and ", ". Also ", "; ", ". And ", ", plus ")) + part
        return text

    def write(self, request: Request) -> str:
        body = cap(self.body(request)) + "."
        style = self.rng.random()
        sentences = [self.rng.choice(OPENERS), body]
        if request.ident is not None:
            who = cap(self.who(request.ident)) + "."
            sentences.insert(1 if self.rng.random() < 0.6 else 2, who)
        if style < 0.2:
            sentences.insert(1, self.rng.choice(CHATTER))
        elif style < 0.35:
            sentences.append(self.rng.choice(ANGER))
        sentences.append(self.rng.choice(CLOSERS))
        text = re.sub(r"([?!.])\.", r"\1", " ".join(s for s in sentences if s))
        if 0.35 <= style < 0.55:  # terse: lower case, no full stops
            text = text.lower().replace(". ", " ").rstrip(".")
        return self.typos(text) if self.rng.random() < 0.25 else text

    def typos(self, text: str) -> str:
        """One or two slips of the finger in ordinary words (never in ids, emails or names)."""
        words = text.split(" ")
        plain = [i for i, w in enumerate(words) if w.isalpha() and w.islower() and len(w) >= 5]
        for i in self.rng.sample(plain, min(len(plain), self.rng.randint(1, 2))):
            w, k = words[i], self.rng.randint(1, len(words[i]) - 3)
            swapped, dropped, doubled = (
                w[:k] + w[k + 1] + w[k] + w[k + 2 :],
                w[:k] + w[k + 1 :],
                w[:k] + w[k] + w[k:],
            )
            words[i] = self.rng.choice((swapped, dropped, doubled))
        return " ".join(words)


def cap(text: str) -> str:
    """The first letter up, but never an email's."""
    return text if "@" in text.split(" ")[0] else text[:1].upper() + text[1:]


def join(parts: list[str]) -> str:
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else "".join(parts)


# (intent, (action, items) per order, numbered, calculate, profile address, train, held out).
# Recipes with no training tasks give the held-out sequences training never shows whole.
RECIPES: tuple[tuple[str, tuple[tuple[str, int], ...], bool, bool, bool, int, int], ...] = (
    ("status", (("status", 0),), True, False, False, 3, 1),
    ("status", (("status", 0),), False, False, False, 3, 1),
    ("status", (("status", 0),) * 2, True, False, False, 3, 1),
    ("status", (("status", 0),) * 2, False, False, False, 2, 0),
    ("status", (("status", 0),) * 3, False, False, False, 0, 1),
    ("transfer", (("transfer", 0),), True, False, False, 4, 1),
    ("transfer", (("transfer", 0),) * 2, False, False, False, 0, 1),
    ("cancel", (("cancel", 0),), True, False, False, 3, 1),
    ("cancel", (("cancel", 0),), False, False, False, 2, 1),
    ("cancel", (("cancel", 0),) * 2, True, False, False, 3, 1),
    ("cancel", (("cancel", 0),) * 3, True, False, False, 0, 1),
    ("return", (("return", 1),), True, False, False, 3, 1),
    ("return", (("return", 2),), True, False, False, 2, 1),
    ("return", (("return", 1),), False, False, False, 2, 1),
    ("return", (("return", 1),) * 2, True, False, False, 3, 1),
    ("return", (("return", 1),) * 3, True, False, False, 0, 2),
    ("return", (("return", 1),), True, True, False, 2, 1),
    ("return", (("return", 1),) * 2, True, True, False, 2, 0),
    ("return", (("return", 1),) * 2, False, True, False, 1, 0),
    ("return", (("return", 1),) * 3, False, True, False, 0, 1),
    ("return", (("return", 2),) * 3, True, True, False, 0, 1),
    ("exchange", (("exchange", 1),), True, False, False, 3, 2),
    ("exchange", (("exchange", 2),), True, False, False, 3, 1),
    ("exchange", (("exchange", 3),), True, False, False, 0, 1),
    ("exchange", (("exchange", 1),), False, False, False, 2, 1),
    ("exchange", (("exchange", 1),) * 2, True, False, False, 2, 1),
    ("exchange", (("exchange", 1),) * 2, False, False, False, 0, 1),
    ("exchange", (("exchange", 1),), True, True, False, 2, 1),
    ("exchange", (("exchange", 2),) * 2, True, True, False, 2, 0),
    ("exchange", (("exchange", 2), ("exchange", 2), ("exchange", 1)), True, True, False, 0, 1),
    ("modify_items", (("modify_items", 1),), True, False, False, 3, 1),
    ("modify_items", (("modify_items", 2),), True, False, False, 2, 1),
    ("modify_address", (("modify_address", 0),), True, False, False, 3, 1),
    ("modify_address", (("modify_address", 0),), False, False, False, 1, 1),
    ("modify_payment", (("modify_payment", 0),), True, False, False, 3, 1),
    ("update_profile_address", (), True, False, True, 3, 1),
    ("modify_address", (("modify_address", 0),), True, False, True, 2, 1),
    ("return_and_cancel", (("return", 1), ("cancel", 0)), True, False, False, 2, 1),
    ("return_and_cancel", (("return", 1), ("cancel", 0)), True, True, False, 0, 1),
    ("exchange_and_return", (("exchange", 1), ("return", 1)), True, False, False, 2, 0),
    ("exchange_and_return", (("exchange", 2), ("return", 1)), True, False, False, 0, 1),
    ("cancel_and_modify_address", (("cancel", 0), ("modify_address", 0)), True, False, False, 2, 0),
    ("cancel_and_modify_address", (("cancel", 0), ("modify_address", 0)), True, False, True, 0, 1),
    ("exchange_return_cancel", (("exchange", 1), ("return", 1), ("cancel", 0)), True, False, False, 0, 1),
)  # fmt: skip
PRODUCT_QUESTIONS = ((0, 2, 1), (1, 3, 1), (2, 2, 1), (3, 0, 2))  # (products, train, held out)

Made = list[tuple[str, list[str], str, str]]  # (text, solution, intent, split) per task


def generate(seed: int = SEED) -> dict[str, object]:
    rng = random.Random(seed)
    writer = Writer(rng)
    made: Made = []
    for intent, asks, numbered, calculate, profile, train, heldout in RECIPES:
        for split in ["train"] * train + ["heldout"] * heldout:
            ident = rng.choice(("email", "name_zip"))
            items = iter(writer.items(sum(n for _, n in asks)))  # no product twice in a request
            orders = [Ask(action, [next(items) for _ in range(n)]) for action, n in asks]
            request = Request(ident, orders, numbered, calculate, profile)
            made.append((writer.write(request), solution(request), intent, split))
    for count, train, heldout in PRODUCT_QUESTIONS:
        for split in ["train"] * train + ["heldout"] * heldout:
            request = Request(None, products=rng.sample(sorted(PRODUCTS), count))
            made.append((writer.write(request), solution(request), "product_info", split))
    rng.shuffle(made)
    check(made)
    return {
        "id": "retail_support",
        "name": "Retail Support",
        "description": "Long tool sequences at an online shop's support desk: identify the "
        "customer, look up each order and product they mention, then cancel, return, exchange "
        "or modify, in the style of tau-bench's retail domain.",
        "difficulty": "advanced",
        "tools": [{"name": name, "description": text} for name, text in TOOLS.items()],
        "tasks": [
            {"id": f"rs-{i:04d}", "text": text, "solution": steps, "intent": intent, "split": split}
            for i, (text, steps, intent, split) in enumerate(made, 1)
        ],
    }


def check(made: Made) -> None:
    """Every step of a held-out solution (a tool after the one before, from the start to the
    finish) is in some training solution; no two tasks share a text."""
    pairs = {
        pair
        for _, steps, _, split in made
        if split == "train"
        for pair in zip(["start", *steps], [*steps, "finish"], strict=True)
    }
    for text, steps, _, split in made:
        missing = set(zip(["start", *steps], [*steps, "finish"], strict=True)) - pairs
        if split == "heldout" and missing:
            raise AssertionError(f"{text!r}: training never shows {sorted(missing)}")
    if len({text for text, *_ in made}) != len(made):
        raise AssertionError("two tasks have the same text")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.write_text(dump(generate()), encoding="utf-8")


if __name__ == "__main__":
    main()
