//! The catalog: categories, products with their images, and SKUs with a list price and a
//! price per membership tier (docs/PRODUCT.md §4, Prices).
//!
//! Staff manage their merchant's catalog. Anyone else sees only the `active` products of an
//! approved merchant (and only their SKUs); a logged-in reader also sees `your_price_fen`,
//! the price of their own tier at that merchant. Checkout reads a SKU through
//! [`sku_for_buyer`] (a SKU not on sale answers like an unknown one) or, for what staff or
//! the member's own cart already know, [`sku_for_checkout`], inside its own transaction.
//!
//! Product images are the merchant's own: `/media/{id}` of an image someone on its staff
//! uploaded, or an `https://` URL on a host the operator allows (`image_hosts`) — never
//! this server's own host, so a product page cannot make viewers' browsers fetch a kith
//! page that does something ([`ImageSources`]).

use std::collections::{BTreeMap, HashMap};

use kith_domain::pricing::unit_price;
use kith_domain::{BoundedText, Fen, TierCode};
use kith_store::{Conn, StoreError};
use serde::Serialize;

use super::store::catalog as store;
pub(crate) use super::store::catalog::sold_units_sql;
use crate::platform::auth::{StaffNeed, merchant_status, require_staff, require_trading_staff};
use crate::platform::error::UniqueAs;
use crate::platform::ids::{MerchantId, ProductId, SkuId, TierId, new_id, parse_id};
use crate::platform::page::{Direction, Page, PageRequest};
use crate::{App, AppError, AppResult, Principal, platform::outbox, rfc3339};

/// Most images one product shows: the main picture and up to nine more (a 3×3 grid).
pub const MAX_IMAGES: usize = 10;
/// Longest image URL we store.
pub const MAX_IMAGE_URL_LEN: usize = 512;
/// Most attributes (规格, 颜色, …) one SKU carries.
pub const MAX_ATTRS: usize = 10;
/// Most SKUs under one product; bounds the product view.
pub const MAX_SKUS_PER_PRODUCT: i64 = 100;
/// Most categories one merchant defines; the list is not paged.
pub const MAX_CATEGORIES: i64 = 200;
/// Highest price we accept (¥100,000,000): with at most 999 units a line, totals stay far
/// from overflow.
pub const MAX_PRICE_FEN: i64 = 10_000_000_000;
/// Heaviest SKU we accept (100 t).
pub const MAX_WEIGHT_G: i64 = 100_000_000;

/// Where a product stands. Only `active` products are shown to buyers and can be sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    Draft,
    Active,
    Archived,
}

impl ProductStatus {
    pub fn parse(field: &str, s: &str) -> AppResult<Self> {
        match s {
            "draft" => Ok(Self::Draft),
            "active" => Ok(Self::Active),
            "archived" => Ok(Self::Archived),
            _ => Err(AppError::invalid(
                field,
                "must be one of draft, active, archived",
            )),
        }
    }

