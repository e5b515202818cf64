//! WeChat Pay's daily trade bill (交易账单, API v3) and the platform's fund-flow bill
//! (资金账单, for its payouts), for reconciliation.
//!
//! Applying for it is a signed `GET /v3/bill/tradebill?bill_date=YYYY-MM-DD&bill_type=ALL`
//! whose signed answer names `download_url`, `hash_type` (`SHA1`) and `hash_value`. The
//! file itself is fetched with a signed request too, but its answer carries no signature:
//! it is trusted only when its SHA-1 equals the hash in the signed application. A day
//! without any trade has no bill (`400 NO_STATEMENT_EXIST`, read as an empty bill); a
//! bill not made yet (before about 10:00 the next day) is `400 STATEMENT_CREATING`.
//!
//! The file is text: a header row of column names, one row per payment or refund with
//! every field prefixed by a backtick (`` `2026-12-01 10:00:00,`wx…,`1900000101,… ``), then
//! a summary header (`总交易单数,…`) and its row. Columns are found by name, so a bill with
//! columns added or moved still reads.

use sha1::{Digest, Sha1};

use super::protocol;
use crate::platform::ids::new_id;
use crate::rails::credentials::WechatPayKeys;
use crate::{App, AppError, AppResult};

/// Largest bill kith reads (a day of a busy shop is a few MB).
const MAX_BILL_BYTES: usize = 64 * 1024 * 1024;

impl App {
    /// The owner's trade bill of a Beijing day (`YYYY-MM-DD`) from WeChat Pay, read into
    /// lines; empty for a day without trades. `Unavailable` while WeChat Pay is still
    /// making it, or when the file is not the one the signed answer named.
    pub(crate) async fn wechat_trade_bill(
        &self,
        keys: &WechatPayKeys,
        date: &str,
    ) -> AppResult<Vec<BillLine>> {
        let path = format!("/v3/bill/tradebill?bill_date={date}&bill_type=ALL");
        match self.wechat_bill_text(keys, &path, date).await? {
            None => Ok(Vec::new()),
            Some(text) => {
                parse(&text).map_err(|e| AppError::Unavailable(format!("WeChat Pay's bill: {e}")))
            }
        }
    }

    /// The platform's fund-flow bill (资金账单) of its basic account for a Beijing day:
    /// its 商家转账 payouts, read into lines; empty for a day without one.
    pub(crate) async fn wechat_payout_bill(
        &self,
        keys: &WechatPayKeys,
        date: &str,
    ) -> AppResult<Vec<FlowLine>> {
        let path = format!("/v3/bill/fundflowbill?bill_date={date}&account_type=BASIC");
        match self.wechat_bill_text(keys, &path, date).await? {
            None => Ok(Vec::new()),
            Some(text) => parse_fund_flow(&text)
                .map_err(|e| AppError::Unavailable(format!("WeChat Pay's fund-flow bill: {e}"))),
        }
    }

    /// Applies for a bill (`path`, signed) and downloads it, trusted only when its SHA-1 is
    /// the signed answer's: its text, or `None` for a day without one.
    async fn wechat_bill_text(
        &self,
        keys: &WechatPayKeys,
        path: &str,
        date: &str,
    ) -> AppResult<Option<String>> {
        let (status, answer) = self.wechat_call(keys, "GET", path, None).await?;
        let code = answer.get("code").and_then(|c| c.as_str()).unwrap_or("");
        if status == 400 && code == "NO_STATEMENT_EXIST" {
            return Ok(None);
        }
        if status != 200 {
            return Err(AppError::Unavailable(format!(
                "WeChat Pay has no bill for {date} yet ({status} {code})"
            )));
        }
        let field = |n: &str| {
            answer
                .get(n)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .ok_or_else(|| {
                    AppError::Unavailable(format!("WeChat Pay's bill answer has no {n}"))
                })
        };
        let (url, hash_type, hash_value) = (
            field("download_url")?,
            field("hash_type")?,
            field("hash_value")?,
        );
        // The file is fetched with the owner's signature: never from anywhere but WeChat
        // Pay's own API host.
        let base = self.config.wechatpay_base_url.trim_end_matches('/');
        let path_and_query = url
            .strip_prefix(base)
            .filter(|p| p.starts_with('/'))
            .ok_or_else(|| {
                AppError::Unavailable(format!("WeChat Pay's download_url is not on {base}"))
            })?;
        let ts = self.now_ms() / 1000;
        let nonce = new_id().replace('-', "").to_ascii_uppercase();
        let auth = protocol::authorization(
            &keys.mch_id,
            &keys.merchant_serial,
            &keys.private_key,
            "GET",
            path_and_query,
            ts,
            &nonce,
            "",
        );
        let res = self
            .wechat_http()
            .get(&url)
            .header("authorization", auth)
            .header("user-agent", "kith")
            .send()
            .await
            .map_err(|e| AppError::Unavailable(format!("WeChat Pay could not be reached: {e}")))?;
        if !res.status().is_success() {
            return Err(AppError::Unavailable(format!(
                "WeChat Pay's bill download answered {}",
                res.status().as_u16()
            )));
        }
        let file = res
            .bytes()
            .await
            .map_err(|e| AppError::Unavailable(format!("WeChat Pay's bill was cut: {e}")))?;
        if file.len() > MAX_BILL_BYTES {
            return Err(AppError::Unavailable(
                "WeChat Pay's bill is too large".into(),
            ));
        }
        if !hash_matches(&file, &hash_type, &hash_value) {
            return Err(AppError::Unavailable(
                "WeChat Pay's bill does not match the hash of its signed answer".into(),
            ));
        }
        let text = std::str::from_utf8(&file)
            .map_err(|_| AppError::Unavailable("WeChat Pay's bill is not UTF-8".into()))?;
        Ok(Some(text.to_owned()))
    }
}

