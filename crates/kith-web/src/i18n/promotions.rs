//! The strings of the coupon pages: the shop's 领券中心, 我的优惠券, the coupon choice at
//! checkout and the console's coupon templates. Read in templates as `c.t.promo().<name>`.

use kith_domain::PromotionStatus;

use super::{Strings, ZH};
use crate::pages::yuan;

pub struct Promotions {
    pub center: &'static str,
    pub center_hint: &'static str,
    pub no_offers: &'static str,
    pub claim: &'static str,
    pub login_to_claim: &'static str,
    pub held: &'static str,
    pub left: &'static str,
    pub no_minimum: &'static str,
    pub whole_shop: &'static str,
    pub some_products: &'static str,
    pub mine: &'static str,
    pub none_here: &'static str,
    pub go_claim: &'static str,
    pub use_now: &'static str,
    pub see_order: &'static str,
    pub coupon: &'static str,
    pub no_coupon: &'static str,
    pub best: &'static str,
    pub saves: &'static str,
    pub not_in_scope: &'static str,
    pub under_minimum: &'static str,
    pub checkout_refused: &'static str,
    pub console_title: &'static str,
    pub create: &'static str,
    pub name: &'static str,
    pub name_hint: &'static str,
    pub kind: &'static str,
    pub kind_fixed: &'static str,
    pub kind_percent: &'static str,
    pub off: &'static str,
    pub percent: &'static str,
    pub cap: &'static str,
    pub min_spend: &'static str,
    pub scope: &'static str,
    pub scope_hint: &'static str,
    pub validity: &'static str,
    pub valid_days_label: &'static str,
    pub valid_until_label: &'static str,
    pub validity_hint: &'static str,
    pub total: &'static str,
    pub per_member: &'static str,
    pub allow_group_buy: &'static str,
    pub save: &'static str,
    pub no_templates: &'static str,
    pub value: &'static str,
    pub threshold: &'static str,
    pub claimed_of: &'static str,
    pub used: &'static str,
    pub status: &'static str,
    pub pause: &'static str,
    pub resume: &'static str,
    pub end: &'static str,
    pub fix_field: &'static str,
    pub share_title: &'static str,
    pub share_hint: &'static str,
    pub share_none: &'static str,
    pub share_save: &'static str,
    pub issue_title: &'static str,
    pub issue_hint: &'static str,
    pub issue_tier: &'static str,
    pub issue: &'static str,
    pub new_member: &'static str,
    pub new_member_title: &'static str,
    pub new_member_hint: &'static str,
    pub new_member_none: &'static str,
    pub new_member_save: &'static str,
}

static PROMO_ZH: Promotions = Promotions {
    center: "领券中心",
    center_hint: "领到的券放在「我的优惠券」里，结算时自动为你选出最省钱的一张。",
    no_offers: "本店暂时没有可领的优惠券",
    claim: "立即领取",
    login_to_claim: "登录后领取",
    held: "已领",
    left: "剩余",
    no_minimum: "无门槛",
    whole_shop: "全店通用",
    some_products: "指定商品可用",
    mine: "我的优惠券",
    none_here: "这里还没有优惠券",
    go_claim: "去领券",
    use_now: "去使用",
    see_order: "查看订单",
    coupon: "优惠券",
    no_coupon: "不使用优惠券",
    best: "最优",
    saves: "可省",
    not_in_scope: "购物车里没有这张券适用的商品",
    under_minimum: "还差一点才满使用门槛",
    checkout_refused: "这张优惠券现在不能用",
    console_title: "优惠券",
    create: "新建优惠券",
    name: "名称",
    name_hint: "1–32 字，如「新人券」「满 199 减 20」",
    kind: "类型",
    kind_fixed: "满减券（减固定金额）",
    kind_percent: "折扣券（按比例减）",
    off: "减免金额（元）",
    percent: "优惠比例（%，如 20 即打 8 折）",
    cap: "最多减（元，可不填）",
    min_spend: "使用门槛（满多少元可用，0 为无门槛）",
    scope: "适用商品",
    scope_hint: "不选即全店通用",
    validity: "有效期",
    valid_days_label: "领取后有效天数",
    valid_until_label: "或：截止日期（北京时间当天 23:59）",
    validity_hint: "二选一",
    total: "发放总量（张）",
    per_member: "每人限领（张）",
    allow_group_buy: "拼团订单也可使用",
    save: "创建优惠券",
    no_templates: "还没有优惠券，在下面新建一张",
    value: "优惠",
    threshold: "门槛",
    claimed_of: "已领 / 总量",
    used: "已使用",
    status: "状态",
    pause: "暂停发放",
    resume: "恢复发放",
    end: "停止发放",
    fix_field: "请修改",
    share_title: "分享券",
    share_hint: "分销员的分享链接会给通过链接来的好友送这张券：好友领券、下单，分享者按优惠后的实付金额拿佣金。",
    share_none: "不提供分享券",
    share_save: "保存分享券",
    issue_title: "发放给会员",
    issue_hint: "给某个会员等级的每位会员发一张（每人限领、剩余数量不够时整批不发）。",
    issue_tier: "会员等级",
    issue: "发放",
    new_member: "新人专享",
    new_member_title: "新人券",
    new_member_hint: "只有还没在本店下过单的会员能领（已取消的订单不算）；它也照常出现在领券中心。",
    new_member_none: "不设新人券",
    new_member_save: "保存新人券",
};

