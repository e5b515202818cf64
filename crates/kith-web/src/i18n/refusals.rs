//! A refused form's words, in the page's language. The use cases refuse in English (the
//! API's problem documents speak English and name the JSON field); a page says the same
//! refusal beside the field it is about, so its words never repeat the field's name and
//! never show an internal one (`amount_fen`, `address.province`).
//!
//! The reasons have a few shapes (`must be 1–32 characters`, `must be 0–10000`, `must be a
//! whole number`, `is not a SKU id`, …): each shape is said once here, with its numbers kept
//! (fen shown in 元, basis points in %). A reason no shape fits is said generically — never
//! in English on a Chinese page. Read through `c.t.refusal(&error)` or
//! [`Strings::refusal_of`].

use kith_app::AppError;

use super::{Strings, ZH};

/// What a refusal is: bad input (422), a state that does not allow it (409), or something
/// named in the form that does not exist (404).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    Invalid,
    Conflict,
    NotFound,
}

impl RefusalKind {
    /// The kind, field and reason of a refusal, or `None` for an error that is not one.
    pub fn of(e: &AppError) -> Option<(Self, Option<&str>, String)> {
        match e {
            AppError::Invalid { field, reason } => {
                Some((Self::Invalid, Some(field.as_str()), reason.clone()))
            }
            AppError::Conflict { field, reason } => {
                Some((Self::Conflict, field.as_deref(), reason.clone()))
            }
            AppError::NotFound(what) => Some((Self::NotFound, None, (*what).to_owned())),
            _ => None,
        }
    }
}

impl Strings {
    /// A sign-in refused for its login and password (which of the two is not said).
    pub fn sign_in_refused(&self) -> &'static str {
        if std::ptr::eq(self, &ZH) {
            "手机号、邮箱或密码不正确"
        } else {
            "Wrong phone, email or password"
        }
    }

    /// The refusal `e` said for the person who typed it, or `None` when `e` is no refusal.
    pub fn refusal(&self, e: &AppError) -> Option<String> {
        RefusalKind::of(e).map(|(kind, field, reason)| self.refusal_of(kind, field, &reason))
    }

    /// The refusal of `kind` about `field` for the use case's `reason`.
    pub fn refusal_of(&self, kind: RefusalKind, field: Option<&str>, reason: &str) -> String {
        if !std::ptr::eq(self, &ZH) {
            return english(kind, reason);
        }
        let field = field.unwrap_or("");
        match kind {
            RefusalKind::Invalid => zh_invalid(field, reason),
            RefusalKind::Conflict => zh_conflict(field, reason),
            RefusalKind::NotFound => format!("{}不存在，可能已被删除", zh_thing(reason)),
        }
    }
}

/// The English page's words: the use case's reason, as a sentence, without the field's name.
fn english(kind: RefusalKind, reason: &str) -> String {
    let s = match kind {
        RefusalKind::NotFound => format!("{reason} not found"),
        _ => reason.to_owned(),
    };
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => "Please check this field".to_owned(),
    }
}

