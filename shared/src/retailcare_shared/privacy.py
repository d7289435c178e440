"""Masking of personal data for roles without need (gateway.md field-level rules)."""

from __future__ import annotations

MASK = "*"


def mask_phone(phone: str | None) -> str | None:
    """Keep the first three and last four digits: 138****5678."""
    if not phone:
        return phone
    if len(phone) <= 7:
        return MASK * len(phone)
    return phone[:3] + MASK * (len(phone) - 7) + phone[-4:]


def mask_name(name: str | None) -> str | None:
    """Keep the first character: 张** / J***."""
    if not name:
        return name
    return name[0] + MASK * max(1, len(name) - 1)


def mask_text(value: str | None) -> str | None:
    """Hide a free-text personal field entirely."""
    return None if value is None else MASK * 3