static PROMO_EN: Promotions = Promotions {
    center: "Coupons",
    center_hint: "Claimed coupons wait in My coupons; checkout picks the one that saves you most.",
    no_offers: "This shop offers no coupons right now",
    claim: "Claim",
    login_to_claim: "Log in to claim",
    held: "Held",
    left: "left",
    no_minimum: "No minimum",
    whole_shop: "Whole shop",
    some_products: "Selected products",
    mine: "My coupons",
    none_here: "No coupons here yet",
    go_claim: "Get coupons",
    use_now: "Use it",
    see_order: "See the order",
    coupon: "Coupon",
    no_coupon: "No coupon",
    best: "Best",
    saves: "saves",
    not_in_scope: "Nothing in the cart is covered by this coupon",
    under_minimum: "The cart is under this coupon's minimum spend",
    checkout_refused: "This coupon cannot be used now",
    console_title: "Coupons",
    create: "New coupon",
    name: "Name",
    name_hint: "1–32 characters, e.g. Welcome coupon",
    kind: "Kind",
    kind_fixed: "Amount off",
    kind_percent: "Percent off",
    off: "Amount off (¥)",
    percent: "Percent off (e.g. 20)",
    cap: "At most (¥, optional)",
    min_spend: "Minimum spend (¥, 0 for none)",
    scope: "Products",
    scope_hint: "Choose none for the whole shop",
    validity: "Valid",
    valid_days_label: "Days after claiming",
    valid_until_label: "or: until the end of (Beijing time)",
    validity_hint: "one of the two",
    total: "Total coupons",
    per_member: "Per member",
    allow_group_buy: "Also on group-buy orders",
    save: "Create coupon",
    no_templates: "No coupons yet: create one below",
    value: "Discount",
    threshold: "Minimum",
    claimed_of: "Claimed / total",
    used: "Used",
    status: "Status",
    pause: "Pause",
    resume: "Resume",
    end: "End",
    fix_field: "Please fix",
    share_title: "Share coupon",
    share_hint: "Distributors' share links offer this coupon to the friends who arrive through them; the sharer earns on what the friend pays after it.",
    share_none: "No share coupon",
    share_save: "Save share coupon",
    issue_title: "Issue to members",
    issue_hint: "One coupon to every member of a tier (all or none: a member at the limit or too few left refuses the whole issue).",
    issue_tier: "Member tier",
    issue: "Issue",
    new_member: "New customers only",
    new_member_title: "Welcome coupon",
    new_member_hint: "Only members who have never ordered here may claim it (cancelled orders do not count); it shows in the coupon centre as usual.",
    new_member_none: "No welcome coupon",
    new_member_save: "Save welcome coupon",
};

