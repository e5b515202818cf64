-- The value lists of CHECK constraints written as comparisons (issue 22). SQLite checks
-- `col IN ('a', 'b', 'c')` — a list of three or more constants — by building a temporary
-- B-tree of the list each time a statement writes a row: open it, insert each constant,
-- search it, close it (a list of one or two is compared in place). Ten statements of a
-- checkout and its payment built 13 such B-trees (the order, its events, commissions,
-- attribution, payment, stock movement, job…): callgrind counted ~700 k instructions for
-- the checkout's unit of work on the writer and ~550 k for the payment's before this
-- migration, ~490 k and ~460 k after (`kith bench checkout --scale tiny`, the spread
-- phase). `col = 'a' OR col = 'b' OR col = 'c'` means the same in SQL, NULL included (an
-- IN list is defined as those comparisons), and SQLite checks it in place.
--
-- SQLite cannot alter a CHECK, so the stored definitions are edited in place, as SQLite
-- documents for changing constraints (https://www.sqlite.org/lang_altertable.html#otheralter;
-- the same way as 0010): only the text of the constraints changes, the rows and the file do
-- not, and the rows already there satisfy the new constraints because they are the same
-- constraints. `writable_schema = RESET` makes this connection re-read the schema. The
-- schema cookie is left alone: a connection that compiled a statement against the old text
-- checks the same rule. New tables: write value lists of three or more as comparisons
-- (`tests/conformance.rs` fails when an INSERT into any table builds a temporary B-tree).
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(replace(sql,
    'CHECK (state IN (''requested'', ''agreed'', ''refused'', ''awaiting_return'',
                        ''return_shipped'', ''returned'', ''refunding'', ''refunded'', ''cancelled'', ''closed'', ''disputed'', ''decided''))',
    'CHECK (state = ''requested'' OR state = ''agreed'' OR state = ''refused'' OR state = ''awaiting_return'' OR
                        state = ''return_shipped'' OR state = ''returned'' OR state = ''refunding'' OR state = ''refunded'' OR
                        state = ''cancelled'' OR state = ''closed'' OR state = ''disputed'' OR state = ''decided'')'),
    'CHECK (decision IN (''all'', ''part'', ''nothing''))',
    'CHECK (decision = ''all'' OR decision = ''part'' OR decision = ''nothing'')')
 WHERE type = 'table' AND name = 'aftersale_requests';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (state IN (''held'', ''paid'', ''fixed'', ''released''))',
    'CHECK (state = ''held'' OR state = ''paid'' OR state = ''fixed'' OR state = ''released'')')
 WHERE type = 'table' AND name = 'batch_orders';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''open'', ''fixed'', ''failed''))',
    'CHECK (status = ''open'' OR status = ''fixed'' OR status = ''failed'')')
 WHERE type = 'table' AND name = 'batches';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''opening'', ''forming'', ''succeeded'', ''failed''))',
    'CHECK (status = ''opening'' OR status = ''forming'' OR status = ''succeeded'' OR status = ''failed'')')
 WHERE type = 'table' AND name = 'buy_groups';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (binding_mode IN (''permanent'', ''expiring'', ''none''))',
    'CHECK (binding_mode = ''permanent'' OR binding_mode = ''expiring'' OR binding_mode = ''none'')')
 WHERE type = 'table' AND name = 'commission_plans';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (join_policy IN (''open'', ''approval'', ''invite_only''))',
    'CHECK (join_policy = ''open'' OR join_policy = ''approval'' OR join_policy = ''invite_only'')')
 WHERE type = 'table' AND name = 'communities';
UPDATE sqlite_schema SET sql = replace(replace(sql,
    'CHECK (role IN (''owner'', ''admin'', ''member''))',
    'CHECK (role = ''owner'' OR role = ''admin'' OR role = ''member'')'),
    'CHECK (state IN (''active'', ''pending'', ''left'', ''removed'', ''banned''))',
    'CHECK (state = ''active'' OR state = ''pending'' OR state = ''left'' OR state = ''removed'' OR state = ''banned'')')
 WHERE type = 'table' AND name = 'community_members';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''active'', ''paused'', ''ended''))',
    'CHECK (status = ''active'' OR status = ''paused'' OR status = ''ended'')')
 WHERE type = 'table' AND name = 'coupon_templates';
