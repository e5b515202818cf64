//! The strings of the console's 对账 page (a shop's daily reconciliation with its payment
//! providers). Read in templates as `c.t.recon().<name>`.

use super::{Strings, ZH};

pub struct Recon {
    pub title: &'static str,
    pub intro: &'static str,
    pub none_yet: &'static str,
    pub no_credentials: &'static str,
    pub run_again: &'static str,
    pub date: &'static str,
    pub provider: &'static str,
    pub wechat: &'static str,
    pub alipay: &'static str,
    pub run: &'static str,
    pub bill_date: &'static str,
    pub result: &'static str,
    pub at_provider: &'static str,
    pub in_kith: &'static str,
    pub matched: &'static str,
    pub lines: &'static str,
    pub differences: &'static str,
    pub entry: &'static str,
    pub reference: &'static str,
    pub provider_no: &'static str,
    pub provider_amount: &'static str,
    pub kith_amount: &'static str,
    pub unavailable: &'static str,
    pub platform_title: &'static str,
    pub platform_none: &'static str,
}

static RECON_ZH: Recon = Recon {
    title: "对账",
    intro: "每天上午 10:30 自动下载前一天的微信支付、支付宝交易账单，逐笔核对支付和退款的单号与金额；有差异时在这里列出，并通过 Webhook 通知。",
    none_yet: "还没有对账记录。设置微信支付或支付宝后，第二天上午会自动完成第一次对账。",
    no_credentials: "尚未设置微信支付或支付宝，无法对账。",
    run_again: "重新对账",
    date: "账单日期",
    provider: "支付渠道",
    wechat: "微信支付",
    alipay: "支付宝",
    run: "开始对账",
    bill_date: "日期",
    result: "结果",
    at_provider: "渠道账单",
    in_kith: "本店记录",
    matched: "一致",
    lines: "笔",
    differences: "差异明细",
    entry: "类型",
    reference: "单号",
    provider_no: "渠道单号",
    provider_amount: "渠道金额",
    kith_amount: "本店金额",
    unavailable: "暂时取不到渠道账单",
    platform_title: "平台对账",
    platform_none: "还没有平台对账记录。设置平台的支付宝后，第二天上午会自动核对平台收款与提现打款。",
};

static RECON_EN: Recon = Recon {
    title: "Reconciliation",
    intro: "Every morning at 10:30 the previous day's WeChat Pay and Alipay trade bills are fetched and every payment and refund is matched by number and amount; differences are listed here and sent to your webhooks.",
    none_yet: "No reconciliation yet. Once WeChat Pay or Alipay is set up, the first runs the next morning.",
    no_credentials: "Neither WeChat Pay nor Alipay is set up, so there is nothing to reconcile.",
    run_again: "Reconcile again",
    date: "Bill date",
    provider: "Provider",
    wechat: "WeChat Pay",
    alipay: "Alipay",
    run: "Reconcile",
    bill_date: "Date",
    result: "Result",
    at_provider: "Provider's bill",
    in_kith: "Our records",
    matched: "Matched",
    lines: "lines",
    differences: "Differences",
    entry: "Kind",
    reference: "Number",
    provider_no: "Provider's number",
    provider_amount: "Provider's amount",
    kith_amount: "Our amount",
    unavailable: "The provider's bill is not available",
    platform_title: "Platform reconciliation",
    platform_none: "No platform reconciliation yet. Once the platform's Alipay is set up, its payments and payouts are matched the next morning.",
};

impl Strings {
    pub fn recon(&self) -> &'static Recon {
        if std::ptr::eq(self, &ZH) {
            &RECON_ZH
        } else {
            &RECON_EN
        }
    }

    /// A provider's name.
    pub fn recon_provider(&self, provider: &str) -> &'static str {
        match provider {
            "alipay" => self.recon().alipay,
            _ => self.recon().wechat,
        }
    }

    /// A run's status in words.
    pub fn recon_status(&self, status: &str) -> &'static str {
        let zh = std::ptr::eq(self, &ZH);
        match (status, zh) {
            ("matched", true) => "一致",
            ("mismatched", true) => "有差异",
            ("failed", true) => "未取到账单",
            ("matched", false) => "matched",
            ("mismatched", false) => "differences",
            ("failed", false) => "no bill",
            (_, true) => "未知",
            (_, false) => "unknown",
        }
    }

    /// A difference's kind in words.
    pub fn recon_kind(&self, kind: &str) -> &'static str {
        let zh = std::ptr::eq(self, &ZH);
        match (kind, zh) {
            ("missing_in_kith", true) => "渠道有、本店无",
            ("missing_at_provider", true) => "本店有、渠道无",
            ("amount_differs", true) => "金额不符",
            ("missing_in_kith", false) => "at the provider only",
            ("missing_at_provider", false) => "in our records only",
            ("amount_differs", false) => "amounts differ",
            (_, true) => "未知",
            (_, false) => "unknown",
        }
    }

    /// A line's kind (payment or refund) in words.
    pub fn recon_entry(&self, entry: &str) -> &'static str {
        let zh = std::ptr::eq(self, &ZH);
        match (entry, zh) {
            ("payment", true) => "支付",
            ("refund", true) => "退款",
            ("payout", true) => "提现打款",
            ("payment", false) => "payment",
            ("refund", false) => "refund",
            ("payout", false) => "payout",
            (_, true) => "未知",
            (_, false) => "unknown",
        }
    }
}
