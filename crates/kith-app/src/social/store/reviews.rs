//! Verified-purchase reviews, and the reads of commerce's orders and products they rest
//! on.

use std::collections::BTreeMap;

use kith_store::{Conn, Value, args, placeholders};

use super::read_models::{review_from_row, review_select};
use crate::AppResult;
use crate::platform::page::{Direction, PageRequest};
use crate::social::reviews::Review;

/// A product's status, when it is this merchant's.
pub(in crate::social) fn product_status(
    c: &mut dyn Conn,
    product_id: &str,
    merchant_id: &str,
) -> AppResult<Option<String>> {
    c.query_opt(
        "SELECT status FROM products WHERE id = $1 AND merchant_id = $2",
        args![product_id, merchant_id],
    )?
    .map(|r| Ok(r.text(0)?))
    .transpose()
}

/// An order's buyer, merchant and status, locked for the rest of the transaction.
pub(in crate::social) fn lock_order_for_review(
    c: &mut dyn Conn,
    order_id: &str,
) -> AppResult<Option<(String, String, String)>> {
    let sql = format!(
        "SELECT buyer_id, merchant_id, status FROM orders WHERE id = $1{}",
        c.for_update()
    );
    c.query_opt(&sql, args![order_id])?
        .map(|o| Ok((o.text(0)?, o.text(1)?, o.text(2)?)))
        .transpose()
}

/// An order line's SKU, product, quantity and refunded quantity.
pub(in crate::social) fn order_line_to_review(
    c: &mut dyn Conn,
    order_id: &str,
    line_no: i64,
) -> AppResult<Option<(String, String, i64, i64)>> {
    c.query_opt(
        "SELECT l.sku_id, s.product_id, l.quantity, l.refunded_quantity
                         FROM order_lines l JOIN skus s ON s.id = l.sku_id
                         WHERE l.order_id = $1 AND l.line_no = $2",
        args![order_id, line_no],
    )?
    .map(|r| Ok((r.text(0)?, r.text(1)?, r.int(2)?, r.int(3)?)))
    .transpose()
}

/// Which of `images` the account uploaded.
pub(in crate::social) fn uploads_among(
    c: &mut dyn Conn,
    account_id: &str,
    images: &[String],
) -> AppResult<Vec<String>> {
    let mut params: Vec<Value> = vec![Value::from(account_id)];
    params.extend(images.iter().map(|i| Value::from(i.as_str())));
    Ok(c.query(
        &format!(
            "SELECT media_id FROM media_uploads WHERE account_id = $1 AND media_id IN ({})",
            placeholders(2, images.len())
        ),
        &params,
    )?
    .iter()
    .map(|r| r.text(0))
    .collect::<Result<_, _>>()?)
}

/// A new review; false when the line already has one.
#[allow(clippy::too_many_arguments)]
pub(in crate::social) fn insert_review(
    c: &mut dyn Conn,
    id: &str,
    order_id: &str,
    line_no: i64,
    sku_id: &str,
    product_id: &str,
    merchant_id: &str,
    author: &str,
    rating: i64,
    body: &str,
    images_json: &str,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "INSERT INTO reviews (id, order_id, line_no, sku_id, product_id, merchant_id, author_id, rating, body, images, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                     ON CONFLICT (order_id, line_no) DO NOTHING",
        args![id, order_id, line_no, sku_id, product_id, merchant_id, author, rating, body, images_json, now],
    )? != 0)
}

/// A review's author, product and order, when it is this merchant's.
pub(in crate::social) fn review_parties(
    c: &mut dyn Conn,
    review_id: &str,
    merchant_id: &str,
) -> AppResult<Option<(String, String, String)>> {
    c.query_opt(
        "SELECT author_id, product_id, order_id FROM reviews WHERE id = $1 AND merchant_id = $2",
        args![review_id, merchant_id],
    )?
    .map(|r| Ok((r.text(0)?, r.text(1)?, r.text(2)?)))
    .transpose()
}

/// The merchant's reply, conditional on there being none yet (two staff racing cannot
/// both answer); false when there was one.
pub(in crate::social) fn set_reply(
    c: &mut dyn Conn,
    review_id: &str,
    merchant_id: &str,
    body: &str,
    by: &str,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "UPDATE reviews SET reply_body = $1, replied_at = $2, replied_by = $3
                     WHERE id = $4 AND merchant_id = $5 AND reply_body IS NULL",
        args![body, now, by, review_id, merchant_id],
    )? != 0)
}

/// A product's reviews, newest first: not hidden, none across a block with `viewer`.
pub(in crate::social) fn product_reviews_page(
    c: &mut dyn Conn,
    product_id: &str,
    merchant_id: &str,
    viewer: &str,
    page: &PageRequest,
) -> AppResult<Vec<(i64, Review)>> {
    let after = page.keyset(Direction::NewestFirst, "r.created_at", "r.id", 5);
    let mut params = args![product_id, merchant_id, viewer, page.fetch()].to_vec();
    params.extend(after.args);
    let sql = format!(
        "{}
                     WHERE r.product_id = $1 AND r.merchant_id = $2 AND r.hidden_at IS NULL
                       AND NOT EXISTS (SELECT 1 FROM blocks b
                                       WHERE (b.blocker_id = r.author_id AND b.blocked_id = $3)
                                          OR (b.blocker_id = $3 AND b.blocked_id = r.author_id))
                       AND {}
                     ORDER BY r.created_at DESC, r.id DESC LIMIT $4",
        review_select(),
        after.sql
    );
    c.query(&sql, &params)?
        .iter()
        .map(review_from_row)
        .collect::<AppResult<Vec<_>>>()
}

/// Over a product's reviews that are not hidden: how many, the mean rating ×100, and
/// how many of each rating ("1"–"5").
pub(in crate::social) fn product_rating(
    c: &mut dyn Conn,
    product_id: &str,
    merchant_id: &str,
) -> AppResult<(i64, i64, BTreeMap<String, i64>)> {
    let per = |n: i64| {
        format!("CAST(COALESCE(SUM(CASE WHEN rating = {n} THEN 1 ELSE 0 END), 0) AS bigint)")
    };
    let sql = format!(
        "SELECT COUNT(*),
                            CASE WHEN COUNT(*) = 0 THEN 0
                                 ELSE CAST(SUM(rating) AS bigint) * 100 / COUNT(*) END,
                            {}, {}, {}, {}, {}
                     FROM reviews WHERE product_id = $1 AND merchant_id = $2 AND hidden_at IS NULL",
        per(1),
        per(2),
        per(3),
        per(4),
        per(5)
    );
    let r = c.query_one(&sql, args![product_id, merchant_id])?;
    let mut distribution = BTreeMap::new();
    for n in 1..=5 {
        distribution.insert(n.to_string(), r.int(1 + n)?);
    }
    Ok((r.int(0)?, r.int(1)?, distribution))
}
