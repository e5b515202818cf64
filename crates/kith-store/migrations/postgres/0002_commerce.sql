-- Commerce core: catalog with tier prices, stock per location, carts, orders with their
-- events, payments with gateway event ids, refunds, the double-entry ledger, shipments'
-- tracking events and store pickup codes.

-- Merchant commerce settings (defaults are DESIGN §3-4's).
ALTER TABLE merchants ADD COLUMN shipping_fee_fen bigint NOT NULL DEFAULT 0 CHECK (shipping_fee_fen >= 0);
ALTER TABLE merchants ADD COLUMN free_shipping_over_fen bigint CHECK (free_shipping_over_fen >= 0);
ALTER TABLE merchants ADD COLUMN unpaid_timeout_secs bigint NOT NULL DEFAULT 1800 CHECK (unpaid_timeout_secs BETWEEN 60 AND 86400);
ALTER TABLE merchants ADD COLUMN auto_confirm_days bigint NOT NULL DEFAULT 10 CHECK (auto_confirm_days BETWEEN 1 AND 60);
ALTER TABLE merchants ADD COLUMN after_sale_days bigint NOT NULL DEFAULT 7 CHECK (after_sale_days BETWEEN 0 AND 60);

CREATE TABLE categories (
    id          uuid PRIMARY KEY,
    merchant_id uuid NOT NULL REFERENCES merchants (id),
    name        text NOT NULL,
    created_at  timestamptz NOT NULL,
    CONSTRAINT categories_merchant_id_name_key UNIQUE (merchant_id, name)
);

CREATE TABLE products (
    id          uuid PRIMARY KEY,
    merchant_id uuid NOT NULL REFERENCES merchants (id),
    category_id uuid REFERENCES categories (id),
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    images      jsonb NOT NULL,
    status      text NOT NULL CHECK (status IN ('draft', 'active', 'archived')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX products_merchant_idx ON products (merchant_id, status, created_at);

CREATE TABLE skus (
    id             uuid PRIMARY KEY,
    product_id     uuid NOT NULL REFERENCES products (id),
    merchant_id    uuid NOT NULL REFERENCES merchants (id),
    code           text NOT NULL,
    attrs          jsonb NOT NULL,
    weight_g       bigint NOT NULL DEFAULT 0 CHECK (weight_g >= 0),
    list_price_fen bigint NOT NULL CHECK (list_price_fen >= 0),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    CONSTRAINT skus_merchant_id_code_key UNIQUE (merchant_id, code)
);
CREATE INDEX skus_product_idx ON skus (product_id);

CREATE TABLE sku_tier_prices (
    sku_id    uuid NOT NULL REFERENCES skus (id),
    tier_id   uuid NOT NULL REFERENCES tiers (id),
    price_fen bigint NOT NULL CHECK (price_fen >= 0),
    PRIMARY KEY (sku_id, tier_id)
);

-- Where stock is kept: warehouses, and each offline store.
CREATE TABLE locations (
    id          uuid PRIMARY KEY,
    merchant_id uuid NOT NULL REFERENCES merchants (id),
    kind        text NOT NULL CHECK (kind IN ('warehouse', 'store')),
    store_id    uuid REFERENCES stores (id),
    name        text NOT NULL,
    created_at  timestamptz NOT NULL,
    CONSTRAINT locations_store_id_key UNIQUE (store_id),
    CONSTRAINT locations_merchant_id_name_key UNIQUE (merchant_id, name),
    CONSTRAINT locations_store_matches_kind CHECK ((kind = 'store') = (store_id IS NOT NULL))
);

-- Available = on_hand - reserved. Reservation is one conditional UPDATE; the CHECK is the
-- last line of defence against a negative count.
CREATE TABLE stock (
    sku_id      uuid NOT NULL REFERENCES skus (id),
    location_id uuid NOT NULL REFERENCES locations (id),
    merchant_id uuid NOT NULL REFERENCES merchants (id),
    on_hand     bigint NOT NULL DEFAULT 0,
    reserved    bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (sku_id, location_id),
    CONSTRAINT stock_never_negative CHECK (reserved >= 0 AND on_hand >= reserved)
);

CREATE TABLE stock_movements (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku_id         uuid NOT NULL REFERENCES skus (id),
    location_id    uuid NOT NULL REFERENCES locations (id),
    merchant_id    uuid NOT NULL REFERENCES merchants (id),
    on_hand_delta  bigint NOT NULL,
    reserved_delta bigint NOT NULL,
    reason         text NOT NULL CHECK (reason IN ('adjustment', 'reservation', 'release', 'commit')),
    actor_id       uuid REFERENCES accounts (id),
    order_id       uuid,
    note           text NOT NULL DEFAULT '',
    at             timestamptz NOT NULL
);
CREATE INDEX stock_movements_sku_idx ON stock_movements (sku_id, location_id, id);
CREATE INDEX stock_movements_merchant_idx ON stock_movements (merchant_id, id);
CREATE INDEX stock_merchant_idx ON stock (merchant_id, sku_id, location_id);

CREATE TABLE cart_items (
    account_id  uuid NOT NULL REFERENCES accounts (id),
    merchant_id uuid NOT NULL REFERENCES merchants (id),
    sku_id      uuid NOT NULL REFERENCES skus (id),
    quantity    bigint NOT NULL CHECK (quantity BETWEEN 1 AND 999),
    added_at    timestamptz NOT NULL,
    PRIMARY KEY (account_id, sku_id)
);
CREATE INDEX cart_items_merchant_idx ON cart_items (account_id, merchant_id);

CREATE TABLE orders (
    id                 uuid PRIMARY KEY,
    merchant_id        uuid NOT NULL REFERENCES merchants (id),
    buyer_id           uuid NOT NULL REFERENCES accounts (id),
    status             text NOT NULL CHECK (status IN ('pending_payment', 'paid', 'awaiting_group', 'fulfilling', 'shipped',
                           'ready_for_pickup', 'delivered', 'picked_up', 'completed', 'cancelled', 'refunded')),
    delivery           text NOT NULL CHECK (delivery IN ('shipping', 'pickup')),
    location_id        uuid NOT NULL REFERENCES locations (id),
    pickup_store_id    uuid REFERENCES stores (id),
    tier_code          text,
    address            jsonb,
    goods_fen          bigint NOT NULL CHECK (goods_fen >= 0),
    shipping_fen       bigint NOT NULL CHECK (shipping_fen >= 0),
    total_fen          bigint NOT NULL,
    paid_fen           bigint NOT NULL DEFAULT 0,
    refunded_fen       bigint NOT NULL DEFAULT 0,
    payment_provider   text,
    carrier            text,
    tracking_no        text,
    pay_deadline       timestamptz NOT NULL,
    auto_confirm_at    timestamptz,
    after_sale_ends_at timestamptz,
    created_at         timestamptz NOT NULL,
    paid_at            timestamptz,
    shipped_at         timestamptz,
    delivered_at       timestamptz,
    completed_at       timestamptz,
    cancelled_at       timestamptz,
    updated_at         timestamptz NOT NULL,
    CONSTRAINT orders_total_adds_up CHECK (total_fen = goods_fen + shipping_fen),
    CONSTRAINT orders_refund_within_paid CHECK (refunded_fen >= 0 AND refunded_fen <= paid_fen),
    CONSTRAINT orders_pickup_has_store CHECK ((delivery = 'pickup') = (pickup_store_id IS NOT NULL))
);
CREATE INDEX orders_buyer_idx ON orders (buyer_id, created_at);
CREATE INDEX orders_merchant_idx ON orders (merchant_id, created_at);
CREATE INDEX orders_status_idx ON orders (status, pay_deadline);

CREATE TABLE order_lines (
    id                uuid PRIMARY KEY,
    order_id          uuid NOT NULL REFERENCES orders (id),
    line_no           bigint NOT NULL,
    sku_id            uuid NOT NULL REFERENCES skus (id),
    product_name      text NOT NULL,
    sku_code          text NOT NULL,
    attrs             jsonb NOT NULL,
    quantity          bigint NOT NULL CHECK (quantity BETWEEN 1 AND 999),
    unit_price_fen    bigint NOT NULL CHECK (unit_price_fen >= 0),
    line_total_fen    bigint NOT NULL,
    refunded_quantity bigint NOT NULL DEFAULT 0,
    refunded_fen      bigint NOT NULL DEFAULT 0,
    CONSTRAINT order_lines_order_id_line_no_key UNIQUE (order_id, line_no),
    CONSTRAINT order_lines_total_adds_up CHECK (line_total_fen = quantity * unit_price_fen),
    CONSTRAINT order_lines_refund_bounds CHECK (refunded_quantity BETWEEN 0 AND quantity AND refunded_fen BETWEEN 0 AND line_total_fen)
);

CREATE TABLE order_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id    uuid NOT NULL REFERENCES orders (id),
    from_status text,
    to_status   text NOT NULL,
    actor_kind  text NOT NULL CHECK (actor_kind IN ('buyer', 'staff', 'clerk', 'system', 'gateway', 'carrier')),
    actor_id    uuid REFERENCES accounts (id),
    note        text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL
);
CREATE INDEX order_events_order_idx ON order_events (order_id, id);

CREATE TABLE payments (
    id           uuid PRIMARY KEY,
    purpose      text NOT NULL CHECK (purpose IN ('order', 'topup')),
    order_id     uuid REFERENCES orders (id),
    account_id   uuid NOT NULL REFERENCES accounts (id),
    provider     text NOT NULL,
    amount_fen   bigint NOT NULL CHECK (amount_fen > 0),
    -- `returned`: it succeeded at the gateway after the order was cancelled or paid
    -- another way, and the money went straight back.
    status       text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'cancelled', 'returned')),
    created_at   timestamptz NOT NULL,
    succeeded_at timestamptz,
    CONSTRAINT payments_order_matches_purpose CHECK ((purpose = 'order') = (order_id IS NOT NULL))
);
CREATE INDEX payments_order_idx ON payments (order_id);
-- At most one successful payment per order.
CREATE UNIQUE INDEX payments_order_id_key ON payments (order_id) WHERE status = 'succeeded';

