-- Parcels followed through a tracking provider (commerce/tracking): one subscription per
-- shipment (an order's, or an after-sale return's: `aftersale_id`) with the provider, made by the
-- `tracking.subscribe` job after the shipment commits. The provider pushes updates to a
-- callback URL naming the subscription, signed with the subscription's own salt (快递100:
-- sign = MD5(param + salt)), so a push proves it knows this subscription's secret.
-- The carrier's own words for each event (`description`) feed the buyer's timeline.

CREATE TABLE tracking_subscriptions (
    id            uuid PRIMARY KEY,
    provider      text NOT NULL,
    carrier       text NOT NULL,
    company       text NOT NULL,
    tracking_no   text NOT NULL,
    order_id      uuid NOT NULL REFERENCES orders (id),
    aftersale_id  uuid REFERENCES aftersale_requests (id),
    salt          text NOT NULL,
    status        text NOT NULL CHECK (status IN ('pending', 'subscribed', 'failed')),
    last_error    text,
    created_at    bigint NOT NULL,
    updated_at    bigint NOT NULL,
    UNIQUE (provider, carrier, tracking_no, order_id)
);
CREATE INDEX tracking_subscriptions_order_idx ON tracking_subscriptions (order_id);

ALTER TABLE tracking_events ADD COLUMN description text;
-- Events of an after-sale return's parcel name the request; the order's own timeline is
-- the rows without one.
ALTER TABLE tracking_events ADD COLUMN aftersale_id uuid REFERENCES aftersale_requests (id);
-- When the carrier delivered a return to the merchant: the receipt deadline counts from it.
ALTER TABLE aftersale_requests ADD COLUMN return_delivered_at bigint;
