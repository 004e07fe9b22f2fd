"""Segments: saved rules over contacts, compiled into one SQL query.

A segment's rules are JSON:

    {"match": "all" | "any",
     "rules": [{"field": "order_count", "op": "gte", "value": 2},
               {"field": "attribute", "key": "city", "op": "eq", "value": "Riga"},
               {"field": "opened", "op": "in_last_days", "value": 30}]}

`segment_rules_clean` checks them and says what is wrong in words staff
understand; `segment_filter` turns them into one Django `Q` (subqueries
become EXISTS), so counting or listing a segment is one query run by the
database, never a loop over contacts in Python, and it works on SQLite too.

Opens and clicks are human ones only: "in the last N days" reads the
contact's last_opened_at / last_clicked_at, which tracking moves forward only
for human hits. "In the last N campaigns" needs the messages, which live in
campaigns; contacts cannot import campaigns, so campaigns registers those
operators at start-up (`operator_register`, as contacts.privacy does for
erasers). Without campaigns installed the operators are simply not offered.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from contacts.models import Contact, EngagementTier, Group

MATCH_ALL, MATCH_ANY = "all", "any"
MAX_RULES = 30
MAX_DAYS = 36_500
MAX_CAMPAIGNS = 100

# How a rule's value is typed in, checked and shown: the builder reads these.
TEXT, NUMBER, MONEY, DAYS, COUNT, CAMPAIGNS, DATE, CHOICE, NONE = (
    "text", "number", "money", "days", "count", "campaigns", "date", "choice", "none",
)  # fmt: skip

Compiler = Callable[[object, str], Q]  # (clean value, attribute key) -> Q


@dataclass(frozen=True)
class Operator:
    name: str
    label: str
    value_kind: str
    compile: Compiler


@dataclass
class RuleField:
    name: str
    label: str
    operators: dict[str, Operator] = field(default_factory=dict)
    # For CHOICE values: a function returning [(value, label)], read when used.
    choices: Callable[[], list[tuple[str, str]]] | None = None
    needs_key: bool = False  # custom attributes name the attribute

    def add(self, name: str, label: str, value_kind: str, compile: Compiler) -> None:
        self.operators[name] = Operator(name, label, value_kind, compile)


_fields: dict[str, RuleField] = {}


def _field(name: str, label: str, **kwargs) -> RuleField:
    _fields[name] = RuleField(name, label, **kwargs)
    return _fields[name]


def operator_register(
    *, field: str, name: str, label: str, value_kind: str, compile: Compiler
) -> None:
    """Let an app above contacts add an operator (e.g. campaigns' "opened in
    the last N campaigns") to a field."""
    _fields[field].add(name, label, value_kind, compile)


def rule_fields() -> dict[str, RuleField]:
    return dict(_fields)


def _days_ago(days: int) -> datetime:
    return timezone.now() - timedelta(days=days)


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def _text_field(name: str, label: str) -> None:
    f = _field(name, label)
    f.add("eq", "is", TEXT, lambda v, k: Q(**{f"{name}__iexact": v}))
    f.add("neq", "is not", TEXT, lambda v, k: ~Q(**{f"{name}__iexact": v}))
    f.add("contains", "contains", TEXT, lambda v, k: Q(**{f"{name}__icontains": v}))
    f.add("not_contains", "does not contain", TEXT, lambda v, k: ~Q(**{f"{name}__icontains": v}))
    f.add("starts", "starts with", TEXT, lambda v, k: Q(**{f"{name}__istartswith": v}))
    f.add("ends", "ends with", TEXT, lambda v, k: Q(**{f"{name}__iendswith": v}))
    f.add("empty", "is empty", NONE, lambda v, k: Q(**{name: ""}))
    f.add("not_empty", "is not empty", NONE, lambda v, k: ~Q(**{name: ""}))


def _choice_field(name: str, label: str, choices) -> None:
    f = _field(name, label, choices=choices)
    f.add("eq", "is", CHOICE, lambda v, k: Q(**{name: v}))
    f.add("neq", "is not", CHOICE, lambda v, k: ~Q(**{name: v}))


def _number_field(name: str, label: str, kind: str) -> None:
    f = _field(name, label)
    for op, op_label in [("eq", "is"), ("gt", "more than"), ("gte", "at least"),
                         ("lt", "less than"), ("lte", "at most")]:  # fmt: skip
        lookup = "exact" if op == "eq" else op
        f.add(op, op_label, kind, lambda v, k, lookup=lookup: Q(**{f"{name}__{lookup}": v}))


def _recency_field(name: str, label: str, column: str, *, never_label: str) -> RuleField:
    """A fact with a date: "in the last N days", "not in the last N days"
    (which includes never)."""
    f = _field(name, label)
    f.add("in_last_days", "in the last … days", DAYS,
          lambda v, k: Q(**{f"{column}__gte": _days_ago(v)}))  # fmt: skip
    f.add(
        "not_in_last_days",
        "not in the last … days",
        DAYS,
        lambda v, k: Q(**{f"{column}__isnull": True}) | Q(**{f"{column}__lt": _days_ago(v)}),
    )
    f.add("ever", f"ever ({never_label} otherwise)", NONE,
          lambda v, k: Q(**{f"{column}__isnull": False}))  # fmt: skip
    f.add("never", "never", NONE, lambda v, k: Q(**{f"{column}__isnull": True}))
    return f


def _group_choices() -> list[tuple[str, str]]:
    return [(str(pk), name) for pk, name in Group.objects.values_list("pk", "name")]


def _in_group(group_id: int) -> Exists:
    members = Contact.groups.through.objects.filter(contact_id=OuterRef("pk"), group_id=group_id)
    return Exists(members)


def _distinct_values(column: str) -> Callable[[], list[tuple[str, str]]]:
    def choices() -> list[tuple[str, str]]:
        values = Contact.objects.order_by(column).values_list(column, flat=True).distinct()
        return [(value, value) for value in values[:500]]

    return choices


def _attribute_compile(lookup: str, negate: bool = False) -> Compiler:
    def compile(value, key: str) -> Q:
        q = Q(**{f"attributes__{key}__{lookup}": value})
        return ~q if negate else q

    return compile


def _build_fields() -> None:
    _text_field("email", "Email")
    _text_field("first_name", "First name")
    _text_field("last_name", "Last name")

    attribute = _field("attribute", "Custom attribute", needs_key=True)
    attribute.add("eq", "is", TEXT, _attribute_compile("iexact"))
    attribute.add("neq", "is not", TEXT, _attribute_compile("iexact", negate=True))
    attribute.add("contains", "contains", TEXT, _attribute_compile("icontains"))
    attribute.add("gt", "more than", NUMBER, _attribute_compile("gt"))
    attribute.add("lt", "less than", NUMBER, _attribute_compile("lt"))
    attribute.add("set", "is set", NONE, lambda v, k: Q(attributes__has_key=k))
    attribute.add("not_set", "is not set", NONE, lambda v, k: ~Q(attributes__has_key=k))

    group = _field("group", "Group", choices=_group_choices)
    group.add("eq", "is a member of", CHOICE, lambda v, k: Q(_in_group(int(v))))
    group.add("neq", "is not a member of", CHOICE, lambda v, k: ~Q(_in_group(int(v))))

    _choice_field("status", "Status", lambda: list(Contact.Status.choices))

    signup = _field("signed_up", "Signed up")
    signup.add("in_last_days", "in the last … days", DAYS,
               lambda v, k: Q(created_at__gte=_days_ago(v)))  # fmt: skip
    signup.add("not_in_last_days", "more than … days ago", DAYS,
               lambda v, k: Q(created_at__lt=_days_ago(v)))  # fmt: skip
    signup.add("before", "before", DATE, lambda v, k: Q(created_at__lt=_start_of(v)))
    signup.add("after", "on or after", DATE, lambda v, k: Q(created_at__gte=_start_of(v)))

    _recency_field("opened", "Opened a mail", "last_opened_at", never_label="never")
    _recency_field("clicked", "Clicked in a mail", "last_clicked_at", never_label="never")
    _choice_field("engagement_tier", "Engagement tier", lambda: list(EngagementTier.choices))
    _choice_field("locale", "Locale", _distinct_values("locale"))
    _choice_field("time_zone", "Time zone", _distinct_values("time_zone"))
    _recency_field("ordered", "Ordered", "last_order_at", never_label="never")
    _number_field("order_count", "Order count", COUNT)
    _number_field("total_spent", "Total spent", MONEY)


_build_fields()


# --- Checking -----------------------------------------------------------------


def _value_clean(kind: str, raw) -> object:
    """The rule's value in its Python type; ValueError says what is expected."""
    if kind == NONE:
        return None
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ValueError("needs a value")
    if isinstance(raw, bool):
        raise ValueError("needs a number")
    text = str(raw).strip()
    if kind == TEXT:
        if len(text) > 200:
            raise ValueError("takes at most 200 characters")
        return text
    if kind in (DAYS, COUNT, CAMPAIGNS):
        try:
            number = int(text)
        except ValueError:
            raise ValueError("needs a whole number") from None
        if kind == DAYS and not 1 <= number <= MAX_DAYS:
            raise ValueError(f"needs a number of days from 1 to {MAX_DAYS:,}")
        if kind == CAMPAIGNS and not 1 <= number <= MAX_CAMPAIGNS:
            raise ValueError(f"needs a number of campaigns from 1 to {MAX_CAMPAIGNS}")
        if kind == COUNT and number < 0:
            raise ValueError("needs a whole number, 0 or more")
        return number
    if kind in (NUMBER, MONEY):
        try:
            number = Decimal(text.replace(",", "."))
        except InvalidOperation:
            raise ValueError("needs a number, e.g. 42 or 19.90") from None
        if not number.is_finite():
            raise ValueError("needs a number, e.g. 42 or 19.90")
        return number if kind == MONEY else float(number)
    if kind == DATE:
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError("needs a date as YYYY-MM-DD") from None
    return text  # CHOICE, checked against the choices by the caller


def _rule_clean(number: int, rule) -> dict:
    where = f"Rule {number}"
    if not isinstance(rule, dict):
        raise ValidationError(f"{where}: is not a rule.", code="rule")
    rule_field = _fields.get(rule.get("field"))
    if rule_field is None:
        raise ValidationError(f"{where}: choose what to compare.", code="field")
    operator = rule_field.operators.get(rule.get("op"))
    if operator is None:
        raise ValidationError(
            f"{where}: choose how to compare “{rule_field.label}”.", code="operator"
        )
    clean = {"field": rule_field.name, "op": operator.name}
    if rule_field.needs_key:
        key = str(rule.get("key") or "").strip()
        if not key or len(key) > 100 or not key.replace("_", "").replace("-", "").isalnum():
            raise ValidationError(
                f"{where}: name the attribute (letters, digits, - and _), e.g. city.",
                code="key",
            )
        clean["key"] = key
    try:
        value = _value_clean(operator.value_kind, rule.get("value"))
    except ValueError as problem:
        raise ValidationError(
            f"{where}: “{rule_field.label} {operator.label}” {problem}.", code="value"
        ) from None
    if operator.value_kind == CHOICE:
        known = {str(choice) for choice, _ in rule_field.choices()}
        if value not in known:
            raise ValidationError(
                f"{where}: “{value}” is not a {rule_field.label.lower()} we know.", code="choice"
            )
    if value is not None:
        clean["value"] = str(value) if isinstance(value, Decimal | date) else value
    return clean


def segment_rules_clean(rules) -> dict:
    """The rules as stored, or ValidationError with one message per problem."""
    if not isinstance(rules, dict):
        raise ValidationError("The rules are not in the expected form.", code="invalid")
    match = rules.get("match", MATCH_ALL)
    if match not in (MATCH_ALL, MATCH_ANY):
        raise ValidationError("Match must be “all” or “any” of the rules.", code="match")
    items = rules.get("rules") or []
    if not isinstance(items, list):
        raise ValidationError("The rules are not in the expected form.", code="invalid")
    if len(items) > MAX_RULES:
        raise ValidationError(f"A segment has at most {MAX_RULES} rules.", code="too_many")
    clean, problems = [], []
    for number, rule in enumerate(items, start=1):
        try:
            clean.append(_rule_clean(number, rule))
        except ValidationError as problem:
            problems.append(problem)
    if problems:
        raise ValidationError(problems)
    return {"match": match, "rules": clean}


# --- Compiling ------------------------------------------------------------------


def _rule_filter(rule: dict) -> Q:
    rule_field = _fields[rule["field"]]
    operator = rule_field.operators[rule["op"]]
    # Stored values are JSON: bring dates and amounts back to their type.
    value = _value_clean(operator.value_kind, rule.get("value"))
    return operator.compile(value, rule.get("key", ""))


def segment_filter(rules: dict) -> Q:
    """One Q for the rules (already cleaned). No rule matches every contact."""
    parts = [_rule_filter(rule) for rule in rules.get("rules", [])]
    if not parts:
        return Q()
    combined = parts[0]
    for part in parts[1:]:
        combined = combined | part if rules.get("match") == MATCH_ANY else combined & part
    return combined


def segment_contacts(*, rules: dict) -> QuerySet:
    """The contacts the rules match: one query, evaluated when read."""
    return Contact.objects.filter(segment_filter(rules))


def segment_count(*, rules: dict) -> int:
    return segment_contacts(rules=rules).count()


def segment_ids_sql(*, rules: dict) -> tuple[str, list]:
    """SELECT of the matching contacts' ids with its parameters, for raw SQL
    such as a campaign's audience."""
    sql, params = segment_contacts(rules=rules).order_by().values("id").query.sql_with_params()
    return sql, list(params)


def rule_describe(rule: dict) -> str:
    """A rule in words, e.g. "Order count at least 2"."""
    rule_field = _fields.get(rule.get("field"))
    if rule_field is None:
        return "an unknown rule"
    operator = rule_field.operators.get(rule.get("op"))
    label = rule_field.label
    if rule_field.needs_key:
        label = f"{label} “{rule.get('key', '')}”"
    if operator is None:
        return f"{label}: an unknown comparison"
    value = rule.get("value")
    if operator.value_kind == CHOICE and rule_field.choices:
        value = dict(rule_field.choices()).get(str(value), value)
    words = operator.label
    if operator.value_kind == NONE:
        return f"{label} {words}"
    if "…" in words:
        return f"{label} {words.replace('…', str(value))}"
    return f"{label} {words} {value}"


def builder_schema() -> dict:
    """What the segment builder offers: fields, their operators and choices."""
    return {
        "fields": [
            {
                "name": f.name,
                "label": f.label,
                "needs_key": f.needs_key,
                "choices": [[str(v), str(label)] for v, label in f.choices()] if f.choices else [],
                "operators": [
                    {"name": op.name, "label": op.label, "kind": op.value_kind}
                    for op in f.operators.values()
                ],
            }
            for f in _fields.values()
        ]
    }
