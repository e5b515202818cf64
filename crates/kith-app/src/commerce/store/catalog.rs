//! Rows of the catalog: `categories`, `products`, `skus` and `sku_tier_prices`.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use kith_domain::Fen;
use kith_store::{Conn, Engine, Row, StoreError, Value, args};

use super::placeholders;
use crate::commerce::catalog::{Category, Product, ProductStatus, Sku, TierPrice};
use crate::platform::ids::{MerchantId, ProductId, SkuId, TierId};
use crate::platform::page::Keyset;
use crate::{AppError, AppResult, rfc3339};

kith_store::columns!(ProductCols {
    id,
    merchant_id,
    category_id,
    name,
    description,
    images,
    status,
    created_at,
    updated_at,
});
const PRODUCT_COLS: &str = ProductCols::LIST;
kith_store::columns!(SkuCols {
    id,
    product_id,
    code,
    attrs,
    weight_g,
    list_price_fen,
    created_at,
    updated_at,
});
const SKU_COLS: &str = SkuCols::LIST;

fn product_from_row(r: &Row) -> AppResult<Product> {
    let images: Vec<String> = serde_json::from_str(&r.text(ProductCols::images)?)
        .map_err(|e| AppError::Internal(format!("stored product images: {e}")))?;
    let status = r.text(ProductCols::status)?;
    Ok(Product {
        id: ProductId::from_row(r.text(ProductCols::id)?),
        merchant_id: MerchantId::from_row(r.text(ProductCols::merchant_id)?),
        category_id: r.opt_text(ProductCols::category_id)?,
        name: r.text(ProductCols::name)?,
        description: r.text(ProductCols::description)?,
        images,
        status: ProductStatus::parse("status", &status)
            .map_err(|_| AppError::Internal(format!("unknown product status {status:?}")))?,
        skus: Vec::new(),
        sold: None,
        created_at: rfc3339(r.int(ProductCols::created_at)?),
        updated_at: rfc3339(r.int(ProductCols::updated_at)?),
    })
}

pub(in crate::commerce) fn attrs_from_json(s: &str) -> AppResult<BTreeMap<String, String>> {
    serde_json::from_str(s).map_err(|e| AppError::Internal(format!("stored SKU attrs: {e}")))
}

fn sku_from_row(r: &Row) -> AppResult<Sku> {
    Ok(Sku {
        id: SkuId::from_row(r.text(SkuCols::id)?),
        product_id: ProductId::from_row(r.text(SkuCols::product_id)?),
        code: r.text(SkuCols::code)?,
        attrs: attrs_from_json(&r.text(SkuCols::attrs)?)?,
        weight_g: r.int(SkuCols::weight_g)?,
        list_price_fen: Fen::new(r.int(SkuCols::list_price_fen)?),
        tier_prices: Vec::new(),
        your_price_fen: None,
        created_at: rfc3339(r.int(SkuCols::created_at)?),
        updated_at: rfc3339(r.int(SkuCols::updated_at)?),
    })
}

/// Whether `id` is one of the merchant's categories.
pub(in crate::commerce) fn is_category_of(
    c: &mut dyn Conn,
    merchant_id: &str,
    id: &str,
) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM categories WHERE id = $1 AND merchant_id = $2",
        args![id, merchant_id],
    )?
    .is_some())
}

pub(in crate::commerce) fn count_categories(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT COUNT(*) FROM categories WHERE merchant_id = $1",
        args![merchant_id],
    )?
    .int(0)?)
}

/// A unique violation on (merchant, name) is left for the caller to name.
pub(in crate::commerce) fn insert_category(
    c: &mut dyn Conn,
    id: &str,
    merchant_id: &MerchantId,
    name: &str,
    now: i64,
) -> Result<u64, StoreError> {
    c.execute(
        "INSERT INTO categories (id, merchant_id, name, created_at) VALUES ($1, $2, $3, $4)",
        args![id, merchant_id, name, now],
    )
}

/// The merchant's categories by name.
pub(in crate::commerce) fn merchant_categories(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
) -> AppResult<Vec<Category>> {
    c.query(
        "SELECT id, merchant_id, name, created_at FROM categories WHERE merchant_id = $1 ORDER BY name, id",
        args![merchant_id],
    )?
    .iter()
    .map(|r| {
        Ok(Category {
            id: r.text(0)?,
            merchant_id: MerchantId::from_row(r.text(1)?),
            name: r.text(2)?,
            created_at: rfc3339(r.int(3)?),
        })
    })
    .collect()
}

