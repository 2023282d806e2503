"""network of telescopes: sequence claim, schedule telescope

Revision ID: c43b87f24a79
Revises: d9ae4b52d472
Create Date: 2026-11-25 18:22:19.322954
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orchestrator.model.base

revision: str = "c43b87f24a79"
down_revision: str | None = "d9ae4b52d472"  # after the majordome history
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("schedule", schema=None) as batch_op:
        # the schedules of a single telescope's past belong to the default one
        batch_op.add_column(
            sa.Column("telescope", sa.String(length=64), nullable=False, server_default="main")
        )
        batch_op.create_index(batch_op.f("ix_schedule_telescope"), ["telescope"], unique=False)

    with op.batch_alter_table("sequence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("claim_expires", orchestrator.model.base.UTCDateTime(), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_sequence_claimed_by"), ["claimed_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sequence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sequence_claimed_by"))
        batch_op.drop_column("claim_expires")
        batch_op.drop_column("claimed_by")

    with op.batch_alter_table("schedule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_telescope"))
        batch_op.drop_column("telescope")