UPDATE sqlite_schema SET sql = replace(replace(sql,
    'CHECK (source IN (''claim'', ''issued'', ''new_member'', ''share''))',
    'CHECK (source = ''claim'' OR source = ''issued'' OR source = ''new_member'' OR source = ''share'')'),
    'CHECK (state IN (''available'', ''locked'', ''used'', ''expired''))',
    'CHECK (state = ''available'' OR state = ''locked'' OR state = ''used'' OR state = ''expired'')')
 WHERE type = 'table' AND name = 'coupons';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''active'', ''paused'', ''ended''))',
    'CHECK (status = ''active'' OR status = ''paused'' OR status = ''ended'')')
 WHERE type = 'table' AND name = 'flash_sales';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (state IN (''held'', ''paid'', ''released'', ''refunded''))',
    'CHECK (state = ''held'' OR state = ''paid'' OR state = ''released'' OR state = ''refunded'')')
 WHERE type = 'table' AND name = 'group_seats';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''queued'', ''done'', ''failed''))',
    'CHECK (status = ''queued'' OR status = ''done'' OR status = ''failed'')')
 WHERE type = 'table' AND name = 'jobs';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''applied'', ''approved'', ''refused'', ''suspended''))',
    'CHECK (status = ''applied'' OR status = ''approved'' OR status = ''refused'' OR status = ''suspended'')')
 WHERE type = 'table' AND name = 'leaders';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (mime IN (''image/jpeg'', ''image/png'', ''image/webp''))',
    'CHECK (mime = ''image/jpeg'' OR mime = ''image/png'' OR mime = ''image/webp'')')
 WHERE type = 'table' AND name = 'media';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''pending'', ''approved'', ''rejected''))',
    'CHECK (status = ''pending'' OR status = ''approved'' OR status = ''rejected'')')
 WHERE type = 'table' AND name = 'merchants';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''pending'', ''sent'', ''failed'', ''refused'', ''skipped''))',
    'CHECK (status = ''pending'' OR status = ''sent'' OR status = ''failed'' OR status = ''refused'' OR status = ''skipped'')')
 WHERE type = 'table' AND name = 'notification_deliveries';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (channel IN (''in_app'', ''wechat'', ''sms''))',
    'CHECK (channel = ''in_app'' OR channel = ''wechat'' OR channel = ''sms'')')
 WHERE type = 'table' AND name = 'notification_preferences';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (channel IN (''share'', ''content'', ''group_buy'', ''referrer'', ''none''))',
    'CHECK (channel = ''share'' OR channel = ''content'' OR channel = ''group_buy'' OR channel = ''referrer'' OR channel = ''none'')')
 WHERE type = 'table' AND name = 'order_attributions';
UPDATE sqlite_schema SET sql = replace(replace(replace(sql,
    'CHECK (role IN (''rebate'', ''l1'', ''l2'', ''group_leader''))',
    'CHECK (role = ''rebate'' OR role = ''l1'' OR role = ''l2'' OR role = ''group_leader'')'),
    'CHECK (source IN (''rebate'', ''l1'', ''l2'', ''content'', ''group_leader''))',
    'CHECK (source = ''rebate'' OR source = ''l1'' OR source = ''l2'' OR source = ''content'' OR source = ''group_leader'')'),
    'CHECK (state IN (''planned'', ''pending'', ''frozen'', ''available'', ''void''))',
    'CHECK (state = ''planned'' OR state = ''pending'' OR state = ''frozen'' OR state = ''available'' OR state = ''void'')')
 WHERE type = 'table' AND name = 'order_commissions';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (actor_kind IN (''buyer'', ''staff'', ''clerk'', ''system'', ''gateway'', ''carrier''))',
    'CHECK (actor_kind = ''buyer'' OR actor_kind = ''staff'' OR actor_kind = ''clerk'' OR actor_kind = ''system'' OR actor_kind = ''gateway'' OR actor_kind = ''carrier'')')
 WHERE type = 'table' AND name = 'order_events';