/// A reason with Chinese characters in it (a page's own words); the use cases' English
/// reasons are not ASCII either when they hold a range (`1–32`, an en dash).
fn written_in_chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// The whole numbers in `s`, in order (`must be 1–32 characters` → 1, 32).
fn numbers(s: &str) -> Vec<i64> {
    s.split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// A bound as the person typed it: fen in 元, basis points in %, anything else as is.
fn bound(field: &str, n: i64) -> String {
    if field.ends_with("_fen") {
        crate::pages::yuan(n)
    } else if field.ends_with("_bp") {
        format!("{}%", crate::pages::bp_percent(n))
    } else {
        n.to_string()
    }
}

fn zh_invalid(field: &str, reason: &str) -> String {
    let r = reason;
    let n = numbers(r);
    let has = |s: &str| r.contains(s);
    // What the field is, where that decides the words more than the reason does.
    let leaf = field.rsplit('.').next().unwrap_or(field);
    // A reason the page itself wrote in Chinese stands as it is.
    if written_in_chinese(r) {
        return r.to_owned();
    }
    if has("mobile number") {
        return "请填写 11 位手机号".into();
    }
    match leaf {
        "phone" | "payee_phone" if !has("characters") => return "请填写 11 位手机号".into(),
        "email" => return "请填写正确的电子邮箱".into(),
        "login" if has("no member") => return "没有用这个手机号或邮箱注册的用户".into(),
        _ => {}
    }
    if has("characters") && has("control") {
        "不能包含换行等控制字符".into()
    } else if has("characters") && n.len() >= 2 {
        format!("请填写 {}–{} 个字", n[0], n[1])
    } else if has("characters") && n.len() == 1 {
        format!("最多 {} 个字", n[0])
    } else if has("amount in yuan") {
        "请填写金额（元），最多两位小数，如 12.50".into()
    } else if has("whole number") {
        "请填写整数".into()
    } else if has("percentage") {
        "请填写百分比，最多两位小数，如 5 或 12.5".into()
    } else if has("RFC 3339") || (has("out of range") && field.ends_with("_at")) {
        "请填写正确的日期和时间".into()
    } else if has("YYYY-MM-DD") || has("must be a date") || has("must be a day") {
        "请填写正确的日期".into()
    } else if has("in the future") {
        "时间须晚于现在".into()
    } else if has("must be after") {
        "结束时间须晚于开始时间".into()
    } else if has("must not be negative") {
        "不能小于 0".into()
    } else if has("more than zero") || has("must be positive") || has("must not be zero") {
        "须大于 0".into()
    } else if has("at least 1 fen") {
        "至少 ¥0.01".into()
    } else if has("over the cap") && n.len() >= 2 {
        format!(
            "各项比例合计 {}，超过了上限 {}",
            bound(field, n[0]),
            bound(field, n[1])
        )
    } else if has("must be") && n.len() >= 2 && !has(" or ") {
        format!(
            "请填写 {} 到 {} 之间的数",
            bound(field, n[0]),
            bound(field, n[1])
        )
    } else if has("too large") || has("overflow") {
        "数值太大".into()
    } else if has("is required") || has("is missing") || has("is empty") || has("must not be empty")
    {
        "此项必填".into()
    } else if has("URL") {
        "请填写完整的网址，以 https:// 开头".into()
    } else if has("must be one of") || has(" or ") {
        "请从给出的选项中选择".into()
    } else if has("commission plan") {
        "请先设置分销佣金方案".into()
    } else if has("at least one line") || has("name at least one") || has("cart is empty") {
        "请至少选择一件商品".into()
    } else if has("code") && n.len() == 1 {
        format!("请填写 {} 位数字验证码", n[0])
    } else if has("is not a") || has("no such") || has("names no") || has("is not an") {
        "所选的内容不存在或已失效，请重新选择".into()
    } else {
        "填写有误，请检查后重试".into()
    }
}

fn zh_conflict(field: &str, reason: &str) -> String {
    let has = |s: &str| reason.contains(s);
    let n = numbers(reason);
    if written_in_chinese(reason) {
        return reason.to_owned();
    }
    // A group-buy seat (kith_domain::group_buy::JoinRefusal and the campaign's states).
    if has("opens when its leader has paid") {
        "团长付款后才能参团".into()
    } else if has("the group is full") {
        "这个团已满员".into()
    } else if has("time has run out") {
        "这个团已超时".into()
    } else if has("group has already succeeded") {
        "这个团已拼成".into()
    } else if has("the group has failed") {
        "这个团未能拼成".into()
    } else if has("you lead this group") {
        "这是你发起的团，分享给好友参团吧".into()
    } else if has("already hold a seat") {
        "你已在这个团中".into()
    } else if has("per member") && n.len() == 1 {
        format!("已达到每人限购 {} 件", n[0])
    } else if has("campaign has ended") {
        "活动已结束".into()
    } else if has("campaign is not running") {
        "活动未在进行中".into()
    } else if has("meanwhile") {
        "内容刚刚有了变化，请刷新后再试".into()
    } else if has("is already registered") {
        match field {
            "email" => "这个邮箱已注册，请直接登录".into(),
            _ => "这个手机号已注册，请直接登录".into(),
        }
    } else if field == "name" && has("already") {
        "这个名称已被使用，请换一个".into()
    } else if field == "code" && has("already has") {
        "这个编码已被使用，请换一个".into()
    } else if field == "rank" {
        "已有等级使用这个级别，请换一个".into()
    } else if has("not enough") || has("out of stock") || has("sold out") || has("claimed") {
        "库存不足".into()
    } else if has("expired") || has("window has closed") {
        "已过期".into()
    } else if has("withdrawn") || has("voided") {
        "已失效".into()
    } else if has("already redeemed") || has("already used") || has("used up") {
        "已被使用".into()
    } else if has("already") {
        "已经办理过了，无需重复操作".into()
    } else if has("ended") || has("not running") || has("not open") {
        "活动已结束或未开始".into()
    } else if has("balance") || has("not enough") {
        "余额不足".into()
    } else if has("credentials") {
        "还没有设置收款账户".into()
    } else if has("commission plan") {
        "请先设置分销佣金方案".into()
    } else if has("leader") && has("first") {
        "请先选择你的团长".into()
    } else if has("at least one SKU") {
        "商品至少需要一个规格才能上架".into()
    } else if has("cannot") || has("not awaiting") || has("while") {
        "当前状态下不能这样做，请刷新后查看".into()
    } else {
        "操作未能完成，请刷新后再试".into()
    }
}

/// What a 404 names, as a person says it (`order` → 订单).
pub fn zh_thing(what: &str) -> &'static str {
    match what {
        "merchant" => "店铺",
        "order" => "订单",
        "product" | "sku" => "商品",
        "post" => "动态",
        "comment" => "评论",
        "community" => "社群",
        "invite" | "invitation" => "邀请",
        "account" | "member" | "manager" | "clerk" | "helper" => "这位用户",
        "group" => "这个团",
        "group-buy campaign" => "拼团活动",
        "flash sale" => "秒杀活动",
        "activity" => "满减活动",
        "coupon" | "coupon template" => "优惠券",
        "store" => "门店",
        "refund" => "退款",
        "after-sale request" => "售后申请",
        "payment" => "支付",
        "withdrawal" => "提现",
        "review" => "评价",
        "address" => "地址",
        "leader" => "团长",
        "batch" => "接龙",
        "tier" => "会员等级",
        "notification" => "通知",
        _ => "内容",
    }
}