    /// On sale (an archived or draft product is not).
    pub fn is_active(self) -> bool {
        self == Self::Active
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Active => "active",
            Self::Archived => "archived",
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Category {
    pub id: String,
    pub merchant_id: MerchantId,
    pub name: String,
    pub created_at: String,
}

/// A SKU's price for one membership tier.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TierPrice {
    pub tier_code: String,
    pub tier_name: String,
    #[schema(value_type = i64)]
    pub price_fen: Fen,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Sku {
    pub id: SkuId,
    pub product_id: ProductId,
    /// The merchant's own code, unique within the merchant: A-Z, a-z, 0-9, _ and -.
    pub code: String,
    /// What tells this SKU from its siblings, e.g. {"规格": "500ml", "颜色": "红"}.
    pub attrs: BTreeMap<String, String>,
    pub weight_g: i64,
    #[schema(value_type = i64)]
    pub list_price_fen: Fen,
    /// Prices per membership tier, lowest tier rank first.
    pub tier_prices: Vec<TierPrice>,
    /// Only for a logged-in reader: the price of their tier at this merchant, or the list
    /// price when they hold no tier (or their tier has no price here).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub your_price_fen: Option<Fen>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Product {
    pub id: ProductId,
    pub merchant_id: MerchantId,
    pub category_id: Option<String>,
    pub name: String,
    pub description: String,
    /// `https://` URLs or `/media/…` paths, at most 10: the first is the main picture.
    pub images: Vec<String>,
    pub status: ProductStatus,
    pub skus: Vec<Sku>,
    /// 已售: units of paid orders, less those refunded — on a product's own answer
    /// (`GET …/products/{id}`) and in its merchant's list; absent from the answers of writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sold: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

/// Fields of a product. On create `name` is required; on update every field is optional
/// and only the ones given change (`category_id: Some(None)` clears the category).
#[derive(Debug, Clone, Default)]
pub struct ProductInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub category_id: Option<Option<String>>,
    pub images: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct NewSku {
    pub code: String,
    /// A JSON object of text values; `None` or null for none.
    pub attrs: Option<serde_json::Value>,
    pub weight_g: Option<i64>,
    pub list_price_fen: i64,
}

/// Changes to a SKU; its code is permanent (orders and integrations refer to it).
#[derive(Debug, Clone, Default)]
pub struct SkuPatch {
    pub attrs: Option<serde_json::Value>,
    pub weight_g: Option<i64>,
    pub list_price_fen: Option<i64>,
}

/// What checkout needs to know about one SKU, read inside its transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuForCheckout {
    pub sku_id: String,
    pub product_id: String,
    pub product_name: String,
    pub code: String,
    /// The attributes as a JSON object, to snapshot onto the order line.
    pub attrs_json: String,
    pub list_price_fen: i64,
    /// (tier code, price) for every tier this SKU has a price for.
    pub tier_prices: Vec<(String, i64)>,
    /// The product's main picture, small: its thumbnail when it is kith's own media.
    pub image: Option<String>,
}

/// The first of a product's stored pictures (`products.images`, a JSON list): its main
/// picture, if it has one.
pub(crate) fn first_image(stored: &str) -> AppResult<Option<String>> {
    Ok(serde_json::from_str::<Vec<String>>(stored)
        .map_err(|e| AppError::Internal(format!("stored product images: {e}")))?
        .into_iter()
        .next())
}

/// The small version of a product image: `/media/{id}` → `/media/{id}/thumb`; an outside
/// URL (or a thumbnail already) as it is.
pub fn thumbnail(image: &str) -> String {
    if image.starts_with("/media/") && !image.ends_with("/thumb") {
        format!("{image}/thumb")
    } else {
        image.to_owned()
    }
}

// ---------------------------------------------------------------------------------------
// Parsing input

fn parse_price(field: &str, fen: i64) -> AppResult<i64> {
    let fen = Fen::non_negative(field, fen)?.get();
    if fen > MAX_PRICE_FEN {
        return Err(AppError::invalid(
            field,
            format!("must be at most {MAX_PRICE_FEN} fen"),
        ));
    }
    Ok(fen)
}

fn parse_weight(weight_g: i64) -> AppResult<i64> {
    if (0..=MAX_WEIGHT_G).contains(&weight_g) {
        Ok(weight_g)
    } else {
        Err(AppError::invalid(
            "weight_g",
            format!("must be between 0 and {MAX_WEIGHT_G} grams"),
        ))
    }
}

/// A SKU code: 1–32 of A-Z, a-z, 0-9, `_` and `-`, so it is safe in URLs, labels and CSV.
pub fn parse_sku_code(code: &str) -> AppResult<String> {
    let ok = (1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(code.to_owned())
    } else {
        Err(AppError::invalid(
            "code",
            "must be 1–32 of A-Z, a-z, 0-9, _ and -",
        ))
    }
}

/// SKU attributes: a JSON object of at most 10 entries, each a name of 1–16 characters and
/// a text value of 1–64 characters. Absent or null means none.
pub fn parse_attrs(v: Option<serde_json::Value>) -> AppResult<BTreeMap<String, String>> {
    let obj = match v {
        None | Some(serde_json::Value::Null) => return Ok(BTreeMap::new()),
        Some(serde_json::Value::Object(obj)) => obj,
        Some(_) => {
            return Err(AppError::invalid(
                "attrs",
                "must be an object of text values, e.g. {\"规格\": \"500ml\"}",
            ));
        }
    };
    if obj.len() > MAX_ATTRS {
        return Err(AppError::invalid(
            "attrs",
            format!("at most {MAX_ATTRS} attributes"),
        ));
    }
    let mut out = BTreeMap::new();
    for (k, v) in obj {
        let serde_json::Value::String(v) = v else {
            return Err(AppError::invalid(
                "attrs",
                format!("the value of {k:?} must be text"),
            ));
        };
        let key = BoundedText::parse("attrs", &k, 1, 16)?.into_string();
        let value = BoundedText::parse("attrs", &v, 1, 64)?.into_string();
        if out.insert(key, value).is_some() {
            return Err(AppError::invalid(
                "attrs",
                format!("the attribute {k:?} is given twice"),
            ));
        }
    }
    Ok(out)
}

/// Characters an image URL may hold: printable ASCII without quotes, brackets and the
/// like, so a URL can be put in HTML attributes and CSS without escaping surprises.
fn url_chars_ok(u: &str) -> bool {
    u.chars()
        .all(|c| c.is_ascii_graphic() && !"\"'<>\\^`{|}".contains(c))
}

/// Where product images may come from: kith's own media, or `https://` hosts the operator
/// allows (`AppConfig::image_hosts`) — never this server's own host, whatever the list
/// says, so an "image" can never be a page of kith that does something when fetched.
#[derive(Debug, Clone, Copy)]
pub struct ImageSources<'a> {
    /// Allowed `https://` hosts (`host` or `host:port`), lower-case.
    pub hosts: &'a [String],
    /// This server's public URL; its host is never an image host.
    pub public_url: &'a str,
}

impl ImageSources<'_> {
    fn own_host(&self) -> String {
        let rest = self
            .public_url
            .split_once("://")
            .map_or(self.public_url, |(_, r)| r);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        hostname(authority).to_ascii_lowercase()
    }