-- Every callback a gateway or carrier sent, by its own event id: a duplicate has no
-- second effect.
CREATE TABLE gateway_events (
    provider    text NOT NULL,
    event_id    text NOT NULL,
    payment_id  uuid,
    kind        text NOT NULL,
    outcome     text NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (provider, event_id)
);

CREATE TABLE refunds (
    id                uuid PRIMARY KEY,
    order_id          uuid NOT NULL REFERENCES orders (id),
    merchant_id       uuid NOT NULL REFERENCES merchants (id),
    amount_fen        bigint NOT NULL CHECK (amount_fen > 0),
    includes_shipping boolean NOT NULL,
    lines             jsonb NOT NULL,
    provider          text NOT NULL,
    reason            text NOT NULL,
    actor_kind        text NOT NULL,
    actor_id          uuid REFERENCES accounts (id),
    created_at        timestamptz NOT NULL
);
CREATE INDEX refunds_order_idx ON refunds (order_id);

-- The ledger. A balance is the sum of its postings; `balance_fen` is kept beside the
-- postings in the same transaction so spending can be one conditional UPDATE.
CREATE TABLE ledger_accounts (
    id          text PRIMARY KEY,
    balance_fen bigint NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL
);

CREATE TABLE journal_entries (
    id              uuid PRIMARY KEY,
    idempotency_key text NOT NULL,
    kind            text NOT NULL,
    order_id        uuid REFERENCES orders (id),
    payment_id      uuid REFERENCES payments (id),
    refund_id       uuid REFERENCES refunds (id),
    memo            text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    CONSTRAINT journal_entries_idempotency_key_key UNIQUE (idempotency_key)
);
CREATE INDEX journal_entries_order_idx ON journal_entries (order_id);

