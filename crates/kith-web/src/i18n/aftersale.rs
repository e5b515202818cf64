//! The strings of the after-sale pages (申请售后, the request's progress, the console's queue,
//! the admin's arbitration). Read in templates as `c.t.af("<key>")`, and the codes of the
//! domain (states, kinds, reasons) through `aftersale_state`, `aftersale_kind`,
//! `aftersale_reason`.

use super::{Strings, ZH};

/// Every after-sale page string: (key, zh, en).
const WORDS: &[(&str, &str, &str)] = &[
    ("title", "售后", "After-sales"),
    ("apply", "申请售后", "Request after-sales"),
    ("apply_line", "申请售后", "After-sales"),
    ("my_requests", "我的售后", "My after-sale requests"),
    ("kind", "售后类型", "Kind"),
    ("reason", "原因", "Reason"),
    ("description", "问题描述", "Description"),
    ("quantity", "数量", "Quantity"),
    ("of", "共", "of"),
    ("submit", "提交申请", "Submit request"),
    (
        "fix_field",
        "请修改标出的内容",
        "Please fix the marked field",
    ),
    ("state", "状态", "State"),
    ("timeline", "进度", "Progress"),
    ("deadline", "处理期限", "Deadline"),
    ("return_address", "退货地址", "Return address"),
    ("terms", "售后规则", "After-sale terms"),
    (
        "answer_hours",
        "商家处理时限（小时，1–720）",
        "Hours to answer (1–720)",
    ),
    (
        "ship_days",
        "买家寄回时限（天，1–60）",
        "Days for the buyer to ship back (1–60)",
    ),
    (
        "receive_days",
        "商家确认收货时限（天，1–60）",
        "Days to confirm receipt (1–60)",
    ),
    (
        "return_coupon",
        "整单退款后退回优惠券",
        "Give the coupon back when an order is refunded in full",
    ),
    ("save_terms", "保存售后规则", "Save the terms"),
    (
        "photos_hint",
        "最多 6 张，JPEG、PNG 或 WebP，每张不超过 10 MB。",
        "Up to 6, JPEG, PNG or WebP, 10 MB each.",
    ),
    (
        "too_many_photos",
        "最多上传 6 张照片，请重新选择",
        "At most 6 photos; choose them again",
    ),
    (
        "photo_refused",
        "照片需为 JPEG、PNG 或 WebP，且每张不超过 10 MB，请重新选择",
        "Photos must be JPEG, PNG or WebP of at most 10 MB each; choose them again",
    ),
    (
        "return_delivered",
        "退货已签收，商家确认收货的期限从此时算起：",
        "The return was delivered; the merchant's time to confirm receipt counts from:",
    ),
    ("carrier", "快递公司代码", "Carrier code"),
    ("tracking_no", "快递单号", "Tracking number"),
    ("ship_return", "提交退货单号", "Submit return tracking"),
    ("cancel", "撤销申请", "Withdraw request"),
    ("dispute", "申请平台介入", "Ask the platform to arbitrate"),
    ("dispute_note", "说明", "Your statement"),
    (
        "revise_hint",
        "可修改后重新提交（最多两次）",
        "You may revise and resubmit (at most twice)",
    ),
    ("refuse_reason", "商家拒绝理由", "Merchant's reason"),
    ("refunded", "已退款", "Refunded"),
    ("queue", "售后", "After-sales"),
    ("all_states", "全部", "All"),
    ("filter", "筛选", "Filter"),
    ("none", "暂无售后申请", "No after-sale requests"),
    ("buyer_words", "买家描述", "Buyer's words"),
    ("agree", "同意", "Agree"),
    (
        "agree_confirm",
        "我确认同意：仅退款将立即原路退回",
        "I confirm: a refund-only request is refunded at once",
    ),
    ("refuse", "拒绝", "Refuse"),
    ("refuse_why", "拒绝理由", "Reason for refusing"),
    ("receive", "确认收货并退款", "Confirm receipt and refund"),
    (
        "receive_confirm",
        "我确认收到退货并退款",
        "I confirm receipt and the refund",
    ),
    ("received", "收到", "Received"),
    ("damaged", "其中破损", "Of which damaged"),
    ("location", "入库位置", "Restock location"),
    ("amount", "金额", "Amount"),
    ("photos", "图片", "Photos"),
    ("arbitration", "售后仲裁", "After-sale arbitration"),
    ("no_disputes", "暂无待仲裁的申请", "No disputes waiting"),
    ("decide", "裁决", "Decide"),
    ("outcome_all", "全额退款", "Refund all"),
    ("outcome_part", "部分退款", "Refund part"),
    ("part_units", "退几件", "Units to refund"),
    ("part_yuan", "或只退金额（元）", "Or money only (yuan)"),
    (
        "part_hint",
        "部分退款：按件退（退回商品），或填写金额只退钱（买家保留商品，不退库存）；填了金额就按金额退。",
        "Part: refund units (goods come back), or type an amount to refund money only (the buyer keeps the goods, no stock moves); an amount wins.",
    ),
    ("outcome_nothing", "不退款", "Refund nothing"),
    ("decide_note", "裁决理由", "Reason for the decision"),
    (
        "decide_confirm",
        "我确认裁决为最终结果",
        "I confirm the decision is final",
    ),
    ("decision", "裁决结果", "Decision"),
    (
        "confirm_needed",
        "请勾选确认",
        "Please tick the confirmation",
    ),
];

