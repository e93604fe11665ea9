"""Accounts: users with a role and a unit scope, browser sessions, bearer tokens.

- ``user``: username (unique), display name, argon2id password hash, role (``admin``,
  ``reviewer``, ``uploader``), scope unit, ``is_active``.
- ``user_session`` and ``api_token`` keep only the SHA-256 of their secrets.
- ``submission.uploaded_by`` becomes a foreign key to ``user`` (a batch copy on
  SQLite). Uploads made before accounts existed have no uploader: any value there
  could name no account, so it is cleared first.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_UPLOADED_BY_FK = "fk_submission_uploaded_by_user"


def upgrade() -> None:
    op.create_table(
        "user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    for table in ("user_session", "api_token"):
        extra = (
            [sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False)]
            if table == "user_session"
            else [
                sa.Column("name", sa.String(length=100), nullable=False),
                sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
            ]
        )
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("token_sha256", sa.String(length=64), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            *extra,
            sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("token_sha256"),
        )
        op.create_index(f"ix_{table}_user_id", table, ["user_id"])
    op.execute("UPDATE submission SET uploaded_by = NULL")
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.create_foreign_key(_UPLOADED_BY_FK, "user", ["uploaded_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_constraint(_UPLOADED_BY_FK, type_="foreignkey")
    for table in ("api_token", "user_session"):
        op.drop_index(f"ix_{table}_user_id", table_name=table)
        op.drop_table(table)
    op.drop_table("user")
