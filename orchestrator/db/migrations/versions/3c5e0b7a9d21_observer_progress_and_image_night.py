"""observer progress (plan/album status, frames done, sequence progress) and image night

Revision ID: 3c5e0b7a9d21
Revises: d97d444feca0
Create Date: 2026-11-25 15:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c5e0b7a9d21"
down_revision: str | None = "d97d444feca0"  # after the process lease
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # server defaults fill the rows that exist already (the model gives its own on insert)
    with op.batch_alter_table("sequence", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("progress", sa.String(length=256), nullable=False, server_default="")
        )
    with op.batch_alter_table("album", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="pending")
        )
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="pending")
        )
        batch_op.add_column(
            sa.Column("frames_done", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("image", schema=None) as batch_op:
        batch_op.add_column(sa.Column("night", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_image_night"), ["night"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("image", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_image_night"))
        batch_op.drop_column("night")
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_column("frames_done")
        batch_op.drop_column("status")
    with op.batch_alter_table("album", schema=None) as batch_op:
        batch_op.drop_column("status")
    with op.batch_alter_table("sequence", schema=None) as batch_op:
        batch_op.drop_column("progress")
