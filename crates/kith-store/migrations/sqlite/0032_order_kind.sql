-- What an order was placed as (issue 22; kith-app commerce/lifecycle): `plain` (a checkout
-- or a 秒杀), `group` (a group-buy seat) or `batch` (a 接龙 join). The order lifecycle asks
-- a kind's own tables (group_seats, batch_orders) only about orders of that kind, so paying,
-- cancelling or refunding a plain order reads neither. Existing orders take their kind from
-- the rows that made them.
ALTER TABLE orders ADD COLUMN kind TEXT NOT NULL DEFAULT 'plain' CHECK (kind IN ('plain', 'group', 'batch'));
UPDATE orders SET kind = 'group' WHERE id IN (SELECT order_id FROM group_seats);
UPDATE orders SET kind = 'batch' WHERE id IN (SELECT order_id FROM batch_orders);
