"""Address normalisation and validation: one verdict per address.

`address_check` is what an import, a form and the admin ask. It is fast
because the work that depends only on the domain (syntax of the domain,
lookalike scripts, disposable providers, likely typos, the DNS lookup) is done
once per domain and cached, and a plain ASCII local part is checked with one
regular expression; anything unusual goes through email-validator in full.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from disposable_email_domains import blocklist as _DISPOSABLE
from django.conf import settings
from email_validator import EmailNotValidError, validate_email

# RFC 5322 dot-atom, which email-validator accepts as it is.
_ASCII_LOCAL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*")

ROLE = "role"
DISPOSABLE = "disposable"
TYPO = "typo"
FLAG_LABELS = {
    ROLE: "Role address",
    DISPOSABLE: "Disposable domain",
    TYPO: "Likely typo",
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# A mailbox of a function, read by whoever holds the job this week: such
# addresses complain more and rarely buy. Flagged, not refused.
ROLE_LOCAL_PARTS = _words(
    "abuse accounts admin administrator billing contact enquiries feedback hello help helpdesk "
    "hostmaster hr info inquiries jobs mail marketing media newsletter no-reply noreply office "
    "orders postmaster press privacy sales security service support team webmaster"
)

# Where most shop customers have their mailbox; a near miss of one of these
# is far more likely a typo than a real domain.
COMMON_PROVIDERS = _words(
    "gmail.com googlemail.com yahoo.com yahoo.co.uk yahoo.fr yahoo.de ymail.com hotmail.com "
    "hotmail.co.uk hotmail.fr hotmail.de outlook.com live.com msn.com icloud.com me.com mac.com "
    "aol.com mail.com gmx.de gmx.net gmx.com web.de t-online.de orange.fr free.fr laposte.net "
    "mail.ru yandex.ru yandex.com rambler.ru bk.ru list.ru inbox.ru qq.com 163.com 126.com "
    "proton.me protonmail.com comcast.net verizon.net att.net sbcglobal.net libero.it naver.com "
    "seznam.cz wp.pl onet.pl"
)
_TLD_TYPOS = {"con", "cpm", "cm", "om", "comm", "cmo", "vom", "xom", "co", "c0m"}

# Scripts that may share one label (UTS #39 "highly restrictive"): Japanese,
# Chinese and Korean names are often written mixed with Latin.
_ALLOWED_MIXES = [
    {"LATIN", "CJK", "HIRAGANA", "KATAKANA"},
    {"LATIN", "CJK", "BOPOMOFO"},
    {"LATIN", "CJK", "HANGUL"},
]
# Cyrillic and Greek letters drawn like Latin ones: a label made only of
# these, under a Latin top-level domain, imitates a Latin name (apple.com
# spelt in Cyrillic).
_LATIN_LOOKALIKES = set("аеорсухіјѕԁһӏԛԝкмнтвɑοαοκνρτυχ")


@dataclass(frozen=True, slots=True)
class AddressCheck:
    """The verdict on one address. `email` is the stored form, `problem` why
    it can never receive mail (None when it can), `flag` a warning worth
    showing (role, disposable or typo), `suggestion` the address it was
    probably meant to be."""

    email: str
    problem: str | None = None
    flag: str = ""
    suggestion: str = ""


def normalise_email(email: str) -> str:
    """The form an address is stored and compared in: trimmed, Unicode NFC,
    lower case."""
    email = email.strip()
    if not email.isascii():
        email = unicodedata.normalize("NFC", email)
    return email.lower()


def email_problem(email: str) -> str | None:
    """Why an address cannot receive mail, or None when it can."""
    return address_check(email, check_domain_dns=False).problem


def address_check(raw: str, *, check_domain_dns: bool | None = None) -> AddressCheck:
    email = normalise_email(raw or "")
    if not email:
        return AddressCheck("", "The email address is missing.")
    local, at, domain = email.rpartition("@")
    if not at or not local:
        return AddressCheck(email, "An email address must have an @-sign and a name before it.")
    if not (email.isascii() and len(local) <= 64 and _ASCII_LOCAL.fullmatch(local)):
        try:
            checked = validate_email(email, check_deliverability=False)
        except EmailNotValidError as error:
            return AddressCheck(email, str(error))
        email = normalise_email(checked.normalized)
        local, _, domain = email.rpartition("@")
    if len(email) > 254:
        return AddressCheck(email, "The email address is too long (at most 254 characters).")
    problem, flag, suggested_domain = domain_check(domain)
    if problem is None and (
        settings.ADDRESS_CHECK_DNS if check_domain_dns is None else check_domain_dns
    ):
        problem = domain_dns_problem(domain, settings.ADDRESS_DNS_TIMEOUT)
    if problem:
        return AddressCheck(email, problem)
    if not flag and local in ROLE_LOCAL_PARTS:
        flag = ROLE
    suggestion = f"{local}@{suggested_domain}" if suggested_domain else ""
    return AddressCheck(email, None, flag, suggestion)


@lru_cache(maxsize=200_000)
def domain_check(domain: str) -> tuple[str | None, str, str]:
    """(problem, flag, suggested domain) for a normalised domain."""
    try:
        validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError as error:
        return str(error), "", ""
    if lookalike := domain_lookalike_problem(domain):
        return lookalike, "", ""
    # Some typo domains are registered as throwaway mailboxes; the typo is
    # the likelier story.
    if suggestion := domain_typo_suggestion(domain):
        return None, TYPO, suggestion
    if domain in _DISPOSABLE:
        return None, DISPOSABLE, ""
    return None, "", ""


def _script(char: str) -> str:
    name = unicodedata.name(char, "")
    if name.startswith("CJK"):
        return "CJK"
    return name.split(" ", 1)[0]


def domain_lookalike_problem(domain: str) -> str | None:
    """A domain whose letters mix scripts so as to pass for another one, such
    as gmail.com with a Cyrillic letter a. Genuine internationalised domains
    (пример.рф, bücher.de, 例え.jp) pass."""
    if domain.isascii():
        return None
    labels = domain.split(".")
    for label in labels:
        scripts = {_script(char) for char in label if char.isalpha()}
        if len(scripts) > 1 and not any(scripts <= mix for mix in _ALLOWED_MIXES):
            return (
                f"The domain {domain} mixes letters of different alphabets "
                f"({', '.join(sorted(script.title() for script in scripts))}) "
                "so that it looks like another domain."
            )
    top = labels[-1]
    for label in labels[:-1]:
        if top.isascii() and label and not label.isascii() and set(label) <= _LATIN_LOOKALIKES:
            return (
                f"The domain {domain} is written in letters that only look Latin, "
                "so that it looks like another domain."
            )
    return None


def _edit_distance_at_most_one(a: str, b: str) -> bool:
    """True when b is a with one letter added, dropped, changed, or two
    neighbours swapped."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and (a[diffs[1]] == b[diffs[0]])
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


