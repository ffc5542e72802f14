"""Indexes for the order list at a million orders (issue 11): one (sort column, id) index per
sort of the list and per filter it pages within (customer, status), so a page and a capped
count read an index, not the table; order lines by (product, order) for q= on a product's
name; and on PostgreSQL the order number's start (pattern ops) and the lower-cased shipping
city, both as the search writes them.

The city is indexed through ``order_city_key(shipping_address)``, an IMMUTABLE function that
answers NULL for an address PostgreSQL's JSON functions refuse (an escaped lone surrogate or
NUL, stored before the API refused them): ``->>`` itself would make this migration, and every
later write of such a row, fail on it. It is PARALLEL UNSAFE (the default): its exception
block needs a subtransaction, which a parallel index build or scan cannot start.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 13:40:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

CITY_KEY = """
CREATE FUNCTION order_city_key(address json) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN lower(address ->> 'city');
EXCEPTION WHEN invalid_text_representation OR untranslatable_character THEN
    RETURN NULL;  -- text the JSON functions refuse: no city to find it by
END
$$
"""


def _postgresql() -> bool:
    return op.get_bind().dialect.name == 'postgresql'


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_customer_created_id', ['customer_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_orders_status_created_id', ['status', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_orders_total_id', ['total_amount', 'id'], unique=False)
        batch_op.create_index('ix_orders_status_updated_id', ['status_updated_at', 'id'], unique=False)
        # the new ones lead with the same columns
        batch_op.drop_index('ix_orders_customer_created')
        batch_op.drop_index('ix_orders_status_created')

    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.create_index('ix_order_items_product_order', ['product_id', 'order_id'], unique=False)
        batch_op.drop_index('ix_order_items_product_id')

    if _postgresql():
        op.create_index(
            'ix_orders_number_pattern', 'orders', ['number'], unique=False,
            postgresql_ops={'number': 'varchar_pattern_ops'},
        )
        op.execute(CITY_KEY)
        op.create_index('ix_orders_city_key', 'orders', [sa.text('order_city_key(shipping_address)')], unique=False)


def downgrade():
    if _postgresql():
        op.drop_index('ix_orders_city_key', table_name='orders')
        op.execute('DROP FUNCTION order_city_key(json)')
        op.drop_index('ix_orders_number_pattern', table_name='orders')

    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.create_index('ix_order_items_product_id', ['product_id'], unique=False)
        batch_op.drop_index('ix_order_items_product_order')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_status_created', ['status', 'created_at'], unique=False)
        batch_op.create_index('ix_orders_customer_created', ['customer_id', 'created_at'], unique=False)
        batch_op.drop_index('ix_orders_status_updated_id')
        batch_op.drop_index('ix_orders_total_id')
        batch_op.drop_index('ix_orders_status_created_id')
        batch_op.drop_index('ix_orders_customer_created_id')