/// One payout (商家转账) as WeChat Pay's fund-flow bill states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowLine {
    /// kith's number for it: the 业务凭证号, which for kith's transfers is the batch and
    /// detail number (both the withdrawal id without dashes).
    pub out_no: String,
    /// WeChat Pay's 资金流水单号.
    pub flow_no: String,
    /// The money out, in fen (positive).
    pub amount_fen: i64,
}

/// Reads a fund-flow bill (资金账单: 记账时间, 微信支付业务单号, 资金流水单号, 业务名称,
/// 业务类型, 收支类型, 收支金额（元）, 账户结余（元）, 资金变更提交申请人, 备注, 业务凭证号;
/// columns by name, fields backtick-prefixed like the trade bill's). A payout is a row of
/// 收支类型 支出 whose 业务名称 or 业务类型 names a transfer (商家转账 / 企业付款 / 转账);
/// other rows (payments in, refunds out, fees) are not payouts and are skipped.
pub fn parse_fund_flow(text: &str) -> Result<Vec<FlowLine>, String> {
    let Some(t) = table(text)? else {
        return Ok(Vec::new());
    };
    let col = |wanted: &[&str]| t.col(wanted);
    let (flow_no, biz_name, biz_type, direction) = (
        col(&["资金流水单号"])?,
        col(&["业务名称"])?,
        col(&["业务类型"])?,
        col(&["收支类型"])?,
    );
    let (amount, voucher) = (
        col(&["收支金额(元)", "收支金额（元）"])?,
        col(&["业务凭证号"])?,
    );
    let mut out = Vec::new();
    for (n, f) in t.rows()? {
        let transfer = [f[biz_name], f[biz_type]]
            .iter()
            .any(|w| w.contains("转账") || w.contains("企业付款"));
        if f[direction] != "支出" || !transfer {
            continue;
        }
        let fen = kith_domain::Fen::parse_yuan(f[amount].trim_start_matches('-'))
            .map(kith_domain::Fen::get)
            .ok_or_else(|| format!("row {}: {:?} is not an amount", n + 1, f[amount]))?;
        out.push(FlowLine {
            out_no: f[voucher].to_owned(),
            flow_no: f[flow_no].to_owned(),
            amount_fen: fen,
        });
    }
    Ok(out)
}

/// What one row of the bill is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillEntry {
    Payment,
    Refund,
}

/// One payment or refund as WeChat Pay's bill states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillLine {
    pub entry: BillEntry,
    /// kith's number for it: 商户订单号 (`out_trade_no`) or 商户退款单号 (`out_refund_no`).
    pub out_no: String,
    /// WeChat Pay's own number: 微信订单号 or 微信退款单号.
    pub provider_no: String,
    /// The order amount (订单金额) or the refund asked for (申请退款金额), in fen.
    pub amount_fen: i64,
}

/// The fields of one data row: the leading backtick dropped and the row cut at each
/// `` ,` `` (a field may itself hold a comma, never a backtick after one).
fn fields(row: &str) -> Vec<&str> {
    row.strip_prefix('`')
        .unwrap_or(row)
        .split(",`")
        .map(str::trim)
        .collect()
}

