"""Declarative base of survey-svc's models (its own metadata)."""

from sqlalchemy.orm import DeclarativeBase

from retailcare_shared.db import new_metadata


class Base(DeclarativeBase):
    """Base of every survey-svc model."""

    metadata = new_metadata()