impl Strings {
    /// The coupon pages' strings of this language.
    pub fn promo(&self) -> &'static Promotions {
        if std::ptr::eq(self, &ZH) {
            &PROMO_ZH
        } else {
            &PROMO_EN
        }
    }

    /// What a coupon takes off, in words: 减 ¥20.00, 8 折（最多减 ¥30.00）.
    pub fn coupon_value(
        &self,
        kind: &str,
        off_fen: Option<i64>,
        percent_off: Option<i64>,
        cap_fen: Option<i64>,
    ) -> String {
        let zh = std::ptr::eq(self, &ZH);
        match (kind, off_fen, percent_off) {
            ("fixed", Some(off), _) if zh => format!("减 {}", yuan(off)),
            ("fixed", Some(off), _) => format!("{} off", yuan(off)),
            ("percent", _, Some(p)) => {
                let base = if zh {
                    // 20 % off is 8 折, 15 % off is 8.5 折.
                    let left = 100 - p;
                    if left % 10 == 0 {
                        format!("{} 折", left / 10)
                    } else {
                        format!("{}.{} 折", left / 10, left % 10)
                    }
                } else {
                    format!("{p}% off")
                };
                match cap_fen {
                    Some(cap) if zh => format!("{base}（最多减 {}）", yuan(cap)),
                    Some(cap) => format!("{base}, at most {}", yuan(cap)),
                    None => base,
                }
            }
            _ => String::new(),
        }
    }

    /// A coupon's minimum spend in words: 满 ¥199.00 可用, or 无门槛.
    pub fn coupon_threshold(&self, min_spend_fen: i64) -> String {
        match (min_spend_fen, std::ptr::eq(self, &ZH)) {
            (0, _) => self.promo().no_minimum.to_owned(),
            (m, true) => format!("满 {} 可用", yuan(m)),
            (m, false) => format!("Spend {} or more", yuan(m)),
        }
    }

    /// A coupon's state, in words.
    pub fn coupon_state(&self, s: &str) -> &'static str {
        let (z, e) = match s {
            "available" => ("可使用", "Available"),
            "locked" => ("待付款订单占用中", "In an unpaid order"),
            "used" => ("已使用", "Used"),
            "expired" => ("已过期", "Expired"),
            _ => ("未知", "Unknown"),
        };
        if std::ptr::eq(self, &ZH) { z } else { e }
    }

    /// How the member got a coupon, in words.
    pub fn coupon_source(&self, s: &str) -> &'static str {
        let (z, e) = match s {
            "claim" => ("领券中心领取", "Claimed"),
            "issued" => ("商家发放", "From the shop"),
            "new_member" => ("新人券", "Welcome coupon"),
            "share" => ("好友分享", "From a friend's share"),
            _ => ("其他", "Other"),
        };
        if std::ptr::eq(self, &ZH) { z } else { e }
    }

    /// A coupon template's state, in words.
    pub fn template_status(&self, s: &PromotionStatus) -> &'static str {
        let (z, e) = match *s {
            PromotionStatus::Active => ("发放中", "Active"),
            PromotionStatus::Paused => ("已暂停", "Paused"),
            PromotionStatus::Ended => ("已停止", "Ended"),
        };
        if std::ptr::eq(self, &ZH) { z } else { e }
    }

    /// A coupon refusal (the rule's code) in the page's words.
    pub fn coupon_refusal(&self, code: &str) -> &'static str {
        let (z, e) = match code {
            "coupon_sold_out" => ("这张券已经被领完了", "All of this coupon has been claimed"),
            "coupon_per_member_limit" => (
                "你已领到每人限领的张数",
                "You already hold as many as one member may",
            ),
            "coupon_template_not_active" => {
                ("这张券已暂停或停止发放", "This coupon is paused or ended")
            }
            "coupon_template_expired" => ("这张券已过有效期", "This coupon's validity has ended"),
            "coupon_out_of_scope" => (
                "购物车里没有这张券适用的商品",
                "Nothing in the cart is covered by this coupon",
            ),
            "coupon_minimum_spend" => (
                "未满这张券的使用门槛",
                "The cart is under this coupon's minimum spend",
            ),
            "coupon_not_available" => (
                "这张券已被其他订单占用、已使用或已过期",
                "This coupon is in another order, used or expired",
            ),
            "coupon_other_shop" => ("这张券不是本店的", "This coupon is for another shop"),
            "coupon_not_for_group_buy" => (
                "这张券不能用于拼团订单",
                "This coupon cannot be used on a group buy",
            ),
            "coupon_not_new_member" => (
                "这是新人券，只有还没在本店下过单的会员能领",
                "This coupon is for members who have not ordered here yet",
            ),
            "coupon_share_only" => (
                "这是好友分享专享券，请通过好友的分享链接领取",
                "This coupon is for friends: claim it through a friend's share link",
            ),
            "coupon_own_share" => (
                "不能领取自己分享链接里的券",
                "You cannot claim the coupon of your own link",
            ),
            _ => ("这张优惠券现在不能用", "This coupon cannot be used now"),
        };
        if std::ptr::eq(self, &ZH) { z } else { e }
    }
}

#[cfg(test)]
mod tests {
    use super::super::EN;
    use super::*;

    #[test]
    fn values_read_as_a_shopper_reads_them() {
        assert_eq!(
            ZH.coupon_value("fixed", Some(2000), None, None),
            "减 ¥20.00"
        );
        assert_eq!(ZH.coupon_value("percent", None, Some(20), None), "8 折");
        assert_eq!(
            ZH.coupon_value("percent", None, Some(15), Some(3000)),
            "8.5 折（最多减 ¥30.00）"
        );
        assert_eq!(EN.coupon_value("percent", None, Some(15), None), "15% off");
        assert_eq!(ZH.coupon_threshold(0), "无门槛");
        assert_eq!(ZH.coupon_threshold(19_900), "满 ¥199.00 可用");
        assert_eq!(ZH.coupon_refusal("coupon_sold_out"), "这张券已经被领完了");
    }
}