UPDATE sqlite_schema SET sql = replace(replace(sql,
    'CHECK (status IN (''pending_payment'', ''paid'', ''awaiting_group'', ''fulfilling'', ''shipped'',
                           ''ready_for_pickup'', ''delivered'', ''picked_up'', ''completed'', ''cancelled'', ''refunded''))',
    'CHECK (status = ''pending_payment'' OR status = ''paid'' OR status = ''awaiting_group'' OR status = ''fulfilling'' OR
                           status = ''shipped'' OR status = ''ready_for_pickup'' OR status = ''delivered'' OR status = ''picked_up'' OR
                           status = ''completed'' OR status = ''cancelled'' OR status = ''refunded'')'),
    'CHECK (kind IN (''plain'', ''group'', ''batch''))',
    'CHECK (kind = ''plain'' OR kind = ''group'' OR kind = ''batch'')')
 WHERE type = 'table' AND name = 'orders';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''pending'', ''succeeded'', ''failed'', ''cancelled'', ''returned''))',
    'CHECK (status = ''pending'' OR status = ''succeeded'' OR status = ''failed'' OR status = ''cancelled'' OR status = ''returned'')')
 WHERE type = 'table' AND name = 'payments';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (visibility IN (''public'', ''followers'', ''friends'', ''community''))',
    'CHECK (visibility = ''public'' OR visibility = ''followers'' OR visibility = ''friends'' OR visibility = ''community'')')
 WHERE type = 'table' AND name = 'posts';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''draft'', ''active'', ''archived''))',
    'CHECK (status = ''draft'' OR status = ''active'' OR status = ''archived'')')
 WHERE type = 'table' AND name = 'products';
UPDATE sqlite_schema SET sql = replace(replace(sql,
    'CHECK (kind IN (''missing_in_kith'', ''missing_at_provider'', ''amount_differs''))',
    'CHECK (kind = ''missing_in_kith'' OR kind = ''missing_at_provider'' OR kind = ''amount_differs'')'),
    'CHECK (entry IN (''payment'', ''refund'', ''payout''))',
    'CHECK (entry = ''payment'' OR entry = ''refund'' OR entry = ''payout'')')
 WHERE type = 'table' AND name = 'reconciliation_mismatches';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''matched'', ''mismatched'', ''failed''))',
    'CHECK (status = ''matched'' OR status = ''mismatched'' OR status = ''failed'')')
 WHERE type = 'table' AND name = 'reconciliations';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''requested'', ''succeeded'', ''failed''))',
    'CHECK (status = ''requested'' OR status = ''succeeded'' OR status = ''failed'')')
 WHERE type = 'table' AND name = 'refunds';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (channel IN (''share'', ''content'', ''group_buy''))',
    'CHECK (channel = ''share'' OR channel = ''content'' OR channel = ''group_buy'')')
 WHERE type = 'table' AND name = 'share_link_merchants';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (kind IN (''product'', ''post'', ''community'', ''group_buy''))',
    'CHECK (kind = ''product'' OR kind = ''post'' OR kind = ''community'' OR kind = ''group_buy'')')
 WHERE type = 'table' AND name = 'share_links';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (reason IN (''adjustment'', ''reservation'', ''release'', ''commit'', ''return''))',
    'CHECK (reason = ''adjustment'' OR reason = ''reservation'' OR reason = ''release'' OR reason = ''commit'' OR reason = ''return'')')
 WHERE type = 'table' AND name = 'stock_movements';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''active'', ''paused'', ''ended''))',
    'CHECK (status = ''active'' OR status = ''paused'' OR status = ''ended'')')
 WHERE type = 'table' AND name = 'threshold_activities';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''pending'', ''subscribed'', ''failed''))',
    'CHECK (status = ''pending'' OR status = ''subscribed'' OR status = ''failed'')')
 WHERE type = 'table' AND name = 'tracking_subscriptions';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''pending'', ''delivered'', ''failed''))',
    'CHECK (status = ''pending'' OR status = ''delivered'' OR status = ''failed'')')
 WHERE type = 'table' AND name = 'webhook_deliveries';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''requested'', ''paying'', ''paid'', ''rejected'', ''failed''))',
    'CHECK (status = ''requested'' OR status = ''paying'' OR status = ''paid'' OR status = ''rejected'' OR status = ''failed'')')
 WHERE type = 'table' AND name = 'withdrawals';
PRAGMA writable_schema = RESET;
