"""Pure rules about shops: personal data, who may set which field, status changes, history diffs.

No FastAPI or SQLAlchemy here: these read like the spec's tables and are unit-tested directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from retailcare_shared.privacy import mask_name, mask_phone, mask_text

# Owner's personal data (customers.md, gateway.md field-level rules).
PERSONAL_FIELDS = ("owner_name", "phones", "birthday", "hobbies")
# Collected only with the owner's consent (customers.md: "accepted only when consent is true").
CONSENT_FIELDS = ("birthday", "hobbies")
# What erasure leaves in place of each personal field.
ERASED_VALUES: dict[str, Any] = {
    "owner_name": None,
    "phones": [],
    "birthday": None,
    "hobbies": None,
}

# Every attribute that is versioned (the full state a version snapshot holds).
VERSIONED_FIELDS = (
    "license_no",
    "name",
    "owner_name",
    "phones",
    "address",
    "county",
    "district",
    "market_type",
    "trading_area",
    "business_format",
    "scale",
    "order_method",
    "business_hours",
    "display_form",
    "display_sku_count",
    "renown",
    "reputation",
    "compliance_grade",
    "price_labeling",
    "store_area_m2",
    "tobacco_area_m2",
    "self_operated",
    "licensed_on",
    "status",
    "manager_id",
    "birthday",
    "hobbies",
    "personal_data_consent",
)

# Roles that administer shops without restriction to their own (county scope still applies).
SHOP_ADMIN_ROLES = frozenset({"admin", "supervisor"})
# A customer manager edits the shop's description, not its assignment, territory or the credit
# inputs the valuation scores (compliance grade, price labelling): those are the market
# supervision's findings, and a manager is valued by the classes of their own shops.
MANAGER_FORBIDDEN_FIELDS = frozenset(
    {
        "manager_id",
        "compliance_grade",
        "price_labeling",
        "license_no",
        "county",
        "district",
        "self_operated",
    }
)

# Registering, a manager names the licence, county and territory, but still neither the manager
# (the shop is assigned to them) nor the credit inputs.
MANAGER_FORBIDDEN_AT_REGISTRATION = frozenset(
    {"manager_id", "compliance_grade", "price_labeling", "self_operated"}
)

STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    "active": frozenset({"suspended", "exited"}),
    "suspended": frozenset({"active", "exited"}),
    # Leaving the network (退网) is final: a returning shop registers with its new licence.
    "exited": frozenset(),
}


@dataclass(frozen=True)
class Violation:
    """A broken rule: which field, which rule, and a message for the caller."""

    field: str
    rule: str
    message: str


def forbidden_field(
    roles: Iterable[str], fields: Iterable[str], *, registering: bool = False
) -> str | None:
    """The first field the caller's roles may not set, or None when all are allowed."""
    role_set = frozenset(roles)
    if not role_set.isdisjoint(SHOP_ADMIN_ROLES):
        return None
    forbidden = MANAGER_FORBIDDEN_AT_REGISTRATION if registering else MANAGER_FORBIDDEN_FIELDS
    for field in sorted(fields):
        if field in forbidden:
            return field
    return None


def consent_violation(consent: bool, values: Mapping[str, Any]) -> Violation | None:
    """Birthday and hobbies are refused unless the owner has consented."""
    if consent:
        return None
    for field in CONSENT_FIELDS:
        if values.get(field) not in (None, "", []):
            return Violation(
                field,
                "personal_data_consent_required",
                "accepted only when personal_data_consent is true",
            )
    return None


def withdraw_consent(state: Mapping[str, Any]) -> dict[str, Any]:
    """Withdrawing consent clears the fields that were only kept because of it."""
    if state.get("personal_data_consent"):
        return dict(state)
    return {**state, **{field: None for field in CONSENT_FIELDS}}


def status_violation(current: str, requested: str) -> Violation | None:
    """Suspend, exit and reactivate follow STATUS_TRANSITIONS; anything else is refused."""
    if requested in STATUS_TRANSITIONS.get(current, frozenset()):
        return None
    return Violation(
        "status", "transition_not_allowed", f"a shop that is {current} cannot become {requested}"
    )


def changes_between(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Field → {old, new} for every versioned field whose value differs."""
    return {
        field: {"old": old.get(field), "new": new.get(field)}
        for field in VERSIONED_FIELDS
        if old.get(field) != new.get(field)
    }


def erase_snapshot(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """A version snapshot with every personal field blanked (business fields untouched)."""
    erased = dict(snapshot)
    for field, blank in ERASED_VALUES.items():
        if field in erased:
            erased[field] = blank
    erased["personal_data_consent"] = False
    return erased


def erase_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """A version's old → new record with the values of personal fields blanked."""
    erased = dict(changes)
    for field in (*PERSONAL_FIELDS, "personal_data_consent"):
        if field in erased:
            erased[field] = {"old": None, "new": None, "erased": True}
    return erased


def mask_personal(values: Mapping[str, Any]) -> dict[str, Any]:
    """The same values with personal fields masked (for roles without a need to see them)."""
    masked = dict(values)
    if "owner_name" in masked:
        masked["owner_name"] = mask_name(masked["owner_name"])
    if "phones" in masked and masked["phones"] is not None:
        masked["phones"] = [mask_phone(phone) for phone in masked["phones"]]
    if "birthday" in masked:
        masked["birthday"] = None
    if "hobbies" in masked:
        masked["hobbies"] = mask_text(masked["hobbies"])
    return masked


def mask_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """A history entry's old → new values with personal fields masked."""
    masked = dict(changes)
    for field in PERSONAL_FIELDS:
        if field in masked and isinstance(masked[field], Mapping):
            entry = dict(masked[field])
            for side in ("old", "new"):
                entry[side] = mask_personal({field: entry.get(side)})[field]
            masked[field] = entry
    return masked