def domain_typo_suggestion(domain: str) -> str:
    """The common provider a domain is probably a typo of, or ''."""
    if domain in COMMON_PROVIDERS or not domain.isascii():
        return ""
    name, _, tld = domain.rpartition(".")
    for provider in sorted(COMMON_PROVIDERS):
        provider_name, _, provider_tld = provider.rpartition(".")
        if name == provider_name and provider_tld == "com" and tld in _TLD_TYPOS:
            return provider
        # Short names are too close to real domains (me.com, mi.com) to guess.
        if len(provider) >= 8 and _edit_distance_at_most_one(domain, provider):
            return provider
    return ""


@lru_cache(maxsize=50_000)
def domain_dns_problem(domain: str, timeout: float) -> str | None:
    """Whether a domain can receive mail: an MX record, or else an A/AAAA
    record (RFC 5321 §5.1). A lookup that times out counts as fine: a slow
    name server is no proof that the domain is gone."""
    import dns.exception
    import dns.resolver

    resolver = dns.resolver.Resolver()
    resolver.lifetime = timeout
    for record in ("MX", "A", "AAAA"):
        try:
            answer = resolver.resolve(domain, record)
        except dns.resolver.NXDOMAIN:
            return f"The domain {domain} does not exist."
        except (dns.resolver.NoAnswer, dns.resolver.NoNameservers):
            continue
        except dns.exception.Timeout:
            return None
        if record == "MX" and all(str(mx.exchange) == "." for mx in answer):
            return f"The domain {domain} does not accept email (null MX)."
        return None
    return f"The domain {domain} has no mail server."


def address_flag_note(email: str, flag: str) -> str:
    """What a flag means for this address, to show next to it."""
    if flag == ROLE:
        return "A role address: read by whoever holds the job; such mailboxes complain more."
    if flag == DISPOSABLE:
        return "A throwaway mailbox: it will likely stop existing soon."
    if flag == TYPO:
        suggestion = address_check(email, check_domain_dns=False).suggestion
        return f"Probably a typo{f' of {suggestion}' if suggestion else ''}."
    return ""
