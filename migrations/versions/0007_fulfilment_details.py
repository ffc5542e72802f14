"""Fulfilment details: the carrier and tracking number of a shipped order, internal notes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 05:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('carrier', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('tracking_number', sa.String(length=100), nullable=True))

    op.create_table('order_notes',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('author_user_id', sa.Uuid(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['author_user_id'], ['users.id'], name=op.f('fk_order_notes_author_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_notes_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_notes'))
    )
    with op.batch_alter_table('order_notes', schema=None) as batch_op:
        batch_op.create_index('ix_order_notes_order_created', ['order_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('order_notes', schema=None) as batch_op:
        batch_op.drop_index('ix_order_notes_order_created')

    op.drop_table('order_notes')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('tracking_number')
        batch_op.drop_column('carrier')