    fn requirement(&self) -> String {
        let hosts = if self.hosts.is_empty() {
            "none is allowed on this server".to_owned()
        } else {
            self.hosts.join(", ")
        };
        format!(
            "must be /media/{{id}} of an image your shop's staff uploaded, or an https:// URL on an allowed image host ({hosts}), of at most {MAX_IMAGE_URL_LEN} characters"
        )
    }
}

/// `host` of `host:port` (and `[v6]` of `[v6]:port`).
fn hostname(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .find(']')
            .map_or(authority, |end| &authority[..=end]);
    }
    authority.split(':').next().unwrap_or(authority)
}

/// Whether `u` may be a product image at all, before looking at storage: our own upload
/// by media id (whose uploader [`check_image_owners`] checks), or a URL on an allowed host.
fn image_ok(u: &str, sources: &ImageSources<'_>) -> bool {
    if u.len() > MAX_IMAGE_URL_LEN || !url_chars_ok(u) {
        return false;
    }
    if let Some(rest) = u.strip_prefix("https://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let ok = !authority.is_empty()
            && authority
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
        if !ok {
            return false;
        }
        let authority = authority.to_ascii_lowercase();
        return hostname(&authority) != sources.own_host()
            && sources
                .hosts
                .iter()
                .any(|h| h.eq_ignore_ascii_case(&authority));
    }
    crate::social::media::media_id_of_path(u).is_some()
}

/// 0–9 images, each `/media/{id}` (or its `/thumb`) or an `https://` URL on an allowed
/// host, at most 512 characters. Whether the staff uploaded each `/media/` image is
/// [`check_image_owners`]'s, inside the transaction.
pub fn parse_images(images: Vec<String>, sources: &ImageSources<'_>) -> AppResult<Vec<String>> {
    if images.len() > MAX_IMAGES {
        return Err(AppError::invalid(
            "images",
            format!("at most {MAX_IMAGES} images"),
        ));
    }
    images
        .into_iter()
        .enumerate()
        .map(|(i, url)| {
            let url = url.trim().to_owned();
            if image_ok(&url, sources) {
                Ok(url)
            } else {
                Err(AppError::invalid(
                    format!("images[{i}]"),
                    sources.requirement(),
                ))
            }
        })
        .collect()
}

/// Each `/media/` image must have been uploaded by someone on the merchant's staff: a
/// member's photo is theirs, not a shop's to show.
fn check_image_owners(c: &mut dyn Conn, merchant_id: &str, images: &[String]) -> AppResult<()> {
    for (i, url) in images.iter().enumerate() {
        if let Some(id) = crate::social::media::media_id_of_path(url)
            && !crate::social::media::uploaded_by_staff_of(c, id, merchant_id)?
        {
            return Err(AppError::invalid(
                format!("images[{i}]"),
                "names no image your shop's staff uploaded",
            ));
        }
    }
    Ok(())
}

fn parse_product_name(name: &str) -> AppResult<String> {
    Ok(BoundedText::parse("name", name, 2, 64)?.into_string())
}

fn parse_description(d: &str) -> AppResult<String> {
    Ok(BoundedText::parse_multiline("description", d, 0, 5000)?.into_string())
}

/// A category id from the body: it must name one of this merchant's categories.
fn check_category(c: &mut dyn Conn, merchant_id: &str, raw: &str) -> AppResult<String> {
    let not_ours = || AppError::invalid("category_id", "this merchant has no such category");
    let id = parse_id(raw).ok_or_else(not_ours)?;
    if !store::is_category_of(c, merchant_id, &id)? {
        return Err(not_ours());
    }
    Ok(id)
}

fn to_json(v: &impl Serialize) -> AppResult<String> {
    serde_json::to_string(v).map_err(|e| AppError::Internal(format!("serialize: {e}")))
}

fn map_sku_unique(e: StoreError) -> AppError {
    if e.is_unique_on("skus", &["merchant_id", "code"]) {
        AppError::conflict("code", "this merchant already has a SKU with this code")
    } else {
        e.into()
    }
}

// ---------------------------------------------------------------------------------------
// Reading rows

/// Whose price to show: `None` for an anonymous reader (no `your_price_fen`), otherwise
/// the reader's tier code at this merchant, if any.
type PriceFor = Option<Option<String>>;

fn reader_tier(
    c: &mut dyn Conn,
    merchant_id: &str,
    who: Option<&Principal>,
) -> AppResult<PriceFor> {
    let Some(p) = who else { return Ok(None) };
    Ok(Some(super::orders::buyer_tier(
        c,
        merchant_id,
        &p.account_id,
    )?))
}

