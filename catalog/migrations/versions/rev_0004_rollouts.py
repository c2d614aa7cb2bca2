"""Deliveries (what the registry put where) and fleet roll-outs (upgrade jobs in the job table).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo", sa.String(length=2000), nullable=False),
        sa.Column("repo_key", sa.String(length=2000), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("template", sa.String(length=63), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("digest", sa.String(length=71), nullable=True),
        sa.Column("base", sa.String(length=200), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("repo_key", "path", name="uq_deliveries_repo_key_path"),
    )
    op.create_index("ix_deliveries_template", "deliveries", ["template"])
    op.create_table(
        "rollouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=63), nullable=False),
        sa.Column("to_spec", sa.String(length=200), nullable=False),
        sa.Column("to_version", sa.String(length=128), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollouts")),
        sa.UniqueConstraint("requested_by", "idempotency_key", name=op.f("uq_rollouts_requested_by")),
    )
    # batch mode: SQLite cannot add a foreign key to an existing table, so there the table is rebuilt
    with op.batch_alter_table("pull_request_jobs") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), server_default="render", nullable=False))
        batch.add_column(sa.Column("rollout_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_pull_request_jobs_rollout_id_rollouts"), "rollouts",
                                 ["rollout_id"], ["id"])
        batch.create_index(op.f("ix_pull_request_jobs_rollout_id"), ["rollout_id"])


def downgrade() -> None:
    with op.batch_alter_table("pull_request_jobs") as batch:
        batch.drop_index(op.f("ix_pull_request_jobs_rollout_id"))
        batch.drop_constraint(op.f("fk_pull_request_jobs_rollout_id_rollouts"), type_="foreignkey")
        batch.drop_column("rollout_id")
        batch.drop_column("kind")
    op.drop_table("rollouts")
    op.drop_index("ix_deliveries_template", table_name="deliveries")
    op.drop_table("deliveries")
