//! The strings of 满减 / 满折 activities: the console's activities page, and the activity
//! as the member sees it on the product, the shop, the cart and the order. Read in
//! templates as `c.t.acts().<name>`.

use kith_app::commerce::promotions::activities::{ActivityTier, ThresholdActivity};
use kith_domain::PromotionStatus;

use super::{Strings, ZH};
use crate::pages::yuan;

pub struct Activities {
    pub title: &'static str,
    pub hint: &'static str,
    pub none: &'static str,
    pub label: &'static str,
    pub name: &'static str,
    pub name_hint: &'static str,
    pub kind: &'static str,
    pub kind_fixed: &'static str,
    pub kind_percent: &'static str,
    pub tiers: &'static str,
    pub tiers_hint: &'static str,
    pub tier_min: &'static str,
    pub tier_amount: &'static str,
    pub window: &'static str,
    pub starts: &'static str,
    pub ends: &'static str,
    pub paid_orders: &'static str,
    pub discount_given: &'static str,
    pub create: &'static str,
    pub save: &'static str,
    pub applied: &'static str,
    pub more_to: &'static str,
    pub reach: &'static str,
    pub add_more: &'static str,
    pub to_pay: &'static str,
    pub to_pay_hint: &'static str,
}

static ACTS_ZH: Activities = Activities {
    title: "满减活动",
    hint: "顾客下单时自动享受，不用领取：活动商品金额达到门槛即减，多档取达到的最高一档；一个订单只享受优惠最多的一个活动，优惠券在满减之后再算，门槛按满减后的金额计。拼团和接龙订单不参加。",
    none: "还没有满减活动",
    label: "满减",
    name: "活动名称",
    name_hint: "（1–32 字，如 年货节满减）",
    kind: "活动类型",
    kind_fixed: "满减（减金额）",
    kind_percent: "满折（打折）",
    tiers: "优惠档位",
    tiers_hint: "（最多 3 档，门槛和优惠逐档升高）",
    tier_min: "满（元）",
    tier_amount: "减（满减填元，满折填优惠百分比）",
    window: "活动时间",
    starts: "开始日期（不填为立即开始）",
    ends: "结束日期",
    paid_orders: "成交订单",
    discount_given: "已优惠",
    create: "新建满减活动",
    save: "创建活动",
    applied: "满减优惠",
    more_to: "再买",
    reach: "可享",
    add_more: "去凑单",
    to_pay: "优惠后商品金额",
    to_pay_hint: "（按已选的最优惠券计，运费下单时计算）",
};

static ACTS_EN: Activities = Activities {
    title: "Spend discounts",
    hint: "Applied at checkout without claiming: once the goods in the activity reach a threshold the discount comes off, the highest tier reached; an order takes the one activity that saves most, and a coupon is counted after it, its minimum measured on what is left. Group buys and batch orders do not take part.",
    none: "No spend discounts yet",
    label: "Spend discount",
    name: "Name",
    name_hint: "(1–32 characters)",
    kind: "Kind",
    kind_fixed: "Amount off",
    kind_percent: "Percent off",
    tiers: "Tiers",
    tiers_hint: "(up to 3, thresholds and discounts rising)",
    tier_min: "Spend (¥)",
    tier_amount: "Off (¥, or % for percent off)",
    window: "Runs",
    starts: "Start date (empty: now)",
    ends: "End date",
    paid_orders: "Paid orders",
    discount_given: "Given",
    create: "New spend discount",
    save: "Create",
    applied: "Spend discount",
    more_to: "Add",
    reach: "to get",
    add_more: "Keep shopping",
    to_pay: "Goods after discounts",
    to_pay_hint: "(with the best coupon chosen; shipping at checkout)",
};

