"""operators pause a feed or ask for a poll now, from the Feeds view (issue 15)

``feeds.paused_at`` / ``feeds.paused_by``: a paused feed is left out by ``prepare`` until resumed
(kept in the feed list, so its history stays). ``feeds.poll_requested_at``: "poll now" lets the next
poll ignore the feed's back-off (not a host's Retry-After).

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('paused_by', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('poll_requested_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.drop_column('poll_requested_at')
        batch_op.drop_column('paused_by')
        batch_op.drop_column('paused_at')