impl Strings {
    /// An after-sale page string by key; an unknown key shows itself (a test checks none is).
    pub fn af(&self, key: &str) -> &'static str {
        WORDS
            .iter()
            .find(|(k, _, _)| *k == key)
            .map_or(
                "?",
                |(_, zh, en)| if std::ptr::eq(self, &ZH) { zh } else { en },
            )
    }

    /// A request's state in words.
    pub fn aftersale_state(&self, s: &str) -> &'static str {
        let (z, e) = match s {
            "requested" => ("待商家处理", "Waiting for the merchant"),
            "agreed" => ("商家已同意", "Agreed"),
            "refused" => ("商家已拒绝", "Refused"),
            "awaiting_return" => ("待买家退货", "Waiting for the return"),
            "return_shipped" => ("买家已退货", "Return shipped"),
            "returned" => ("商家已收货", "Return received"),
            "refunding" => ("退款中", "Refunding"),
            "refunded" => ("退款成功", "Refunded"),
            "cancelled" => ("已撤销", "Withdrawn"),
            "closed" => ("已关闭", "Closed"),
            "disputed" => ("平台介入中", "Under arbitration"),
            "decided" => ("平台已裁决", "Decided by the platform"),
            _ => ("未知", "Unknown"),
        };
        if std::ptr::eq(self, &ZH) { z } else { e }
    }

    /// 仅退款 / 退货退款.
    pub fn aftersale_kind(&self, k: &str) -> &'static str {
        let (z, e) = match k {
            "refund_only" => ("仅退款", "Refund only"),
            "return_refund" => ("退货退款", "Return and refund"),
            _ => ("未知", "Unknown"),
        };
        if std::ptr::eq(self, &ZH) { z } else { e }
    }

    /// A reason of the fixed list in words.
    pub fn aftersale_reason(&self, r: &str) -> &'static str {
        let (z, e) = match r {
            "not_received" => ("未收到货", "Not received"),
            "damaged" => ("商品破损", "Arrived damaged"),
            "wrong_item" => ("发错货", "Wrong item"),
            "quality" => ("质量问题", "Quality problem"),
            "not_as_described" => ("与描述不符", "Not as described"),
            "missing_parts" => ("少件/缺配件", "Missing parts"),
            "changed_mind" => ("不想要了", "Changed my mind"),
            "other" => ("其他", "Other"),
            _ => ("未知", "Unknown"),
        };
        if std::ptr::eq(self, &ZH) { z } else { e }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{EN, ZH};

    #[test]
    fn every_reason_and_state_has_words_in_both_languages() {
        for r in kith_domain::aftersale::REASONS {
            assert_ne!(ZH.aftersale_reason(r), "未知", "{r}");
            assert_ne!(EN.aftersale_reason(r), "Unknown", "{r}");
        }
        for s in kith_domain::aftersale::State::ALL {
            assert_ne!(ZH.aftersale_state(s.as_str()), "未知");
            assert_ne!(EN.aftersale_state(s.as_str()), "Unknown");
        }
        assert_eq!(ZH.af("apply"), "申请售后");
        assert_eq!(EN.af("apply"), "Request after-sales");
    }
}