CREATE TABLE postings (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry_id   uuid NOT NULL REFERENCES journal_entries (id),
    account_id text NOT NULL REFERENCES ledger_accounts (id),
    amount_fen bigint NOT NULL CHECK (amount_fen <> 0)
);
CREATE INDEX postings_account_idx ON postings (account_id, id);
CREATE INDEX postings_entry_idx ON postings (entry_id);

-- Entries are never updated or deleted: a correction is a new entry.
CREATE FUNCTION kith_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are immutable (%)', TG_TABLE_NAME USING ERRCODE = 'check_violation';
END;
$$;
CREATE TRIGGER journal_entries_immutable BEFORE UPDATE OR DELETE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION kith_refuse_change();
CREATE TRIGGER postings_immutable BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION kith_refuse_change();

CREATE TABLE tracking_events (
    carrier     text NOT NULL,
    event_id    text NOT NULL,
    order_id    uuid NOT NULL REFERENCES orders (id),
    status      text NOT NULL,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (carrier, event_id)
);
CREATE INDEX tracking_events_order_idx ON tracking_events (order_id, occurred_at);

CREATE TABLE pickup_codes (
    order_id    uuid PRIMARY KEY REFERENCES orders (id),
    store_id    uuid NOT NULL REFERENCES stores (id),
    code        text NOT NULL,
    created_at  timestamptz NOT NULL,
    redeemed_at timestamptz,
    redeemed_by uuid REFERENCES accounts (id),
    voided_at   timestamptz
);
-- A live code is unique within its store, so a clerk's typed digits find one order.
CREATE UNIQUE INDEX pickup_codes_store_id_code_key ON pickup_codes (store_id, code)
    WHERE redeemed_at IS NULL AND voided_at IS NULL;