/// A bill's text as WeChat Pay writes every bill: a header row of column names, then data
/// rows whose fields each start with a backtick, until the summary (its header and row).
struct Table<'a> {
    names: Vec<&'a str>,
    rows: Vec<&'a str>,
}

/// The bill's header and data rows; `None` for an empty file.
fn table(text: &str) -> Result<Option<Table<'_>>, String> {
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let Some(header) = lines.next() else {
        return Ok(None);
    };
    Ok(Some(Table {
        names: header.split(',').map(str::trim).collect(),
        rows: lines.take_while(|l| l.starts_with('`')).collect(),
    }))
}

impl<'a> Table<'a> {
    /// The position of the first of `wanted` (a column's names across bill versions).
    fn col(&self, wanted: &[&str]) -> Result<usize, String> {
        self.names
            .iter()
            .position(|n| wanted.contains(n))
            .ok_or_else(|| format!("the bill has no {} column", wanted[0]))
    }

    /// Each data row's fields with its number (from 0), every row as wide as the header.
    fn rows(&self) -> Result<Vec<(usize, Vec<&'a str>)>, String> {
        self.rows
            .iter()
            .enumerate()
            .map(|(n, row)| {
                let f = fields(row);
                if f.len() < self.names.len() {
                    return Err(format!(
                        "row {} has {} fields, the header {}",
                        n + 1,
                        f.len(),
                        self.names.len()
                    ));
                }
                Ok((n, f))
            })
            .collect()
    }
}

/// Reads a trade bill. Payment rows are those whose 交易状态 is `SUCCESS`; refund rows
/// those whose 交易状态 is `REFUND` and 退款状态 `SUCCESS` (a refund still processing is
/// not money moved). Other rows (a revoked payment) are skipped. A malformed row or a
/// missing column is an error naming it.
pub fn parse(text: &str) -> Result<Vec<BillLine>, String> {
    let Some(t) = table(text)? else {
        return Ok(Vec::new());
    };
    let col = |name: &str| t.col(&[name]);
    let (state, trade_no, out_trade_no) =
        (col("交易状态")?, col("微信订单号")?, col("商户订单号")?);
    let (refund_no, out_refund_no, refund_state) =
        (col("微信退款单号")?, col("商户退款单号")?, col("退款状态")?);
    // 订单金额 / 申请退款金额 are the amounts before vouchers; older bills only have the
    // settled amounts (应结订单金额 / 退款金额).
    let order_amount = col("订单金额").or_else(|_| col("应结订单金额"))?;
    let refund_amount = col("申请退款金额").or_else(|_| col("退款金额"))?;
    let mut out = Vec::new();
    for (n, f) in t.rows()? {
        let amount = |i: usize| {
            kith_domain::Fen::parse_yuan(f[i])
                .map(kith_domain::Fen::get)
                .ok_or_else(|| format!("row {}: {:?} is not an amount", n + 1, f[i]))
        };
        match f[state] {
            "SUCCESS" => out.push(BillLine {
                entry: BillEntry::Payment,
                out_no: f[out_trade_no].to_owned(),
                provider_no: f[trade_no].to_owned(),
                amount_fen: amount(order_amount)?,
            }),
            "REFUND" if f[refund_state] == "SUCCESS" => out.push(BillLine {
                entry: BillEntry::Refund,
                out_no: f[out_refund_no].to_owned(),
                provider_no: f[refund_no].to_owned(),
                amount_fen: amount(refund_amount)?,
            }),
            _ => {}
        }
    }
    Ok(out)
}

/// Whether a downloaded bill is the one the signed application named (`hash_type` SHA1,
/// lower- or upper-case hex).
pub fn hash_matches(file: &[u8], hash_type: &str, hash_value: &str) -> bool {
    hash_type.eq_ignore_ascii_case("SHA1")
        && hex::encode(Sha1::digest(file)).eq_ignore_ascii_case(hash_value.trim())
}

