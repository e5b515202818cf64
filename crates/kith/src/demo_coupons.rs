//! Coupons in the demo world ([`crate::demo`] calls [`build`] once its shops exist): the
//! liquor shop offers a 满减 for new customers and a 9 折 coupon in its 领券中心, and a
//! friends-only 满199减20 as its share coupon; the baby shop a 满99减10. A few members have
//! claimed the 9 折 coupon, so the console shows counts and 我的优惠券 is not empty. The
//! liquor shop also runs a tiered 满减 activity for a month ([`LIQUOR_ACTIVITY`]), which
//! checkout applies by itself before the coupon.

use kith_app::commerce::promotions::NewCouponTemplate;
use kith_app::commerce::promotions::activities::{ActivityTier, NewThresholdActivity};
use kith_app::commerce::promotions::flash::{NewFlashSale, NewFlashSlot};
use kith_app::commerce::promotions::offers::{ChosenCouponInput, Slot};
use kith_app::{App, AppError, Principal};

/// The liquor shop's 9 折 coupon, claimed by a few demo members.
pub const LIQUOR_PERCENT: &str = "酱香 9 折券";

/// The liquor shop's 满减 activity: 满 ¥399 减 ¥30, 满 ¥599 减 ¥60, for 30 days.
pub const LIQUOR_ACTIVITY: &str = "品鉴季满减";

/// The liquor shop's 秒杀: its 100ml bottle at ¥19.90, a slot selling now and one tomorrow.
pub const LIQUOR_FLASH: &str = "品鉴小酒限时秒杀";

fn e(err: AppError) -> anyhow::Error {
    anyhow::anyhow!("demo coupons: {err}")
}

fn fixed(name: &str, off_fen: i64, min_spend_fen: i64, total: i64) -> NewCouponTemplate {
    NewCouponTemplate {
        name: name.into(),
        kind: "fixed".into(),
        off_fen: Some(off_fen),
        percent_off: None,
        cap_fen: None,
        min_spend_fen,
        product_ids: None,
        valid_from: None,
        valid_until: None,
        valid_days: Some(30),
        total_count: total,
        per_member_limit: Some(1),
        allow_group_buy: false,
    }
}

/// The shops' coupons, the liquor shop's 满减 and its 秒杀 on `flash_sku`; `claimers` each
/// claim the liquor shop's 9 折 coupon.
pub async fn build(
    app: &App,
    liquor: (&Principal, &str),
    flash_sku: &str,
    baby: (&Principal, &str),
    claimers: &[Principal],
) -> anyhow::Result<()> {
    let (owner, mid) = liquor;
    app.create_threshold_activity(
        owner,
        &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
        NewThresholdActivity {
            name: LIQUOR_ACTIVITY.into(),
            kind: "fixed".into(),
            tiers: vec![
                ActivityTier {
                    min_spend_fen: 39_900,
                    amount: 3_000,
                },
                ActivityTier {
                    min_spend_fen: 59_900,
                    amount: 6_000,
                },
            ],
            product_ids: None,
            starts_at: None,
            ends_at: kith_app::rfc3339(app.now_ms() + 30 * 86_400_000),
        },
    )
    .await
    .map_err(e)?;
    let (now, hour) = (app.now_ms(), 3_600_000);
    let slot = |from: i64, quota: i64| NewFlashSlot {
        starts_at: kith_app::rfc3339(from),
        ends_at: kith_app::rfc3339(from + 2 * hour),
        quota,
    };
    app.create_flash_sale(
        owner,
        &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
        NewFlashSale {
            name: LIQUOR_FLASH.into(),
            sku_id: flash_sku.into(),
            price_fen: 1_990,
            per_member_limit: Some(2),
            per_order_limit: Some(1),
            unpaid_timeout_minutes: Some(5),
            allow_coupons: false,
            slots: vec![slot(now - hour / 4, 200), slot(now + 24 * hour, 200)],
        },
    )
    .await
    .map_err(e)?;
    app.create_coupon_template(
        owner,
        &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
        fixed("新客满299减30", 3_000, 29_900, 500),
    )
    .await
    .map_err(e)?;
    let percent = app
        .create_coupon_template(
            owner,
            &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
            NewCouponTemplate {
                name: LIQUOR_PERCENT.into(),
                kind: "percent".into(),
                off_fen: None,
                percent_off: Some(10),
                cap_fen: Some(5_000),
                valid_days: Some(14),
                total_count: 200,
                ..fixed("", 0, 0, 0)
            },
        )
        .await
        .map_err(e)?;
    let share = app
        .create_coupon_template(
            owner,
            &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
            fixed("好友专享满199减20", 2_000, 19_900, 1_000),
        )
        .await
        .map_err(e)?;
    app.choose_coupon(
        owner,
        &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
        Slot::Share,
        ChosenCouponInput {
            template_id: Some(share.id.to_string()),
        },
    )
    .await
    .map_err(e)?;
    for who in claimers {
        app.claim_coupon(
            who,
            &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
            &percent.id,
        )
        .await
        .map_err(e)?;
    }
    let (owner, mid) = baby;
    app.create_coupon_template(
        owner,
        &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
        fixed("宝妈满99减10", 1_000, 9_900, 300),
    )
    .await
    .map_err(e)?;
    Ok(())
}
