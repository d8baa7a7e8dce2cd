"""page attempts, content revisions, URL aliases (issue 12)

- ``articles.fetch_attempts``: claims of the article's page, counted *before* fetching, so a page
  that kills the process is still counted and given up after a bounded number of attempts.
- ``articles.content_rev`` and ``classifications.content_rev``: an article whose title, summary or
  text changed since it was scored is scored again (a story first seen garbled is not lost).
- ``classifications.error``: why the classifier could not judge an article (it fails alone).
- ``url_aliases``: other URLs of a stored article (a news aggregator's link resolved to the
  publisher's), so the same story is one article whichever feed brings it.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fetch_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('content_rev', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_rev', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('error', sa.Text(), nullable=True))
    op.create_table(
        'url_aliases',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('alias_key', sa.String(length=2000), nullable=False),
        sa.Column('alias_url', sa.Text(), nullable=False),
        sa.Column('article_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_url_aliases_article_id_articles'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_url_aliases')),
        sa.UniqueConstraint('alias_key', name=op.f('uq_url_aliases_alias_key')),
    )
    with op.batch_alter_table('url_aliases', schema=None) as batch_op:
        batch_op.create_index('ix_url_aliases_article_id', ['article_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('url_aliases', schema=None) as batch_op:
        batch_op.drop_index('ix_url_aliases_article_id')
    op.drop_table('url_aliases')
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.drop_column('error')
        batch_op.drop_column('content_rev')
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_column('content_rev')
        batch_op.drop_column('fetch_attempts')