/// 已售 as an SQL expression: the units of the product whose id is `product` (a column such
/// as `p.id`, or a parameter) in orders that were bought ([`BOUGHT`](crate::commerce::orders::BOUGHT),
/// not cancelled), less those refunded. A correlated subquery, so a list reads its products'
/// counts in the statement that reads them (`order_lines_sku_idx` keeps it to their lines).
pub(crate) fn sold_units_sql(product: &str) -> String {
    format!(
        "(SELECT CAST(COALESCE(SUM(l.quantity - l.refunded_quantity), 0) AS bigint)
            FROM skus s JOIN order_lines l ON l.sku_id = s.id JOIN orders o ON o.id = l.order_id
           WHERE s.product_id = {product} AND o.status IN {})",
        crate::commerce::orders::BOUGHT
    )
}

/// Units of `product_id` sold ([`sold_units_sql`]).
pub(in crate::commerce) fn sold_units(c: &mut dyn Conn, product_id: &str) -> AppResult<i64> {
    let sql = format!("SELECT {}", sold_units_sql("$1"));
    Ok(c.query_one(&sql, args![product_id])?.int(0)?)
}

/// The tier prices of these SKUs as (SKU id, price), lowest tier rank first.
pub(in crate::commerce) fn tier_prices_of(
    c: &mut dyn Conn,
    sku_ids: &[&str],
) -> AppResult<Vec<(String, TierPrice)>> {
    let ids: Vec<Value> = sku_ids.iter().map(|s| Value::from(*s)).collect();
    c.query(
        &format!(
            "SELECT p.sku_id, t.code, t.name, p.price_fen FROM sku_tier_prices p
             JOIN tiers t ON t.id = p.tier_id WHERE p.sku_id IN ({}) ORDER BY t.rank, t.code",
            placeholders(1, ids.len())
        ),
        &ids,
    )?
    .iter()
    .map(|r| {
        Ok((
            r.text(0)?,
            TierPrice {
                tier_code: r.text(1)?,
                tier_name: r.text(2)?,
                price_fen: Fen::new(r.int(3)?),
            },
        ))
    })
    .collect()
}

/// The SKUs of these products (without prices), in order of creation.
pub(in crate::commerce) fn skus_of_products(
    c: &mut dyn Conn,
    product_ids: &[&str],
) -> AppResult<Vec<Sku>> {
    let ids: Vec<Value> = product_ids.iter().map(|s| Value::from(*s)).collect();
    c.query(
        &format!(
            "SELECT {SKU_COLS} FROM skus WHERE product_id IN ({}) ORDER BY created_at, id",
            placeholders(1, ids.len())
        ),
        &ids,
    )?
    .iter()
    .map(sku_from_row)
    .collect()
}

/// A product of `merchant_id` without its SKUs (none when another merchant's).
pub(in crate::commerce) fn product(
    c: &mut dyn Conn,
    merchant_id: &str,
    product_id: &str,
) -> AppResult<Option<Product>> {
    c.query_opt(
        &format!("SELECT {PRODUCT_COLS} FROM products WHERE id = $1 AND merchant_id = $2"),
        args![product_id, merchant_id],
    )?
    .map(|r| product_from_row(&r))
    .transpose()
}

/// A SKU of `merchant_id` without its prices (none when another merchant's).
pub(in crate::commerce) fn sku(
    c: &mut dyn Conn,
    merchant_id: &str,
    sku_id: &str,
) -> AppResult<Option<Sku>> {
    c.query_opt(
        &format!("SELECT {SKU_COLS} FROM skus WHERE id = $1 AND merchant_id = $2"),
        args![sku_id, merchant_id],
    )?
    .map(|r| sku_from_row(&r))
    .transpose()
}

/// The id of the merchant's tier with this code, if any.
pub(in crate::commerce) fn tier_id_by_code(
    c: &mut dyn Conn,
    merchant_id: &str,
    code: &str,
) -> AppResult<Option<TierId>> {
    Ok(c.query_opt(
        "SELECT id FROM tiers WHERE merchant_id = $1 AND code = $2",
        args![merchant_id, code],
    )?
    .map(|r| r.text(0).map(TierId::from_row))
    .transpose()?)
}

/// A SKU with its product, as checkout reads it.
pub(in crate::commerce) struct CheckoutSkuRow {
    pub(in crate::commerce) sku_id: String,
    pub(in crate::commerce) product_id: String,
    pub(in crate::commerce) product_name: String,
    pub(in crate::commerce) code: String,
    /// The attributes as stored (a JSON object).
    pub(in crate::commerce) attrs: String,
    pub(in crate::commerce) list_price_fen: i64,
    pub(in crate::commerce) status: String,
    /// The product's images as stored (a JSON list).
    pub(in crate::commerce) images: String,
    /// (tier code, price) for every tier the SKU has a price for, lowest rank first.
    pub(in crate::commerce) tier_prices: Vec<(String, i64)>,
}

