//! Verified-purchase reviews (docs/PRODUCT.md §2.2): one per order line, by the order's buyer, once
//! the order is `completed` — the after-sale window has closed, so what is reviewed is a
//! purchase that stands. (Reviews are not taken at `delivered` / `picked_up`: a review
//! written inside the window could describe an order that is then refunded.) A line
//! refunded in full is not a purchase any more and cannot be reviewed.
//!
//! A review has a rating 1–5, text of at most 1000 characters and at most 9 images the
//! author uploaded. The merchant's staff may reply once. Reviews are public product
//! information: anyone, signed in or not, lists a product's reviews, newest first — except
//! reviews hidden by moderation (`hidden_at`), and, for a signed-in viewer, reviews by a
//! member who blocked them or whom they blocked (`visibility::blocked_between`, as SQL in
//! the query, so such a review is never loaded for that viewer).
//!
//! The rating aggregates (count, mean ×100 rounded down, distribution) count every review
//! that is not hidden: a product's rating is a fact about the product and reads the same
//! to every viewer; blocks hide people, not the product's score. They are computed in SQL
//! with integer arithmetic.

use std::collections::BTreeMap;

use kith_domain::BoundedText;
use kith_store::Conn;
use serde::Serialize;

use super::store::load_review;
use super::store::reviews::{
    insert_review, lock_order_for_review, order_line_to_review, product_rating,
    product_reviews_page, product_status, review_parties, set_reply, uploads_among,
};
use crate::platform::auth::{StaffNeed, merchant_status, require_staff};
use crate::platform::ids::{AccountId, MerchantId, OrderId, ProductId, ReviewId, SkuId, new_id};
use crate::platform::page::{Page, PageRequest};
use crate::social::media::{MediaId, MediaRef};
use crate::social::visibility::viewer_id;
use crate::{App, AppError, AppResult, Principal, platform::outbox};

/// Most images on one review (a 3×3 grid).
pub const MAX_REVIEW_IMAGES: usize = 9;
/// Longest review text, in characters.
pub const MAX_REVIEW_BODY: usize = 1000;
/// Longest merchant reply, in characters.
pub const MAX_REPLY_BODY: usize = 500;

