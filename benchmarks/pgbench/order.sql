-- The raw order transaction: what accepting and placing one 3-line order must write at the
-- least (three stock reservations, the order, its lines, its first history row), as plain SQL.
\set c random(1, :ncustomers)
\set p1 random(1, :nproducts)
\set p2 random(1, :nproducts)
\set p3 random(1, :nproducts)
BEGIN;
-- the rows locked in id order, as the reservation does (no deadlocks between orders)
SELECT id FROM products WHERE id IN (SELECT id FROM bench_products WHERE n IN (:p1, :p2, :p3))
 ORDER BY id FOR NO KEY UPDATE;
UPDATE products SET reserved_count = reserved_count + 1
 WHERE id IN (SELECT id FROM bench_products WHERE n IN (:p1, :p2, :p3))
   AND inventory_count - reserved_count >= 1;
WITH o AS (
  INSERT INTO orders (id, number, customer_id, status, total_amount, shipping_address)
  SELECT gen_random_uuid(), 'ORD-R' || nextval('order_number_seq'), id, 'placed', 30,
         '{"line1": "1 Bench Street", "city": "Oslo", "postal_code": "0150", "country": "NO"}'
    FROM bench_customers WHERE n = :c
  RETURNING id
), lines AS (
  INSERT INTO order_items (id, order_id, product_id, quantity, unit_price, total_price)
  SELECT gen_random_uuid(), o.id, b.id, 1, 10, 10
    FROM o, bench_products b WHERE b.n IN (:p1, :p2, :p3)
)
INSERT INTO order_status_history (id, order_id, old_status, new_status)
SELECT gen_random_uuid(), o.id, NULL, 'placed' FROM o;
END;