kith_store::columns!(SkuProductCols {
    "s.id" => sku_id,
    "s.product_id" => product_id,
    "p.name" => product_name,
    "s.code" => code,
    "s.attrs" => attrs,
    "s.list_price_fen" => list_price_fen,
    "p.status" => status,
    "p.images" => images,
});

/// The SKU with its product. On PostgreSQL its tier prices come beside it as a JSON list of
/// `[code, price]`, lowest rank first (`json_agg … ORDER BY`): one statement, not two,
/// where each statement costs a round of the server's executor. On SQLite they are read
/// apart ([`sku_tier_prices`]): the aggregate over an ordered subquery sorted in a
/// temporary B-tree per SKU, which cost more instructions than the second statement
/// (callgrind: +11 % a SKU read).
fn sku_with_product_sql(engine: Engine) -> &'static str {
    fn sql(tier_prices: &str) -> String {
        format!(
            "SELECT {}, {tier_prices} FROM skus s JOIN products p ON p.id = s.product_id
                 WHERE s.id = $1 AND s.merchant_id = $2",
            SkuProductCols::LIST
        )
    }
    static SQLITE: LazyLock<String> = LazyLock::new(|| sql("NULL"));
    static POSTGRES: LazyLock<String> = LazyLock::new(|| {
        sql(
            "(SELECT json_agg(json_build_array(t.code, tp.price_fen) ORDER BY t.rank, t.code)
               FROM sku_tier_prices tp JOIN tiers t ON t.id = tp.tier_id WHERE tp.sku_id = s.id)",
        )
    });
    match engine {
        Engine::Sqlite => &SQLITE,
        Engine::Postgres => &POSTGRES,
    }
}

/// Announces [`sku_with_product`] ([`Conn::prefetch`]).
pub(in crate::commerce) fn announce_sku_with_product(
    c: &mut dyn Conn,
    merchant_id: &str,
    sku_id: &str,
) -> AppResult<()> {
    let sql = sku_with_product_sql(c.engine());
    Ok(kith_store::prefetch!(c, sql, sku_id, merchant_id)?)
}

/// The SKU `sku_id` of `merchant_id` with its product, whatever the product's status, and
/// its tier prices.
pub(in crate::commerce) fn sku_with_product(
    c: &mut dyn Conn,
    merchant_id: &str,
    sku_id: &str,
) -> AppResult<Option<CheckoutSkuRow>> {
    use SkuProductCols as Cols;
    let sql = sku_with_product_sql(c.engine());
    let Some(r) = c.query_opt(sql, args![sku_id, merchant_id])? else {
        return Ok(None);
    };
    let tier_prices = match c.engine() {
        Engine::Postgres => match r.opt_text(Cols::LEN)? {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| AppError::Internal(format!("a SKU's tier prices as read: {e}")))?,
            None => Vec::new(),
        },
        Engine::Sqlite => sku_tier_prices(c, sku_id)?,
    };
    Ok(Some(CheckoutSkuRow {
        sku_id: r.text(Cols::sku_id)?,
        product_id: r.text(Cols::product_id)?,
        product_name: r.text(Cols::product_name)?,
        code: r.text(Cols::code)?,
        attrs: r.text(Cols::attrs)?,
        list_price_fen: r.int(Cols::list_price_fen)?,
        status: r.text(Cols::status)?,
        images: r.text(Cols::images)?,
        tier_prices,
    }))
}

/// (tier code, price) for every tier the SKU has a price for, lowest rank first.
fn sku_tier_prices(c: &mut dyn Conn, sku_id: &str) -> AppResult<Vec<(String, i64)>> {
    c.query(
        "SELECT t.code, p.price_fen FROM sku_tier_prices p JOIN tiers t ON t.id = p.tier_id
         WHERE p.sku_id = $1 ORDER BY t.rank, t.code",
        args![sku_id],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.int(1)?)))
    .collect()
}

#[allow(clippy::too_many_arguments)]
pub(in crate::commerce) fn insert_product(
    c: &mut dyn Conn,
    id: &str,
    merchant_id: &MerchantId,
    category_id: Option<&str>,
    name: &str,
    description: &str,
    images: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO products (id, merchant_id, category_id, name, description, images, status, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, 'draft', $7, $7)",
        args![id, merchant_id, category_id, name, description, images, now],
    )?;
    Ok(())
}