/// What the buyer writes.
#[derive(Debug, Clone, Default)]
pub struct ReviewInput {
    pub rating: i64,
    pub body: String,
    /// Media ids the author uploaded.
    pub images: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewAuthor {
    pub id: AccountId,
    pub display_name: String,
}

/// The merchant's one answer to a review.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewReply {
    pub body: String,
    pub replied_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Review {
    pub id: ReviewId,
    pub merchant_id: MerchantId,
    pub product_id: ProductId,
    /// The SKU bought, with its code and attributes as they were at checkout.
    pub sku_id: SkuId,
    pub sku_code: String,
    pub sku_attrs: serde_json::Value,
    pub author: ReviewAuthor,
    /// 1–5.
    pub rating: i64,
    pub body: String,
    pub images: Vec<MediaRef>,
    /// Always true: every review is written from a completed order line.
    pub verified_purchase: bool,
    pub created_at: String,
    pub reply: Option<ReviewReply>,
}

/// A product's rating over its visible reviews.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq, Eq)]
pub struct Rating {
    pub count: i64,
    /// The mean rating ×100, rounded down (0 when there are no reviews): 4.5 is 450.
    pub mean_x100: i64,
    /// Reviews per rating, every key "1"–"5" present.
    pub distribution: BTreeMap<String, i64>,
}

// ---------------------------------------------------------------------------------------
// Parsing input

fn parse_rating(rating: i64) -> AppResult<i64> {
    if (1..=5).contains(&rating) {
        Ok(rating)
    } else {
        Err(AppError::invalid(
            "rating",
            "must be a whole number from 1 to 5",
        ))
    }
}

fn parse_review_images(images: &[String]) -> AppResult<Vec<String>> {
    if images.len() > MAX_REVIEW_IMAGES {
        return Err(AppError::invalid(
            "images",
            format!("at most {MAX_REVIEW_IMAGES} images"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(images.len());
    for (i, raw) in images.iter().enumerate() {
        let id = MediaId::parse(raw.trim()).ok_or_else(|| {
            AppError::invalid(
                format!("images[{i}]"),
                "is not a media id (from POST /api/v1/media)",
            )
        })?;
        if out.iter().any(|o| o == id.as_str()) {
            return Err(AppError::invalid(format!("images[{i}]"), "appears twice"));
        }
        out.push(id.as_str().to_owned());
    }
    Ok(out)
}

/// The product's reviews may be read by `who`: its merchant's staff always; anyone else
/// when the merchant trades and the product is on sale (as the catalog shows it). 404
/// otherwise, also for a product of another merchant.
fn check_product_readable(
    c: &mut dyn Conn,
    who: Option<&Principal>,
    merchant_id: &str,
    product_id: &str,
) -> AppResult<()> {
    let status = merchant_status(c, merchant_id)?;
    let product =
        product_status(c, product_id, merchant_id)?.ok_or(AppError::NotFound("product"))?;
    if let Some(p) = who
        && require_staff(c, p, merchant_id, StaffNeed::AnyStaff).is_ok()
    {
        return Ok(());
    }
    if status.ensure_trading().is_err() {
        return Err(AppError::NotFound("merchant"));
    }
    if product != "active" {
        return Err(AppError::NotFound("product"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Use cases

impl App {
    /// The buyer reviews one line of their completed order. 404 when the order is not
    /// theirs or has no such line; 409 when the order is not completed, the line was
    /// refunded in full, or the line already has a review.
    pub async fn create_review(
        &self,
        who: &Principal,
        order_id: &OrderId,
        line_no: i64,
        input: ReviewInput,
    ) -> AppResult<Review> {
        let rating = parse_rating(input.rating)?;
        let body =
            BoundedText::parse_multiline("body", &input.body, 0, MAX_REVIEW_BODY)?.into_string();
        let images = parse_review_images(&input.images)?;
        let images_json = serde_json::to_string(&images)
            .map_err(|e| AppError::Internal(format!("serialize images: {e}")))?;
        let now = self.now_ms();
        let (who, oid) = (who.clone(), order_id.clone());
        self.db
            .write(move |c| {
                let (buyer, merchant_id, status) =
                    lock_order_for_review(c, &oid)?.ok_or(AppError::NotFound("order"))?;
                if buyer != who.account_id {
                    return Err(AppError::NotFound("order"));
                }
                let (sku_id, product_id, quantity, refunded) = order_line_to_review(c, &oid, line_no)?
                    .ok_or(AppError::NotFound("order line"))?;
                if status != "completed" {
                    return Err(AppError::state(format!(
                        "the order is {status}; its lines can be reviewed once it is completed (after the after-sale window)"
                    )));
                }
                if refunded >= quantity {
                    return Err(AppError::state("this line was refunded in full and cannot be reviewed"));
                }
                if !images.is_empty() {
                    let owned = uploads_among(c, &who.account_id, &images)?;
                    if let Some(i) = images.iter().position(|id| !owned.contains(id)) {
                        return Err(AppError::invalid(
                            format!("images[{i}]"),
                            "is not an image you uploaded",
                        ));
                    }
                }
                let id = new_id();
                if !insert_review(c, &id, &oid, line_no, &sku_id, &product_id, &merchant_id, &who.account_id, rating, &body, &images_json, now)? {
                    return Err(AppError::state("this order line already has a review"));
                }
                outbox::emit(
                    c,
                    now,
                    "review.created",
                    Some(&merchant_id),
                    &id,
                    &serde_json::json!({
                        "review_id": id, "order_id": oid, "line_no": line_no, "product_id": product_id,
                        "sku_id": sku_id, "author_id": who.account_id, "rating": rating,
                    }),
                )?;
                load_review(c, &id)
            })
            .await
    }

    /// The merchant's staff answer a review of one of its products, once. 404 when the
    /// review is not this merchant's, 403 for anyone but its staff, 409 the second time.
    pub async fn reply_to_review(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        review_id: &ReviewId,
        body: &str,
    ) -> AppResult<Review> {
        let body = BoundedText::parse_multiline("body", body, 1, MAX_REPLY_BODY)?.into_string();
        let now = self.now_ms();
        let (who, mid, rid) = (who.clone(), merchant_id.clone(), review_id.clone());
        self.db
            .write(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let (author, product, order) =
                    review_parties(c, &rid, &mid)?.ok_or(AppError::NotFound("review"))?;
                if !set_reply(c, &rid, &mid, &body, &who.account_id, now)? {
                    return Err(AppError::state(
                        "this review already has the merchant's reply",
                    ));
                }
                outbox::emit(
                    c,
                    now,
                    "review.replied",
                    Some(&mid),
                    &rid,
                    &serde_json::json!({
                        "review_id": rid, "replied_by": who.account_id, "author_id": author,
                        "product_id": product, "order_id": order,
                    }),
                )?;
                load_review(c, &rid)
            })
            .await
    }

    /// A product's reviews, newest first: not hidden, and none by a member who blocked the
    /// viewer or whom the viewer blocked. Public for a product on sale.
    pub async fn product_reviews(
        &self,
        who: Option<&Principal>,
        merchant_id: &MerchantId,
        product_id: &ProductId,
        page: PageRequest,
    ) -> AppResult<Page<Review>> {
        let viewer = viewer_id(who.map(|p| p.account_id.as_str())).to_owned();
        let limit = page.limit;
        let (who, mid, pid) = (who.cloned(), merchant_id.clone(), product_id.clone());
        let rows = self
            .db
            .read(move |c| {
                check_product_readable(c, who.as_ref(), &mid, &pid)?;
                product_reviews_page(c, &pid, &mid, &viewer, &page)
            })
            .await?;
        Ok(Page::from_keyed(rows, limit, |r| &r.id))
    }

    /// A product's rating over its reviews that are not hidden.
    pub async fn product_rating(
        &self,
        who: Option<&Principal>,
        merchant_id: &MerchantId,
        product_id: &ProductId,
    ) -> AppResult<Rating> {
        let (who, mid, pid) = (who.cloned(), merchant_id.clone(), product_id.clone());
        self.db
            .read(move |c| {
                check_product_readable(c, who.as_ref(), &mid, &pid)?;
                let (count, mean_x100, distribution) = product_rating(c, &pid, &mid)?;
                Ok(Rating {
                    count,
                    mean_x100,
                    distribution,
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_and_images() {
        for ok in 1..=5 {
            assert_eq!(parse_rating(ok).unwrap(), ok);
        }
        for bad in [0, 6, -1, i64::MAX] {
            assert!(
                matches!(parse_rating(bad), Err(AppError::Invalid { field, .. }) if field == "rating")
            );
        }
        let id = MediaId::of(b"a").as_str().to_owned();
        assert_eq!(
            parse_review_images(std::slice::from_ref(&id)).unwrap(),
            vec![id.clone()]
        );
        assert!(
            matches!(parse_review_images(&[id.clone(), id.clone()]), Err(AppError::Invalid { field, .. }) if field == "images[1]")
        );
        assert!(
            matches!(parse_review_images(&["../x".into()]), Err(AppError::Invalid { field, .. }) if field == "images[0]")
        );
        let ten: Vec<String> = (0..10u8)
            .map(|i| MediaId::of(&[i]).as_str().to_owned())
            .collect();
        assert!(
            matches!(parse_review_images(&ten), Err(AppError::Invalid { field, .. }) if field == "images")
        );
    }
}