#[cfg(test)]
mod tests {
    use super::super::{EN, ZH};
    use super::*;

    fn zh(e: AppError) -> String {
        ZH.refusal(&e).expect("a refusal")
    }

    #[test]
    fn reasons_are_said_in_chinese_with_their_numbers() {
        assert_eq!(
            zh(AppError::invalid(
                "address.province",
                "must be 1–32 characters"
            )),
            "请填写 1–32 个字"
        );
        assert_eq!(
            zh(AppError::invalid(
                "price",
                "must be an amount in yuan, e.g. 12.50"
            )),
            "请填写金额（元），最多两位小数，如 12.50"
        );
        assert_eq!(
            zh(AppError::invalid("rate_bp", "must be 0–10000")),
            "请填写 0% 到 100% 之间的数"
        );
        assert_eq!(
            zh(AppError::invalid("withdraw_min_fen", "must be 0–100000")),
            "请填写 ¥0.00 到 ¥1000.00 之间的数"
        );
        assert_eq!(
            zh(AppError::invalid(
                "levels_bp",
                "the rates sum to 3500 bp, over the cap of 2500 bp"
            )),
            "各项比例合计 35%，超过了上限 25%"
        );
        assert_eq!(zh(AppError::NotFound("order")), "订单不存在，可能已被删除");
        assert_eq!(
            zh(AppError::conflict("phone", "is already registered")),
            "这个手机号已注册，请直接登录"
        );
    }

    #[test]
    fn no_reason_reaches_a_chinese_page_in_english() {
        let ascii_word = |s: &str| {
            s.split(|c: char| !c.is_ascii_alphabetic())
                .any(|w| w.len() > 2 && w != "https")
        };
        for (field, reason) in [
            ("x", "something nobody wrote a shape for"),
            ("sku_id", "is not a SKU id"),
            ("kind", "must be fixed or percent"),
            ("starts_at", "must be an RFC 3339 time"),
            ("url", "is not a valid absolute URL"),
        ] {
            let s = zh(AppError::invalid(field, reason));
            assert!(!ascii_word(&s), "{reason} → {s}");
            let s = zh(AppError::conflict(field, reason));
            assert!(!ascii_word(&s), "{reason} → {s}");
        }
        assert_eq!(
            EN.refusal(&AppError::invalid("name", "must be 1–32 characters"))
                .as_deref(),
            Some("Must be 1–32 characters")
        );
        assert!(ZH.refusal(&AppError::Internal("x".into())).is_none());
    }
}
