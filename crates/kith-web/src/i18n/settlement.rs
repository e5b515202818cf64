//! The strings of the console's 结算 page (a shop's settlement with the platform) and of
//! the platform admin's settling-up form. Read in templates as `c.t.settle().<name>`.

use super::{Strings, ZH};

pub struct Settle {
    pub title: &'static str,
    pub intro: &'static str,
    pub settled: &'static str,
    pub platform_owes: &'static str,
    pub shop_owes: &'static str,
    pub even: &'static str,
    pub pending: &'static str,
    pub pending_note: &'static str,
    pub direct: &'static str,
    pub direct_note: &'static str,
    pub in_window: &'static str,
    pub no_direct: &'static str,
    pub lines: &'static str,
    pub none_yet: &'static str,
    pub at: &'static str,
    pub kind: &'static str,
    pub account: &'static str,
    pub amount: &'static str,
    pub memo: &'static str,
    pub order: &'static str,
    pub more: &'static str,
    pub own_account: &'static str,
    pub balance_account: &'static str,
    // The platform admin's form.
    pub admin_title: &'static str,
    pub admin_intro: &'static str,
    pub shop: &'static str,
    pub direction: &'static str,
    pub platform_paid: &'static str,
    pub merchant_paid: &'static str,
    pub amount_yuan: &'static str,
    pub reference: &'static str,
    pub record: &'static str,
    pub confirm: &'static str,
    pub bad_amount: &'static str,
    pub more_than_owed: &'static str,
    pub bad_reference: &'static str,
    pub reference_recorded: &'static str,
    pub no_shop: &'static str,
    pub no_direction: &'static str,
}

static SETTLE_ZH: Settle = Settle {
    title: "资金结算",
    intro: "顾客通过本店自己的微信支付商户号或支付宝应用付款时，钱直接进入本店账户；平台从自己的资金里给分销员发放佣金，这部分由本店结给平台。顾客用钱包付款时，钱在平台，售后期结束后由平台结给本店。下面是双方轧差后的结果。",
    settled: "结算余额",
    platform_owes: "平台应付本店",
    shop_owes: "本店应付平台",
    even: "双方两清",
    pending: "售后期内（尚未结算）",
    pending_note: "仍可能退款，售后期结束后计入结算余额。",
    direct: "直接收款（本店自有账户）",
    direct_note: "已扣除从本店账户退回给顾客的金额。",
    in_window: "其中售后期内",
    no_direct: "还没有直接收款。",
    lines: "结算流水",
    none_yet: "还没有结算流水。",
    at: "时间",
    kind: "类型",
    account: "账户",
    amount: "金额",
    memo: "说明",
    order: "订单",
    more: "更早的流水",
    own_account: "本店自有账户（收 + ／退 −）",
    balance_account: "平台结算账户",
    admin_title: "商户结算",
    admin_intro: "在平台之外完成一笔结算（银行转账）后，在这里登记；金额不能超过该方向上应付的结算余额，同一转账单号只登记一次。",
    shop: "商户",
    direction: "方向",
    platform_paid: "平台已付给商户",
    merchant_paid: "商户已付给平台",
    amount_yuan: "金额（元）",
    reference: "转账单号",
    record: "登记结算",
    confirm: "确认登记这笔结算？登记后不能修改，只能登记一笔反向结算冲正。",
    bad_amount: "请填写大于 0 的金额，最多两位小数",
    more_than_owed: "超过了该方向上应付的结算余额",
    bad_reference: "请填写转账单号（1–64 个字符，不含空格）",
    reference_recorded: "这个转账单号已经登记过了",
    no_shop: "请选择商户",
    no_direction: "请选择谁付给了谁",
};

static SETTLE_EN: Settle = Settle {
    title: "Settlement",
    intro: "When customers pay through this shop's own WeChat Pay merchant account or Alipay app, the money goes straight to the shop; the platform pays distributors' commission out of its own funds, and the shop settles that with the platform. Wallet payments are held by the platform and settled to the shop after the after-sale window. Below is the net of both.",
    settled: "Settled balance",
    platform_owes: "The platform owes the shop",
    shop_owes: "The shop owes the platform",
    even: "Even",
    pending: "Inside the after-sale window (not settled yet)",
    pending_note: "Can still be refunded; joins the settled balance when the window closes.",
    direct: "Paid directly (the shop's own accounts)",
    direct_note: "Net of what the shop's accounts refunded to customers.",
    in_window: "of which inside the window",
    no_direct: "No direct payments yet.",
    lines: "Settlement statement",
    none_yet: "No settlement movements yet.",
    at: "Time",
    kind: "Kind",
    account: "Account",
    amount: "Amount",
    memo: "Note",
    order: "Order",
    more: "Earlier lines",
    own_account: "own account (in + / refunded −)",
    balance_account: "platform balance",
    admin_title: "Merchant settlement",
    admin_intro: "Record a settlement made outside the platform (a bank transfer); it cannot exceed what is owed that way, and a transfer reference is recorded once.",
    shop: "Merchant",
    direction: "Direction",
    platform_paid: "The platform paid the merchant",
    merchant_paid: "The merchant paid the platform",
    amount_yuan: "Amount (¥)",
    reference: "Transfer reference",
    record: "Record settlement",
    confirm: "Record this settlement? It cannot be changed, only offset by one in the other direction.",
    bad_amount: "enter an amount above 0 with at most two decimals",
    more_than_owed: "more than is owed that way",
    bad_reference: "enter the transfer reference (1–64 characters, no spaces)",
    reference_recorded: "this transfer reference is already recorded",
    no_shop: "choose a merchant",
    no_direction: "choose who paid whom",
};

impl Strings {
    /// The settlement pages' strings of this language.
    pub fn settle(&self) -> &'static Settle {
        if std::ptr::eq(self, &ZH) {
            &SETTLE_ZH
        } else {
            &SETTLE_EN
        }
    }

    /// What moved a settlement account, in words.
    pub fn settle_kind(&self, kind: &str) -> &'static str {
        let (z, e) = match kind {
            "payment" => ("顾客付款", "Customer payment"),
            "settlement" => ("订单结算", "Order settled"),
            "refund" => ("退款", "Refund"),
            "commission" => ("佣金", "Commission"),
            "commission_reversal" => ("佣金冲回", "Commission reversed"),
            "settled_up" => ("线下结算", "Settled outside"),
            "adjustment" => ("调整", "Adjustment"),
            _ => ("其他", "Other"),
        };
        if std::ptr::eq(self, &ZH) { z } else { e }
    }
}