fn fill_prices(skus: &mut [Sku], c: &mut dyn Conn, price_for: &PriceFor) -> AppResult<()> {
    if skus.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = skus.iter().map(|s| s.id.as_str()).collect();
    let mut by_sku: HashMap<String, Vec<TierPrice>> = HashMap::new();
    for (sku, price) in store::tier_prices_of(c, &ids)? {
        by_sku.entry(sku).or_default().push(price);
    }
    for s in skus.iter_mut() {
        s.tier_prices = by_sku.remove(s.id.as_str()).unwrap_or_default();
        if let Some(tier) = price_for {
            let prices: Vec<(&str, Fen)> = s
                .tier_prices
                .iter()
                .map(|t| (t.tier_code.as_str(), t.price_fen))
                .collect();
            s.your_price_fen = Some(unit_price(s.list_price_fen, &prices, tier.as_deref()));
        }
    }
    Ok(())
}

/// Loads the SKUs (with their prices) of `products`, in order of creation.
fn attach_skus(c: &mut dyn Conn, products: &mut [Product], price_for: &PriceFor) -> AppResult<()> {
    if products.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = products.iter().map(|p| p.id.as_str()).collect();
    let mut skus = store::skus_of_products(c, &ids)?;
    fill_prices(&mut skus, c, price_for)?;
    let mut by_product: HashMap<ProductId, Vec<Sku>> = HashMap::new();
    for s in skus {
        by_product.entry(s.product_id.clone()).or_default().push(s);
    }
    for p in products.iter_mut() {
        p.skus = by_product.remove(&p.id).unwrap_or_default();
    }
    Ok(())
}

/// A product of `merchant_id` without its SKUs, or 404 (also when another merchant's).
fn load_product_row(c: &mut dyn Conn, merchant_id: &str, product_id: &str) -> AppResult<Product> {
    store::product(c, merchant_id, product_id)?.ok_or(AppError::NotFound("product"))
}

fn load_product(
    c: &mut dyn Conn,
    merchant_id: &str,
    product_id: &str,
    price_for: &PriceFor,
) -> AppResult<Product> {
    let mut p = [load_product_row(c, merchant_id, product_id)?];
    attach_skus(c, &mut p, price_for)?;
    let [p] = p;
    Ok(p)
}

/// A SKU of `merchant_id` with its tier prices, or 404 (also when another merchant's).
fn load_sku(c: &mut dyn Conn, merchant_id: &str, sku_id: &str) -> AppResult<Sku> {
    let mut s = [store::sku(c, merchant_id, sku_id)?.ok_or(AppError::NotFound("sku"))?];
    fill_prices(&mut s, c, &None)?;
    let [s] = s;
    Ok(s)
}

/// The tier of `merchant_id` with this code, or 422 naming `tier_code`.
fn tier_id_by_code(c: &mut dyn Conn, merchant_id: &str, code: &str) -> AppResult<TierId> {
    let code = TierCode::parse(code).map_err(|e| e.for_field("tier_code"))?;
    store::tier_id_by_code(c, merchant_id, code.as_str())?
        .ok_or_else(|| AppError::invalid("tier_code", "this merchant has no tier with this code"))
}

/// Who reads a merchant's catalog: its staff see everything (also before approval);
/// anyone else only what an approved merchant has on sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reader {
    Staff,
    Public,
}

fn catalog_reader(
    c: &mut dyn Conn,
    who: Option<&Principal>,
    merchant_id: &str,
) -> AppResult<Reader> {
    let status = merchant_status(c, merchant_id)?;
    if let Some(p) = who
        && require_staff(c, p, merchant_id, StaffNeed::AnyStaff).is_ok()
    {
        return Ok(Reader::Staff);
    }
    if status.ensure_trading().is_err() {
        return Err(AppError::NotFound("merchant"));
    }
    Ok(Reader::Public)
}

// ---------------------------------------------------------------------------------------
// Internal, for checkout

/// Announces the reads of [`sku_for_checkout`] ([`Conn::prefetch`]); ids that are not
/// ids announce nothing (they are refused before any read).
pub(crate) fn announce_sku_for_checkout(
    c: &mut dyn Conn,
    merchant_id: &str,
    sku_id: &str,
) -> AppResult<()> {
    match (parse_id(sku_id), parse_id(merchant_id)) {
        (Some(sku_id), Some(merchant_id)) => {
            store::announce_sku_with_product(c, &merchant_id, &sku_id)
        }
        _ => Ok(()),
    }
}