/// The column names of a v3 trade bill of type ALL, in WeChat Pay's order (the tests'
/// local WeChat Pay writes its bills with them).
pub const COLUMNS: &[&str] = &[
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cols: &[(&str, &str)]) -> String {
        COLUMNS
            .iter()
            .map(|c| {
                let v = cols.iter().find(|(n, _)| n == c).map_or("", |(_, v)| *v);
                format!("`{v}")
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    #[test]
    fn reads_payments_and_finished_refunds_by_column_name() {
        let bill = [
            COLUMNS.join(","),
            row(&[
                ("交易状态", "SUCCESS"),
                ("微信订单号", "4200000001"),
                ("商户订单号", "a1"),
                ("订单金额", "12.30"),
                ("应结订单金额", "10.30"),
                ("商品名称", "苹果, 一箱"),
            ]),
            row(&[
                ("交易状态", "REFUND"),
                ("退款状态", "SUCCESS"),
                ("微信退款单号", "5030000001"),
                ("商户退款单号", "r1"),
                ("申请退款金额", "2.5"),
            ]),
            row(&[
                ("交易状态", "REFUND"),
                ("退款状态", "PROCESSING"),
                ("商户退款单号", "r2"),
                ("申请退款金额", "1.00"),
            ]),
            row(&[("交易状态", "REVOKED"), ("商户订单号", "a2"), ("订单金额", "1.00")]),
            "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额".into(),
            "`2,`10.30,`2.50,`0.00,`0.06,`12.30,`2.50".into(),
        ]
        .join("\r\n");
        let lines = parse(&bill).unwrap();
        assert_eq!(
            lines,
            vec![
                BillLine {
                    entry: BillEntry::Payment,
                    out_no: "a1".into(),
                    provider_no: "4200000001".into(),
                    amount_fen: 1230
                },
                BillLine {
                    entry: BillEntry::Refund,
                    out_no: "r1".into(),
                    provider_no: "5030000001".into(),
                    amount_fen: 250
                },
            ]
        );
    }

    #[test]
    fn refuses_what_is_not_a_bill() {
        assert_eq!(parse("").unwrap(), vec![]);
        assert!(parse("a,b,c\n`1,`2,`3").unwrap_err().contains("交易状态"));
        let short = format!("{}\n`SUCCESS,`x", COLUMNS.join(","));
        assert!(parse(&short).unwrap_err().contains("fields"));
        let bad_amount = [
            COLUMNS.join(","),
            row(&[("交易状态", "SUCCESS"), ("订单金额", "1.234")]),
        ]
        .join("\n");
        assert!(parse(&bad_amount).unwrap_err().contains("amount"));
    }

    #[test]
    fn the_hash_must_be_the_signed_one() {
        let file = b"bill";
        let sha1 = hex::encode(Sha1::digest(file));
        assert!(hash_matches(file, "SHA1", &sha1));
        assert!(hash_matches(file, "sha1", &sha1.to_uppercase()));
        assert!(!hash_matches(b"bill!", "SHA1", &sha1));
        assert!(!hash_matches(file, "MD5", &sha1));
    }

    #[test]
    fn fund_flow_bills_give_their_transfers_out_only() {
        // Columns moved around (read by name), full-width brackets, a summary at the end.
        let text = "\u{feff}业务凭证号,记账时间,资金流水单号,业务名称,业务类型,收支类型,收支金额（元）,账户结余（元）,备注\r\n\
            `w1,`2026-12-04 10:00:00,`f1,`商家转账,`商家转账,`支出,`50.00,`100.00,`\r\n\
            `w2,`2026-12-04 10:01:00,`f2,`企业付款,`企业付款,`支出,`-12.30,`87.70,`\r\n\
            `r1,`2026-12-04 10:02:00,`f3,`退款,`退款,`支出,`7.00,`80.70,`\r\n\
            `p1,`2026-12-04 10:03:00,`f4,`交易,`交易,`收入,`99.00,`179.70,`\r\n\
            `w3,`2026-12-04 10:04:00,`f5,`商家转账,`商家转账退回,`收入,`5.00,`184.70,`\r\n\
            资金流水总笔数,收入笔数\r\n`5,`2\r\n";
        let lines = parse_fund_flow(text).unwrap();
        let got: Vec<_> = lines
            .iter()
            .map(|l| (l.out_no.as_str(), l.flow_no.as_str(), l.amount_fen))
            .collect();
        assert_eq!(got, vec![("w1", "f1", 5_000), ("w2", "f2", 1_230)]);
        assert!(
            parse_fund_flow("a,b\r\n`1,`2")
                .unwrap_err()
                .contains("资金流水单号")
        );
        let bad = text.replace("`50.00", "`五十");
        assert!(parse_fund_flow(&bad).unwrap_err().contains("not an amount"));
        assert_eq!(parse_fund_flow("").unwrap(), Vec::new());
    }
}