impl Strings {
    /// The activity pages' strings of this language.
    pub fn acts(&self) -> &'static Activities {
        if std::ptr::eq(self, &ZH) {
            &ACTS_ZH
        } else {
            &ACTS_EN
        }
    }

    /// One tier in words: 满 ¥199.00 减 ¥20.00, 满 ¥300.00 打 9 折.
    pub fn activity_tier(&self, kind: &str, t: &ActivityTier) -> String {
        let zh = std::ptr::eq(self, &ZH);
        match (kind, zh) {
            ("percent", true) => {
                let left = 100 - t.amount;
                let zhe = if left % 10 == 0 {
                    format!("{}", left / 10)
                } else {
                    format!("{}.{}", left / 10, left % 10)
                };
                format!("满 {} 打 {zhe} 折", yuan(t.min_spend_fen))
            }
            ("percent", false) => format!("{}% off {}", t.amount, yuan(t.min_spend_fen)),
            (_, true) => format!("满 {} 减 {}", yuan(t.min_spend_fen), yuan(t.amount)),
            (_, false) => format!("{} off {}", yuan(t.amount), yuan(t.min_spend_fen)),
        }
    }

    /// All of an activity's tiers in words, joined: 满 ¥199.00 减 ¥20.00，满 ¥299.00 减 ¥50.00.
    pub fn activity_tiers(&self, a: &ThresholdActivity) -> String {
        let sep = if std::ptr::eq(self, &ZH) { "，" } else { "; " };
        a.tiers
            .iter()
            .map(|t| self.activity_tier(&a.kind, t))
            .collect::<Vec<_>>()
            .join(sep)
    }

    /// An activity's state in words: live, not yet started, over, paused or ended.
    pub fn activity_status(&self, a: &ThresholdActivity, now_rfc3339: &str) -> &'static str {
        let (z, e) = match a.status {
            PromotionStatus::Active if a.live => ("进行中", "Running"),
            // RFC 3339 in one zone sorts as time.
            PromotionStatus::Active if a.starts_at.as_str() > now_rfc3339 => {
                ("未开始", "Not started")
            }
            PromotionStatus::Active => ("已结束", "Over"),
            PromotionStatus::Paused => ("已暂停", "Paused"),
            PromotionStatus::Ended => ("已停止", "Ended"),
        };
        if std::ptr::eq(self, &ZH) { z } else { e }
    }

    /// A refusal of the activity form in the page's words: (form field, words).
    pub fn activity_form_refusal(&self, field: &str, reason: &str) -> (&'static str, String) {
        let zh = std::ptr::eq(self, &ZH);
        let (at, z, e) = match field {
            "name" => (
                "name",
                "请填写 1–32 字的活动名称",
                "Give a name of 1–32 characters",
            ),
            "kind" => (
                "kind",
                "请选择满减或满折",
                "Choose amount off or percent off",
            ),
            "tiers" => ("tiers", "请填写 1–3 档优惠", "Give 1–3 tiers"),
            f if f.ends_with(".min_spend_fen") && reason.contains("above") => (
                "tiers",
                "每一档的门槛要高于上一档",
                "Each tier's threshold must be above the one before",
            ),
            f if f.ends_with(".min_spend_fen") => (
                "tiers",
                "门槛需为大于 0 的金额",
                "A threshold must be above ¥0",
            ),
            f if f.ends_with(".amount") && reason.contains("more off") => (
                "tiers",
                "每一档的优惠要大于上一档",
                "Each tier must take more off than the one before",
            ),
            f if f.ends_with(".amount") && reason.contains("1–99") => (
                "tiers",
                "满折的优惠比例需为 1–99 的整数",
                "Percent off must be 1–99",
            ),
            f if f.ends_with(".amount") => (
                "tiers",
                "减免金额需大于 0 且不超过这一档的门槛",
                "The amount off must be above ¥0 and at most the tier's threshold",
            ),
            f if f.starts_with("product_ids") => (
                "scope",
                "请选择本店的商品（最多 100 个）",
                "Choose products of this shop (at most 100)",
            ),
            "starts_at" | "ends_at" => (
                "window",
                "请填写今天之后的结束日期，晚于开始日期，活动最长 366 天",
                "Give an end date after today and after the start, at most 366 days on",
            ),
            _ => ("name", "", ""),
        };
        let words = match (z.is_empty(), zh) {
            (true, _) => reason.to_owned(),
            (false, true) => z.to_owned(),
            (false, false) => e.to_owned(),
        };
        (at, words)
    }

    /// 凑单: "再买 ¥99.00 可享 满 ¥299.00 减 ¥50.00".
    pub fn activity_next(&self, kind: &str, more_fen: i64, t: &ActivityTier) -> String {
        let a = self.acts();
        format!(
            "{} {} {} {}",
            a.more_to,
            yuan(more_fen),
            a.reach,
            self.activity_tier(kind, t)
        )
    }
}

