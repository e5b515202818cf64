//! The words of an order's refunds where staff and buyers look at them: the state of each
//! refund (退款中 / 已退款 / 退款失败), the provider the money goes back through, and the
//! console's 重新退款 step. Read in templates as `c.t.refund_word(key)`.

use super::{Strings, ZH};

impl Strings {
    /// A refund's state, its provider, or a word of the refunds table, by key.
    pub fn refund_word(&self, key: &str) -> &'static str {
        let (zh, en) = match key {
            "requested" => ("退款中", "Refunding"),
            "succeeded" => ("已退款", "Refunded"),
            "failed" => ("退款失败", "Refund failed"),
            "wallet" => ("余额", "Wallet"),
            "sandbox" => ("模拟支付（演示）", "Sandbox gateway (demo)"),
            "wechat" => ("微信支付", "WeChat Pay"),
            "alipay" => ("支付宝", "Alipay"),
            "title" => ("退款记录", "Refunds"),
            "amount" => ("金额", "Amount"),
            "via" => ("退回", "Back through"),
            "state" => ("状态", "State"),
            "requested_at" => ("申请时间", "Asked at"),
            "settled_at" => ("完成时间", "Settled at"),
            "reason" => ("原因", "Reason"),
            "money_only" => ("仅退金额", "Money only"),
            "retry" => ("重新退款", "Refund again"),
            "retried" => ("已重新发起", "Asked again"),
            "retry_sure" => (
                "将按原金额、原路径再次发起退款。",
                "The same refund is asked again, back the same way.",
            ),
            "retry_confirm" => ("确认重新退款", "Yes, refund again"),
            _ => ("", ""),
        };
        if std::ptr::eq(self, &ZH) { zh } else { en }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{EN, ZH};

    #[test]
    fn every_state_has_words_in_both_languages() {
        for k in [
            "requested",
            "succeeded",
            "failed",
            "wallet",
            "sandbox",
            "wechat",
            "alipay",
            "retry",
        ] {
            assert!(
                !ZH.refund_word(k).is_empty() && !EN.refund_word(k).is_empty(),
                "{k}"
            );
        }
        assert_eq!(ZH.refund_word("failed"), "退款失败");
    }
}
