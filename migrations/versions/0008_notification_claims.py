"""Notifications: a claim (lease) while one is being sent, and when it was last tried, so a
stranded notification is found again and sent once.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 05:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('notifications', sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))
    op.add_column('notifications', sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        'ix_notifications_unsent', 'notifications', ['created_at'], unique=False,
        postgresql_where=sa.text('sent_at IS NULL'), sqlite_where=sa.text('sent_at IS NULL'),
    )


def downgrade():
    op.drop_index('ix_notifications_unsent', table_name='notifications')
    op.drop_column('notifications', 'last_attempt_at')
    op.drop_column('notifications', 'claimed_until')