/// The SKU as checkout prices and snapshots it. 404 (`sku`) when it is not `merchant_id`'s,
/// 409 when its product is not on sale.
pub fn sku_for_checkout(
    c: &mut dyn Conn,
    merchant_id: &str,
    sku_id: &str,
) -> AppResult<SkuForCheckout> {
    let sku_id = parse_id(sku_id).ok_or(AppError::NotFound("sku"))?;
    let merchant_id = parse_id(merchant_id).ok_or(AppError::NotFound("sku"))?;
    let r = store::sku_with_product(c, &merchant_id, &sku_id)?.ok_or(AppError::NotFound("sku"))?;
    if r.status != ProductStatus::Active.as_str() {
        return Err(AppError::state(format!(
            "the product of SKU {} is not on sale",
            r.code
        )));
    }
    let attrs = store::attrs_from_json(&r.attrs)?;
    Ok(SkuForCheckout {
        sku_id: r.sku_id,
        product_id: r.product_id,
        product_name: r.product_name,
        code: r.code,
        attrs_json: to_json(&attrs)?,
        list_price_fen: r.list_price_fen,
        tier_prices: r.tier_prices,
        image: first_image(&r.images)?.map(|i| thumbnail(&i)),
    })
}

/// The SKU as a buyer may order it. A SKU whose product is not on sale — a draft not yet
/// shown, or one taken off sale — answers exactly as a SKU that does not exist (404
/// `sku`), so checkout and the cart never reveal a draft's existence or its code.
pub fn sku_for_buyer(
    c: &mut dyn Conn,
    merchant_id: &str,
    sku_id: &str,
) -> AppResult<SkuForCheckout> {
    match sku_for_checkout(c, merchant_id, sku_id) {
        Err(AppError::Conflict { .. }) => Err(AppError::NotFound("sku")),
        other => other,
    }
}

// ---------------------------------------------------------------------------------------
// Use cases

