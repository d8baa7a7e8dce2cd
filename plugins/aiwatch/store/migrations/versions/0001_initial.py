"""initial store: feeds, polls, host back-off, articles, cycle steps

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 18:26:57.022235
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('articles',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('url_key', sa.String(length=2000), nullable=False),
    sa.Column('guid', sa.Text(), nullable=True),
    sa.Column('feed', sa.String(length=64), nullable=False),
    sa.Column('outlet', sa.String(length=255), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('title_key', sa.String(length=40), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('summary_fp', sa.BigInteger(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('text_fp', sa.BigInteger(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('date_source', sa.String(length=8), nullable=True),
    sa.Column('lang', sa.String(length=8), nullable=True),
    sa.Column('site_name', sa.String(length=255), nullable=True),
    sa.Column('page_title', sa.Text(), nullable=True),
    sa.Column('fetch_status', sa.String(length=16), nullable=False),
    sa.Column('fetch_error', sa.Text(), nullable=True),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('encoding', sa.String(length=32), nullable=True),
    sa.Column('duplicate_of', sa.Integer(), nullable=True),
    sa.Column('first_run_id', sa.String(length=250), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('title_history', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['duplicate_of'], ['articles.id'], name=op.f('fk_articles_duplicate_of_articles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_articles')),
    sa.UniqueConstraint('url_key', name=op.f('uq_articles_url_key'))
    )
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_articles_feed'), ['feed'], unique=False)
        batch_op.create_index('ix_articles_fetch_status', ['fetch_status'], unique=False)
        batch_op.create_index('ix_articles_outlet_created', ['outlet', 'created_at'], unique=False)
        batch_op.create_index('ix_articles_outlet_title_key', ['outlet', 'title_key'], unique=False)

    op.create_table('cycle_steps',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=250), nullable=False),
    sa.Column('step', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stats', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cycle_steps')),
    sa.UniqueConstraint('run_id', 'step', name='uq_cycle_steps_run_step')
    )
    with op.batch_alter_table('cycle_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cycle_steps_run_id'), ['run_id'], unique=False)

    op.create_table('feed_polls',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=250), nullable=False),
    sa.Column('feed', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('new', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_polls')),
    sa.UniqueConstraint('run_id', 'feed', name='uq_feed_polls_run_feed')
    )
    with op.batch_alter_table('feed_polls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feed_polls_feed'), ['feed'], unique=False)

    op.create_table('feeds',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=True),
    sa.Column('etag', sa.Text(), nullable=True),
    sa.Column('last_modified', sa.Text(), nullable=True),
    sa.Column('last_polled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_ok_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.String(length=16), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('entries_seen', sa.BigInteger(), nullable=False),
    sa.Column('articles_new', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_feeds'))
    )
    op.create_table('host_backoff',
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('host', name=op.f('pk_host_backoff'))
    )


def downgrade() -> None:
    op.drop_table('host_backoff')
    op.drop_table('feeds')
    with op.batch_alter_table('feed_polls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feed_polls_feed'))

    op.drop_table('feed_polls')
    with op.batch_alter_table('cycle_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cycle_steps_run_id'))

    op.drop_table('cycle_steps')
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_index('ix_articles_outlet_title_key')
        batch_op.drop_index('ix_articles_outlet_created')
        batch_op.drop_index('ix_articles_fetch_status')
        batch_op.drop_index(batch_op.f('ix_articles_feed'))

    op.drop_table('articles')