pub(in crate::commerce) fn update_product(
    c: &mut dyn Conn,
    product_id: &ProductId,
    category_id: Option<&str>,
    name: &str,
    description: &str,
    images: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE products SET category_id = $1, name = $2, description = $3, images = $4, updated_at = $5 WHERE id = $6",
        args![category_id, name, description, images, now, product_id],
    )?;
    Ok(())
}

pub(in crate::commerce) fn count_skus(c: &mut dyn Conn, product_id: &ProductId) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT COUNT(*) FROM skus WHERE product_id = $1",
        args![product_id],
    )?
    .int(0)?)
}

/// Moves the product from status `from` to `to`; false when its status is no longer `from`.
pub(in crate::commerce) fn set_product_status(
    c: &mut dyn Conn,
    product_id: &ProductId,
    to: ProductStatus,
    from: ProductStatus,
    now: i64,
) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE products SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
        args![to.as_str(), now, product_id, from.as_str()],
    )?;
    Ok(n != 0)
}

/// A page of the merchant's products (of one status, when given) after `after`, oldest
/// first, each with its creation time; `fetch` rows at most.
pub(in crate::commerce) fn product_page(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
    after: &Keyset,
    fetch: i64,
    status: Option<ProductStatus>,
) -> AppResult<Vec<(i64, Product)>> {
    let filter = if status.is_some() {
        " AND status = $5"
    } else {
        ""
    };
    let mut params = args![merchant_id].to_vec();
    params.extend(after.args.iter().cloned());
    params.push(fetch.into());
    if let Some(s) = status {
        params.push(Value::from(s.as_str()));
    }
    c.query(
        &format!(
            "SELECT {PRODUCT_COLS}, {} FROM products
                             WHERE merchant_id = $1 AND {}{filter}
                             ORDER BY created_at, id LIMIT $4",
            sold_units_sql("products.id"),
            after.sql
        ),
        &params,
    )?
    .iter()
    .map(|r| {
        let mut p = product_from_row(r)?;
        p.sold = Some(r.int(ProductCols::LEN)?);
        Ok((r.int(ProductCols::created_at)?, p))
    })
    .collect()
}

/// A unique violation on (merchant, code) is left for the caller to name.
#[allow(clippy::too_many_arguments)]
pub(in crate::commerce) fn insert_sku(
    c: &mut dyn Conn,
    id: &str,
    product_id: &ProductId,
    merchant_id: &MerchantId,
    code: &str,
    attrs: &str,
    weight_g: i64,
    list_price_fen: i64,
    now: i64,
) -> Result<u64, StoreError> {
    c.execute(
        "INSERT INTO skus (id, product_id, merchant_id, code, attrs, weight_g, list_price_fen, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        args![id, product_id, merchant_id, code, attrs, weight_g, list_price_fen, now],
    )
}

pub(in crate::commerce) fn update_sku(
    c: &mut dyn Conn,
    sku_id: &SkuId,
    attrs: &str,
    weight_g: i64,
    list_price_fen: i64,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE skus SET attrs = $1, weight_g = $2, list_price_fen = $3, updated_at = $4 WHERE id = $5",
        args![attrs, weight_g, list_price_fen, now, sku_id],
    )?;
    Ok(())
}

/// Sets (or replaces) the SKU's price for a tier.
pub(in crate::commerce) fn upsert_tier_price(
    c: &mut dyn Conn,
    sku_id: &SkuId,
    tier_id: &TierId,
    price_fen: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO sku_tier_prices (sku_id, tier_id, price_fen) VALUES ($1, $2, $3)
                     ON CONFLICT (sku_id, tier_id) DO UPDATE SET price_fen = excluded.price_fen",
        args![sku_id, tier_id, price_fen],
    )?;
    Ok(())
}

/// Removes the SKU's price for a tier; false when it had none.
pub(in crate::commerce) fn delete_tier_price(
    c: &mut dyn Conn,
    sku_id: &SkuId,
    tier_id: &TierId,
) -> AppResult<bool> {
    let n = c.execute(
        "DELETE FROM sku_tier_prices WHERE sku_id = $1 AND tier_id = $2",
        args![sku_id, tier_id],
    )?;
    Ok(n != 0)
}

/// Marks the SKU changed now.
pub(in crate::commerce) fn touch_sku(c: &mut dyn Conn, sku_id: &SkuId, now: i64) -> AppResult<()> {
    c.execute(
        "UPDATE skus SET updated_at = $1 WHERE id = $2",
        args![now, sku_id],
    )?;
    Ok(())
}
