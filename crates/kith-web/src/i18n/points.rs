//! The strings of points (积分): the member's 我的积分 pages, the cart's points choice, the
//! console's points rule. Read in templates as `c.t.pts().<name>`.

use super::{Strings, ZH};

pub struct Points {
    pub mine: &'static str,
    pub none: &'static str,
    pub available: &'static str,
    pub frozen: &'static str,
    pub frozen_hint: &'static str,
    pub worth: &'static str,
    pub expiring: &'static str,
    pub never_expire: &'static str,
    pub statement: &'static str,
    pub no_lines: &'static str,
    pub amount: &'static str,
    pub at: &'static str,
    pub more: &'static str,
    pub see_order: &'static str,
    pub off: &'static str,
    pub use_points: &'static str,
    pub console_title: &'static str,
    pub console_hint: &'static str,
    pub enabled: &'static str,
    pub earn_per_yuan: &'static str,
    pub points_per_yuan: &'static str,
    pub cap_percent: &'static str,
    pub expire_days: &'static str,
    pub save: &'static str,
    pub saved: &'static str,
    pub rule_words: &'static str,
    pub order_points: &'static str,
    pub order_earned: &'static str,
    pub short: &'static str,
    pub on_activity_orders: &'static str,
}

static PTS_ZH: Points = Points {
    mine: "我的积分",
    none: "还没有积分：在开通积分的店铺下单，确认收货且售后期结束后积分到账。",
    available: "可用积分",
    frozen: "冻结中",
    frozen_hint: "订单售后期结束后到账",
    worth: "可抵",
    expiring: "即将过期",
    never_expire: "长期有效",
    statement: "积分明细",
    no_lines: "还没有积分变动",
    amount: "积分",
    at: "时间",
    more: "更早的明细",
    see_order: "查看订单",
    off: "本店已暂停积分",
    use_points: "使用 {points} 积分抵扣 {yuan}",
    console_title: "积分",
    console_hint: "顾客按实付商品金额获得积分，售后期结束后到账；下单时可用积分抵扣，退款时按比例退回和扣回。积分不是现金，不能提现。",
    enabled: "开启积分",
    earn_per_yuan: "每消费 1 元得积分（0–100，0 为只抵扣不发放）",
    points_per_yuan: "多少积分抵 1 元（1–10000）",
    cap_percent: "单笔最多抵扣商品金额的百分比（1–100）",
    expire_days: "积分有效天数（30–1095，0 为长期有效）",
    save: "保存积分规则",
    saved: "积分规则已保存",
    rule_words: "每消费 1 元得 {earn} 积分，{ppy} 积分抵 1 元，最多抵扣 {cap}%",
    order_points: "积分抵扣",
    order_earned: "本单获得积分",
    short: "积分不足：可能已在其他订单中使用，请看看可用积分后再下单",
    on_activity_orders: "秒杀、拼团订单也可使用积分抵扣（默认不可：活动价已是优惠）",
};

static PTS_EN: Points = Points {
    mine: "My points",
    none: "No points yet: order at a shop that gives points; they arrive once the after-sale window closes.",
    available: "Available",
    frozen: "Frozen",
    frozen_hint: "arrive when the after-sale window closes",
    worth: "Worth",
    expiring: "Expiring",
    never_expire: "Never expire",
    statement: "Statement",
    no_lines: "No movements yet",
    amount: "Points",
    at: "When",
    more: "Older",
    see_order: "See order",
    off: "This shop has paused points",
    use_points: "Use {points} points for {yuan} off",
    console_title: "Points",
    console_hint: "Members earn points on the goods they pay, available once the after-sale window closes; they spend them at checkout, and refunds give back and take back in proportion. Points are not cash and cannot be withdrawn.",
    enabled: "Points on",
    earn_per_yuan: "Points per ¥1 spent (0–100; 0: spend only)",
    points_per_yuan: "Points worth ¥1 (1–10000)",
    cap_percent: "At most this % of an order's goods (1–100)",
    expire_days: "Days points last (30–1095; 0: never expire)",
    save: "Save the points rule",
    saved: "Points rule saved",
    rule_words: "{earn} points per ¥1, {ppy} points worth ¥1, up to {cap}% of an order",
    order_points: "Points",
    order_earned: "Points earned",
    short: "Not enough points: they may be in another order; check your points and try again",
    on_activity_orders: "Flash-sale and group-buy orders may take points too (off by default: their price is already a discount)",
};

impl Strings {
    /// The points pages' strings of this language.
    pub fn pts(&self) -> &'static Points {
        if std::ptr::eq(self, &ZH) {
            &PTS_ZH
        } else {
            &PTS_EN
        }
    }

    /// A statement line's kind in words.
    pub fn points_kind(&self, kind: &str) -> &'static str {
        let zh = std::ptr::eq(self, &ZH);
        let (z, e) = match kind {
            "points_earned" => ("下单获得（冻结）", "Earned (frozen)"),
            "points_settled" => ("售后期结束，到账", "Available after the window"),
            "points_redeemed" => ("下单抵扣", "Spent at checkout"),
            "points_returned" => ("退回", "Given back"),
            "points_reversed" => ("退款扣回", "Taken back by a refund"),
            "points_expired" => ("过期", "Expired"),
            _ => ("调整", "Adjustment"),
        };
        if zh { z } else { e }
    }

    /// A refused points rule field in words.
    pub fn points_refusal(&self, field: &str) -> &'static str {
        let zh = std::ptr::eq(self, &ZH);
        let (z, e) = match field {
            "earn_per_yuan" => ("请填 0–100 的整数", "Give a whole number 0–100"),
            "points_per_yuan" => ("请填 1–10000 的整数", "Give a whole number 1–10000"),
            "cap_percent" => ("请填 1–100 的整数", "Give a whole number 1–100"),
            "expire_days" => (
                "请填 0 或 30–1095 的整数",
                "Give 0 or a whole number 30–1095",
            ),
            _ => ("请检查填写的内容", "Check what was typed"),
        };
        if zh { z } else { e }
    }
}
