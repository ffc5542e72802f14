-- The raw status transition: one placed order becomes picked, with its history row. Orders
-- are numbered in bench_orders; bench_order_seq hands each transaction the next one, so every
-- transaction changes a different order (as the HTTP run's requests do).
BEGIN;
WITH t AS (
  UPDATE orders SET status = 'picked', status_updated_at = now(), updated_at = now()
   WHERE id = (SELECT id FROM bench_orders WHERE n = (SELECT nextval('bench_order_seq')))
     AND status = 'placed'
  RETURNING id
)
INSERT INTO order_status_history (id, order_id, old_status, new_status)
SELECT gen_random_uuid(), t.id, 'placed', 'picked' FROM t;
END;
