//! The strings of the console's 支付设置 page (a merchant's WeChat Pay credentials, shown
//! as fingerprints) and the pay step's 微信支付. Read in templates as `c.t.rails().<name>`.

use super::{Strings, ZH};

pub struct Rails {
    pub title: &'static str,
    pub wechat: &'static str,
    pub intro: &'static str,
    pub none_yet: &'static str,
    pub current: &'static str,
    pub replace: &'static str,
    pub mch_id: &'static str,
    pub app_id: &'static str,
    pub api_v3_key: &'static str,
    pub api_v3_key_hint: &'static str,
    pub merchant_serial: &'static str,
    pub private_key: &'static str,
    pub private_key_hint: &'static str,
    pub platform_certs: &'static str,
    pub platform_certs_hint: &'static str,
    pub key_fingerprint: &'static str,
    pub platform_serials: &'static str,
    pub notify_url: &'static str,
    pub notify_url_hint: &'static str,
    pub updated_at: &'static str,
    pub save: &'static str,
    pub secrets_not_kept: &'static str,
    pub no_secret_key: &'static str,
    pub pay_wechat: &'static str,
    pub scan_to_pay: &'static str,
}

static RAILS_ZH: Rails = Rails {
    title: "支付设置",
    wechat: "微信支付",
    intro: "填写微信支付商户平台（API v3）的商户信息后，买家即可用微信支付付款。密钥加密保存，提交后只显示指纹。",
    none_yet: "尚未设置微信支付。",
    current: "当前设置",
    replace: "更换",
    mch_id: "商户号",
    app_id: "AppID",
    api_v3_key: "APIv3 密钥",
    api_v3_key_hint: "32 位，在商户平台「API安全」中设置",
    merchant_serial: "商户 API 证书序列号",
    private_key: "商户 API 私钥",
    private_key_hint: "apiclient_key.pem 的全部内容（-----BEGIN PRIVATE KEY-----）",
    platform_certs: "微信支付平台证书",
    platform_certs_hint: "一个或多个 PEM 证书（-----BEGIN CERTIFICATE-----）",
    key_fingerprint: "私钥指纹",
    platform_serials: "平台证书序列号",
    notify_url: "支付通知地址",
    notify_url_hint: "下单时自动带上，无需在商户平台另行配置",
    updated_at: "更新时间",
    save: "保存",
    secrets_not_kept: "为安全起见，APIv3 密钥和私钥不会回填，请重新粘贴。",
    no_secret_key: "服务器未配置加密密钥（KITH_SECRET_KEY），暂不能保存支付密钥。",
    pay_wechat: "微信支付",
    scan_to_pay: "请用微信扫码或打开以下链接付款：",
};

static RAILS_EN: Rails = Rails {
    title: "Payment settings",
    wechat: "WeChat Pay",
    intro: "Enter your WeChat Pay (API v3) merchant details and buyers can pay with WeChat Pay. Keys are stored encrypted; only fingerprints are shown.",
    none_yet: "WeChat Pay is not set up.",
    current: "Current settings",
    replace: "Replace",
    mch_id: "Merchant ID",
    app_id: "AppID",
    api_v3_key: "APIv3 key",
    api_v3_key_hint: "32 characters, set under API security",
    merchant_serial: "Merchant certificate serial",
    private_key: "Merchant API private key",
    private_key_hint: "the whole apiclient_key.pem (-----BEGIN PRIVATE KEY-----)",
    platform_certs: "WeChat Pay platform certificates",
    platform_certs_hint: "one or more PEM certificates (-----BEGIN CERTIFICATE-----)",
    key_fingerprint: "Key fingerprint",
    platform_serials: "Platform certificate serials",
    notify_url: "Notify URL",
    notify_url_hint: "sent with every order; nothing to configure at WeChat Pay",
    updated_at: "Updated",
    save: "Save",
    secrets_not_kept: "For safety the APIv3 key and private key are not filled back in; paste them again.",
    no_secret_key: "This server has no secret key (KITH_SECRET_KEY), so payment keys cannot be stored.",
    pay_wechat: "WeChat Pay",
    scan_to_pay: "Scan with WeChat or open this link to pay:",
};

impl Strings {
    pub fn rails(&self) -> &'static Rails {
        if std::ptr::eq(self, &ZH) {
            &RAILS_ZH
        } else {
            &RAILS_EN
        }
    }
}
