-- The raw flash-sale transaction: one unit of one of :nhot hot products, the contended row.
\set p random(1, :nhot)
\set c random(1, :ncustomers)
BEGIN;
UPDATE products SET reserved_count = reserved_count + 1
 WHERE id = (SELECT id FROM bench_products WHERE n = :p);
WITH o AS (
  INSERT INTO orders (id, number, customer_id, status, total_amount, shipping_address)
  SELECT gen_random_uuid(), 'ORD-H' || nextval('order_number_seq'), id, 'placed', 10,
         '{"line1": "1 Bench Street", "city": "Oslo", "postal_code": "0150", "country": "NO"}'
    FROM bench_customers WHERE n = :c
  RETURNING id
)
INSERT INTO order_items (id, order_id, product_id, quantity, unit_price, total_price)
SELECT gen_random_uuid(), o.id, b.id, 1, 10, 10 FROM o, bench_products b WHERE b.n = :p;
END;
