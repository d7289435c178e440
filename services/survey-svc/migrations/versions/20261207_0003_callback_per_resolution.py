"""One callback per resolution: a reopened complaint resolved again is called back again.

The callbacks table was unique on `complaint_id`, so the second `complaint.resolved` of a
reopened complaint created nothing and the shop was never asked about the second handling. A
callback is now unique per (complaint, resolution time): a redelivered or re-published event of
the same resolution (same `resolved_at`) still adds nothing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("uq_callbacks_complaint_id", "callbacks", type_="unique")
    # Also serves the complaint's callbacks lookup (leading column).
    op.create_unique_constraint(
        "uq_callbacks_complaint_id_resolved_at", "callbacks", ["complaint_id", "resolved_at"]
    )


def downgrade() -> None:
    # Keeps the latest callback of each complaint so the old unique constraint can return.
    op.execute(
        """DELETE FROM callback_attempts WHERE callback_id IN (
               SELECT id FROM callbacks AS c WHERE EXISTS (
                   SELECT 1 FROM callbacks AS later
                    WHERE later.complaint_id = c.complaint_id
                      AND later.resolved_at > c.resolved_at))"""
    )
    op.execute(
        """DELETE FROM callbacks AS c WHERE EXISTS (
               SELECT 1 FROM callbacks AS later
                WHERE later.complaint_id = c.complaint_id AND later.resolved_at > c.resolved_at)"""
    )
    op.drop_constraint("uq_callbacks_complaint_id_resolved_at", "callbacks", type_="unique")
    op.create_unique_constraint("uq_callbacks_complaint_id", "callbacks", ["complaint_id"])
