"""customer-svc's own declarative base.

Every service owns its database, but `retailcare_shared.db.Base` is one MetaData for all of
them: a process that imports two services (the boot test, tooling) fails as soon as two services
name a table alike (`violations`, `shops`, ...). A MetaData of our own, with the platform's
naming convention, keeps customer-svc importable next to any other service.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from retailcare_shared.db import NAMING_CONVENTION


class Base(DeclarativeBase):
    """Declarative base of customer-svc's models."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
