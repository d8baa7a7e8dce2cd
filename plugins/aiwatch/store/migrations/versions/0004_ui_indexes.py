"""indexes for the operator's view (issue 8)

Pages extracted per feed is one index-only pass over (feed, fetch_status); each feed's latest failed
poll is found from (feed, status, at) instead of scanning its whole poll log.

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.create_index('ix_articles_feed_fetch_status', ['feed', 'fetch_status'], unique=False)
    with op.batch_alter_table('feed_polls', schema=None) as batch_op:
        batch_op.create_index('ix_feed_polls_feed_status_at', ['feed', 'status', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('feed_polls', schema=None) as batch_op:
        batch_op.drop_index('ix_feed_polls_feed_status_at')
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_index('ix_articles_feed_fetch_status')