impl App {
    /// Where this server lets product images come from.
    fn image_sources(&self) -> ImageSources<'_> {
        ImageSources {
            hosts: &self.config.image_hosts,
            public_url: &self.config.public_url,
        }
    }

    /// Staff: a category (name 1–32, unique within the merchant).
    pub async fn create_category(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        name: &str,
    ) -> AppResult<Category> {
        let name = BoundedText::parse("name", name, 1, 32)?;
        let now = self.now_ms();
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let n = store::count_categories(c, &mid)?;
                if n >= MAX_CATEGORIES {
                    return Err(AppError::state(format!(
                        "a merchant has at most {MAX_CATEGORIES} categories"
                    )));
                }
                let id = new_id();
                store::insert_category(c, &id, &mid, name.as_str(), now).unique_as(
                    "categories",
                    &["merchant_id", "name"],
                    "name",
                    "this merchant already has a category with this name",
                )?;
                outbox::emit(
                    c,
                    now,
                    "category.created",
                    Some(&mid),
                    &id,
                    &serde_json::json!({ "category_id": id, "name": name.as_str() }),
                )?;
                Ok(Category {
                    id,
                    merchant_id: mid.clone(),
                    name: name.as_str().to_owned(),
                    created_at: rfc3339(now),
                })
            })
            .await
    }

    /// A merchant's categories by name: public once the merchant is approved, otherwise
    /// for its staff only.
    pub async fn list_categories(
        &self,
        who: Option<&Principal>,
        merchant_id: &MerchantId,
    ) -> AppResult<Vec<Category>> {
        let (who, mid) = (who.cloned(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                catalog_reader(c, who.as_ref(), &mid)?;
                store::merchant_categories(c, &mid)
            })
            .await
    }

    /// Staff: a new product, as a draft (buyers see it once it is set `active`).
    pub async fn create_product(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        input: ProductInput,
    ) -> AppResult<Product> {
        let name = parse_product_name(input.name.as_deref().unwrap_or(""))?;
        let description = parse_description(input.description.as_deref().unwrap_or(""))?;
        let images = parse_images(input.images.unwrap_or_default(), &self.image_sources())?;
        let category = input.category_id.flatten();
        let now = self.now_ms();
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let category = category
                    .as_deref()
                    .map(|raw| check_category(c, &mid, raw))
                    .transpose()?;
                check_image_owners(c, &mid, &images)?;
                let images = to_json(&images)?;
                let id = new_id();
                store::insert_product(
                    c,
                    &id,
                    &mid,
                    category.as_deref(),
                    &name,
                    &description,
                    &images,
                    now,
                )?;
                outbox::emit(
                    c,
                    now,
                    "product.created",
                    Some(&mid),
                    &id,
                    &serde_json::json!({ "product_id": id, "name": name }),
                )?;
                load_product(c, &mid, &id, &None)
            })
            .await
    }

    /// Staff: changes the fields given; the others stay as they are.
    pub async fn update_product(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        product_id: &ProductId,
        input: ProductInput,
    ) -> AppResult<Product> {
        let name = input.name.as_deref().map(parse_product_name).transpose()?;
        let description = input
            .description
            .as_deref()
            .map(parse_description)
            .transpose()?;
        let images = input
            .images
            .map(|i| parse_images(i, &self.image_sources()))
            .transpose()?;
        let category = input.category_id;
        let now = self.now_ms();
        let (who, mid, pid) = (who.clone(), merchant_id.to_owned(), product_id.to_owned());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let cur = load_product_row(c, &mid, &pid)?;
                let category_id = match &category {
                    None => cur.category_id.clone(),
                    Some(None) => None,
                    Some(Some(raw)) => Some(check_category(c, &mid, raw)?),
                };
                let images = match &images {
                    Some(i) => {
                        check_image_owners(c, &mid, i)?;
                        to_json(i)?
                    }
                    None => to_json(&cur.images)?,
                };
                store::update_product(
                    c,
                    &pid,
                    category_id.as_deref(),
                    name.as_deref().unwrap_or(&cur.name),
                    description.as_deref().unwrap_or(&cur.description),
                    &images,
                    now,
                )?;
                outbox::emit(
                    c,
                    now,
                    "product.updated",
                    Some(&mid),
                    &pid,
                    &serde_json::json!({ "product_id": pid }),
                )?;
                load_product(c, &mid, &pid, &None)
            })
            .await
    }

    /// Staff: puts a product on sale (`active`), takes it back to `draft`, or retires it
    /// (`archived`). A product needs at least one SKU to be active.
    pub async fn set_product_status(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        product_id: &ProductId,
        status: &str,
    ) -> AppResult<Product> {
        let to = ProductStatus::parse("status", status)?;
        let now = self.now_ms();
        let (who, mid, pid) = (who.clone(), merchant_id.to_owned(), product_id.to_owned());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let cur = load_product_row(c, &mid, &pid)?;
                if cur.status == to {
                    return load_product(c, &mid, &pid, &None);
                }
                if to == ProductStatus::Active {
                    let skus = store::count_skus(c, &pid)?;
                    if skus == 0 {
                        return Err(AppError::state("a product needs at least one SKU before it goes on sale"));
                    }
                }
                // Conditional on the status we read, so two racing changes cannot both
                // announce a move from the same state.
                if !store::set_product_status(c, &pid, to, cur.status, now)? {
                    return Err(AppError::state("the product changed meanwhile; try again"));
                }
                outbox::emit(
                    c,
                    now,
                    "product.status_changed",
                    Some(&mid),
                    &pid,
                    &serde_json::json!({ "product_id": pid, "from": cur.status.as_str(), "to": to.as_str() }),
                )?;
                load_product(c, &mid, &pid, &None)
            })
            .await
    }

    /// One product with its SKUs. Staff see any of their products; anyone else only an
    /// active product of an approved merchant (404 otherwise). A logged-in reader gets
    /// `your_price_fen` on each SKU.
    pub async fn get_product(
        &self,
        who: Option<&Principal>,
        merchant_id: &MerchantId,
        product_id: &ProductId,
    ) -> AppResult<Product> {
        let (who, mid, pid) = (who.cloned(), merchant_id.to_owned(), product_id.to_owned());
        self.db
            .read(move |c| {
                let reader = catalog_reader(c, who.as_ref(), &mid)?;
                let price_for = reader_tier(c, &mid, who.as_ref())?;
                let mut p = load_product(c, &mid, &pid, &price_for)?;
                if reader == Reader::Public && p.status != ProductStatus::Active {
                    return Err(AppError::NotFound("product"));
                }
                p.sold = Some(store::sold_units(c, &p.id)?);
                Ok(p)
            })
            .await
    }

    /// A merchant's products, oldest first, with their SKUs. Staff see every status and may
    /// filter by one; anyone else sees only active products of an approved merchant.
    pub async fn list_products(
        &self,
        who: Option<&Principal>,
        merchant_id: &MerchantId,
        status: Option<&str>,
        page: PageRequest,
    ) -> AppResult<Page<Product>> {
        let status = status
            .filter(|s| !s.is_empty())
            .map(|s| ProductStatus::parse("status", s))
            .transpose()?;
        let (who, mid) = (who.cloned(), merchant_id.to_owned());
        let after = page.keyset(Direction::OldestFirst, "created_at", "id", 2);
        let (limit, fetch) = (page.limit, page.fetch());
        self.db
            .read(move |c| {
                let reader = catalog_reader(c, who.as_ref(), &mid)?;
                let status = match (reader, status) {
                    (Reader::Staff, s) => s,
                    (Reader::Public, None | Some(ProductStatus::Active)) => {
                        Some(ProductStatus::Active)
                    }
                    // The public sees no drafts or archived products: nothing to list.
                    (Reader::Public, Some(_)) => {
                        return Ok(Page {
                            items: Vec::new(),
                            next_cursor: None,
                        });
                    }
                };
                let rows = store::product_page(c, &mid, &after, fetch, status)?;
                let Page {
                    mut items,
                    next_cursor,
                } = Page::from_keyed(rows, limit, |p| &p.id);
                let price_for = reader_tier(c, &mid, who.as_ref())?;
                attach_skus(c, &mut items, &price_for)?;
                Ok(Page { items, next_cursor })
            })
            .await
    }

    /// Staff: a SKU under one of their products.
    pub async fn add_sku(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        product_id: &ProductId,
        input: NewSku,
    ) -> AppResult<Sku> {
        let code = parse_sku_code(&input.code)?;
        let attrs = to_json(&parse_attrs(input.attrs)?)?;
        let weight_g = parse_weight(input.weight_g.unwrap_or(0))?;
        let list_price_fen = parse_price("list_price_fen", input.list_price_fen)?;
        let now = self.now_ms();
        let (who, mid, pid) = (who.clone(), merchant_id.to_owned(), product_id.to_owned());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                load_product_row(c, &mid, &pid)?;
                let n = store::count_skus(c, &pid)?;
                if n >= MAX_SKUS_PER_PRODUCT {
                    return Err(AppError::state(format!(
                        "a product has at most {MAX_SKUS_PER_PRODUCT} SKUs"
                    )));
                }
                let id = new_id();
                store::insert_sku(
                    c,
                    &id,
                    &pid,
                    &mid,
                    &code,
                    &attrs,
                    weight_g,
                    list_price_fen,
                    now,
                )
                .map_err(map_sku_unique)?;
                outbox::emit(
                    c,
                    now,
                    "sku.created",
                    Some(&mid),
                    &id,
                    &serde_json::json!({ "sku_id": id, "product_id": pid, "code": code }),
                )?;
                load_sku(c, &mid, &id)
            })
            .await
    }

    /// Staff: changes a SKU's list price, attributes or weight (only the fields given).
    pub async fn update_sku(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        sku_id: &SkuId,
        patch: SkuPatch,
    ) -> AppResult<Sku> {
        let attrs = patch
            .attrs
            .map(|a| parse_attrs(Some(a)))
            .transpose()?
            .map(|a| to_json(&a))
            .transpose()?;
        let weight_g = patch.weight_g.map(parse_weight).transpose()?;
        let list_price_fen = patch
            .list_price_fen
            .map(|p| parse_price("list_price_fen", p))
            .transpose()?;
        let now = self.now_ms();
        let (who, mid, sid) = (who.clone(), merchant_id.to_owned(), sku_id.to_owned());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let cur = load_sku(c, &mid, &sid)?;
                let attrs = match &attrs {
                    Some(a) => a.clone(),
                    None => to_json(&cur.attrs)?,
                };
                store::update_sku(
                    c,
                    &sid,
                    &attrs,
                    weight_g.unwrap_or(cur.weight_g),
                    list_price_fen.unwrap_or(cur.list_price_fen.get()),
                    now,
                )?;
                outbox::emit(
                    c,
                    now,
                    "sku.updated",
                    Some(&mid),
                    &sid,
                    &serde_json::json!({ "sku_id": sid }),
                )?;
                load_sku(c, &mid, &sid)
            })
            .await
    }

    /// Staff: the price of a SKU for one of the merchant's tiers (set or replaced).
    pub async fn set_tier_price(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        sku_id: &SkuId,
        tier_code: &str,
        price_fen: i64,
    ) -> AppResult<Sku> {
        TierCode::parse(tier_code).map_err(|e| e.for_field("tier_code"))?;
        let price_fen = parse_price("price_fen", price_fen)?;
        let now = self.now_ms();
        let (who, mid, sid, code) = (
            who.clone(),
            merchant_id.to_owned(),
            sku_id.to_owned(),
            tier_code.to_owned(),
        );
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                load_sku(c, &mid, &sid)?;
                let tier = tier_id_by_code(c, &mid, &code)?;
                store::upsert_tier_price(c, &sid, &tier, price_fen)?;
                store::touch_sku(c, &sid, now)?;
                outbox::emit(
                    c,
                    now,
                    "sku.tier_price_set",
                    Some(&mid),
                    &sid,
                    &serde_json::json!({ "sku_id": sid, "tier_code": code, "price_fen": price_fen }),
                )?;
                load_sku(c, &mid, &sid)
            })
            .await
    }

    /// Staff: removes a SKU's price for a tier; buyers of that tier pay the list price.
    pub async fn delete_tier_price(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        sku_id: &SkuId,
        tier_code: &str,
    ) -> AppResult<()> {
        TierCode::parse(tier_code).map_err(|e| e.for_field("tier_code"))?;
        let now = self.now_ms();
        let (who, mid, sid, code) = (
            who.clone(),
            merchant_id.to_owned(),
            sku_id.to_owned(),
            tier_code.to_owned(),
        );
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                load_sku(c, &mid, &sid)?;
                let tier = tier_id_by_code(c, &mid, &code)?;
                if !store::delete_tier_price(c, &sid, &tier)? {
                    return Err(AppError::NotFound("tier price"));
                }
                store::touch_sku(c, &sid, now)?;
                outbox::emit(
                    c,
                    now,
                    "sku.tier_price_deleted",
                    Some(&mid),
                    &sid,
                    &serde_json::json!({ "sku_id": sid, "tier_code": code }),
                )?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn sku_codes() {
        for ok in ["A-1", "maotai_500ml", "X", &"a".repeat(32)] {
            assert!(parse_sku_code(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "红", "a/b", &"a".repeat(33)] {
            assert!(parse_sku_code(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn attrs_are_an_object_of_text() {
        let a = parse_attrs(Some(json!({ "规格": "500ml", "颜色": "红" }))).unwrap();
        assert_eq!(a.get("规格").map(String::as_str), Some("500ml"));
        assert!(parse_attrs(None).unwrap().is_empty());
        assert!(parse_attrs(Some(json!(null))).unwrap().is_empty());
        for bad in [
            json!(["红"]),
            json!("红"),
            json!({ "n": 1 }),
            json!({ "": "x" }),
            json!({ "a": "" }),
        ] {
            let e = parse_attrs(Some(bad.clone())).unwrap_err();
            assert!(
                matches!(e, AppError::Invalid { ref field, .. } if field == "attrs"),
                "{bad}"
            );
        }
        let eleven: serde_json::Map<_, _> =
            (0..11).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert!(parse_attrs(Some(serde_json::Value::Object(eleven))).is_err());
    }

    #[test]
    fn images_are_our_media_or_allowed_hosts_never_our_own() {
        let hosts = vec![
            "img.example.com".to_owned(),
            "cdn.example.com:8443".to_owned(),
        ];
        let src = ImageSources {
            hosts: &hosts,
            public_url: "https://shop.example.com",
        };
        let id = "ab".repeat(32);
        let ok = vec![
            "https://img.example.com/a.jpg".to_owned(),
            "https://IMG.example.com/b.jpg".to_owned(),
            "https://cdn.example.com:8443/c.jpg".to_owned(),
            format!("/media/{id}"),
            format!("/media/{id}/thumb"),
        ];
        assert_eq!(parse_images(ok.clone(), &src).unwrap(), ok);
        for bad in [
            "http://img.example.com/a.jpg".to_owned(),
            "https://".to_owned(),
            "https://other.example.com/a.jpg".to_owned(),
            "https://cdn.example.com/c.jpg".to_owned(),
            "https://user@img.example.com/a.jpg".to_owned(),
            "https://shop.example.com/s/abcdef".to_owned(),
            "https://shop.example.com:443/s/abcdef".to_owned(),
            "/media/".to_owned(),
            "/media/2026/a-1.png".to_owned(),
            format!("/media/{id}/../../s/abcdef"),
            format!("/media/{}", "AB".repeat(32)),
            "/media/../etc/passwd".to_owned(),
            "/s/abcdef".to_owned(),
            "javascript:alert(1)".to_owned(),
            "https://img.example.com/\"onerror".to_owned(),
            "/other/a.png".to_owned(),
        ] {
            assert!(parse_images(vec![bad.clone()], &src).is_err(), "{bad}");
        }
        // Our own host stays refused even when an operator lists it.
        let own = vec!["shop.example.com".to_owned()];
        let listed = ImageSources {
            hosts: &own,
            public_url: "https://shop.example.com/",
        };
        assert!(parse_images(vec!["https://shop.example.com/a.jpg".into()], &listed).is_err());
        let long = format!("https://img.example.com/{}", "x".repeat(MAX_IMAGE_URL_LEN));
        assert!(parse_images(vec![long], &src).is_err());
        // The main picture and nine more, but not one beyond.
        let ten = vec!["https://img.example.com/x.jpg".to_owned(); MAX_IMAGES];
        assert!(parse_images(ten, &src).is_ok());
        let eleven = vec!["https://img.example.com/x.jpg".to_owned(); MAX_IMAGES + 1];
        assert!(
            matches!(parse_images(eleven, &src), Err(AppError::Invalid { field, .. }) if field == "images")
        );
        assert!(
            matches!(parse_images(vec!["ok".into()], &src), Err(AppError::Invalid { field, .. }) if field == "images[0]")
        );
    }

    #[test]
    fn statuses_and_prices() {
        assert_eq!(
            ProductStatus::parse("status", "active").unwrap(),
            ProductStatus::Active
        );
        assert!(ProductStatus::parse("status", "deleted").is_err());
        assert!(parse_price("list_price_fen", -1).is_err());
        assert!(parse_price("list_price_fen", MAX_PRICE_FEN + 1).is_err());
        assert_eq!(parse_price("list_price_fen", 0).unwrap(), 0);
    }

    proptest! {
        /// Whatever the input, a code that parses is one the rule allows, and the rule's
        /// alphabet always parses.
        #[test]
        fn sku_code_parse_matches_the_rule(s in "\\PC{0,40}") {
            let allowed = (1..=32).contains(&s.len())
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            prop_assert_eq!(parse_sku_code(&s).is_ok(), allowed);
        }

        #[test]
        fn prices_in_range_parse_to_themselves(p in 0i64..=MAX_PRICE_FEN) {
            prop_assert_eq!(parse_price("price_fen", p).unwrap(), p);
        }
    }
}