/// The strings of the 秒杀 pages. Read in templates as `c.t.flash().<name>`.
pub struct Flash {
    pub title: &'static str,
    pub shelf: &'static str,
    pub price: &'static str,
    pub list_price: &'static str,
    pub limits: &'static str,
    pub per_member: &'static str,
    pub per_order: &'static str,
    pub pay_within: &'static str,
    pub allow_coupons: &'static str,
    pub minutes: &'static str,
    pub slots: &'static str,
    pub left: &'static str,
    pub sold: &'static str,
    pub quantity: &'static str,
    pub buy: &'static str,
    pub login_to_buy: &'static str,
    pub none: &'static str,
    pub create: &'static str,
    pub sku: &'static str,
    pub slot_start: &'static str,
    pub slot_end: &'static str,
    pub quota: &'static str,
    pub slots_hint: &'static str,
    pub save: &'static str,
}

static FLASH_ZH: Flash = Flash {
    title: "限时秒杀",
    shelf: "限时秒杀",
    price: "秒杀价",
    list_price: "原价",
    limits: "限购",
    per_member: "每人限购",
    per_order: "每单限购",
    pay_within: "下单后请在",
    allow_coupons: "秒杀订单也可使用优惠券（默认不可：秒杀价已是优惠）",
    minutes: "分钟内付款",
    slots: "场次",
    left: "剩",
    sold: "已抢",
    quantity: "购买件数",
    buy: "立即抢购",
    login_to_buy: "登录后抢购",
    none: "还没有秒杀活动",
    create: "新建秒杀",
    sku: "秒杀商品",
    slot_start: "开始时间",
    slot_end: "结束时间",
    quota: "限量（件）",
    slots_hint: "（北京时间，最多 3 场，按时间先后、互不重叠；限量与库存分开计算；未付款取消的订单退回名额，付款后退款的不退回）",
    save: "创建秒杀",
};

static FLASH_EN: Flash = Flash {
    title: "Flash sales",
    shelf: "Flash sales",
    price: "Flash price",
    list_price: "List price",
    limits: "Limits",
    per_member: "Per member",
    per_order: "Per order",
    pay_within: "Pay within",
    allow_coupons: "Flash orders may take a coupon too (off by default: the flash price is the discount)",
    minutes: "minutes of ordering",
    slots: "Slots",
    left: "Left",
    sold: "Sold",
    quantity: "Quantity",
    buy: "Buy now",
    login_to_buy: "Log in to buy",
    none: "No flash sales yet",
    create: "New flash sale",
    sku: "SKU",
    slot_start: "Starts",
    slot_end: "Ends",
    quota: "Quota (units)",
    slots_hint: "(Beijing time, up to 3, in time order and not overlapping; the quota is apart from stock; an unpaid order cancelled gives its units back, a paid one refunded does not)",
    save: "Create",
};

impl Strings {
    /// The 秒杀 pages' strings of this language.
    pub fn flash(&self) -> &'static Flash {
        if std::ptr::eq(self, &ZH) {
            &FLASH_ZH
        } else {
            &FLASH_EN
        }
    }
}
