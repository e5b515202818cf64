//! Alipay's daily trade bill (业务明细, `bill_type` `trade`), for reconciliation.
//!
//! `alipay.data.dataservice.bill.downloadurl.query` (biz_content `bill_type`, `bill_date`
//! `YYYY-MM-DD`) is signed and its answer verified like every Alipay call; it names
//! `bill_download_url` (Alipay's bill host `dwbillcenter.alipay.com`, valid 30 seconds),
//! or refuses with `isp.bill_not_exist` for a day without a bill (read as an empty bill).
//! The URL is fetched only when its host is Alipay's bill host or the configured
//! gateway's own (a local gateway in tests); its file is not signed, so it is trusted as
//! far as the signed answer that named it. The file is a zip of two GBK-encoded CSV files,
//! `…_业务明细.csv` and `…_业务明细(汇总).csv`; only the details are read:
//!
//! ```text
//! #支付宝业务明细查询
//! #账号:[2088…]
//! #-----------------------------------------业务明细列表----------------------------------------
//! 支付宝交易号,商户订单号,业务类型,…,订单金额（元）,商家实收（元）,…,退款批次号/请求号,服务费（元）,…
//! 2026120422001…   ,0190…   ,交易   ,…,23.00,23.00,…, ,-0.14,…
//! #-----------------------------------------业务明细列表结束------------------------------------
//! #交易合计：…
//! ```
//!
//! The platform's payouts are reconciled with its 账务明细 (`bill_type` `signcustomer`, the
//! account's money in and out), fetched the same way: columns 账务流水号, 业务流水号,
//! 商户订单号, …, 收入金额（+元）, 支出金额（-元）, 账户余额（元）, 交易渠道, 业务类型, 备注. A
//! 转账 line with money out is a payout of that amount (Alipay writes it negative) under its
//! 商户订单号, which for kith's transfers is the withdrawal's `out_biz_no`.
//!
//! `#` lines are comments; the first other line names the columns, found by name (full- or
//! half-width brackets alike), so added or moved columns still read. Fields are trimmed
//! (Alipay pads them with blanks and tabs). A 交易 line is a payment of 订单金额（元） under
//! its 商户订单号; a 退款 line a refund of that amount's size (Alipay writes it negative)
//! under its 退款批次号/请求号. Other business types are not payments or refunds and are
//! skipped. An amount that is not yuan with at most two decimals is an error, never 0.

use std::io::Read as _;

use super::protocol;
use crate::rails::credentials::AlipayKeys;
use crate::{App, AppError, AppResult};

/// The method that names a bill's download URL.
pub const METHOD: &str = "alipay.data.dataservice.bill.downloadurl.query";
/// Alipay's bill host (the documented `bill_download_url`).
pub const BILL_HOST: &str = "dwbillcenter.alipay.com";
/// Largest bill kith downloads, and largest file it unpacks from it.
const MAX_BILL_BYTES: usize = 64 * 1024 * 1024;

/// One payment or refund as Alipay's trade bill states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeLine {
    pub refund: bool,
    /// kith's number for it: 商户订单号 (`out_trade_no`) or 退款批次号/请求号
    /// (`out_request_no`).
    pub out_no: String,
    /// 支付宝交易号.
    pub trade_no: String,
    /// 订单金额（元） in fen (a refund's as a positive amount).
    pub amount_fen: i64,
}

/// Whether kith may fetch a bill from `url`: Alipay's bill host, or the configured
/// gateway's host (and port).
pub fn allowed_url(url: &str, gateway: &str) -> bool {
    let (Ok(u), Ok(g)) = (reqwest::Url::parse(url), reqwest::Url::parse(gateway)) else {
        return false;
    };
    if !matches!(u.scheme(), "http" | "https") || !u.username().is_empty() || u.password().is_some()
    {
        return false;
    }
    let host = u.host_str().unwrap_or("");
    host.eq_ignore_ascii_case(BILL_HOST)
        || (host.eq_ignore_ascii_case(g.host_str().unwrap_or("\0"))
            && u.port_or_known_default() == g.port_or_known_default())
}

/// One payout (转账, money out) as Alipay's 账务明细 states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutLine {
    /// 商户订单号: kith's `out_biz_no`.
    pub out_no: String,
    /// 业务流水号 (Alipay's order id for the transfer).
    pub flow_no: String,
    /// 支出金额（-元） in fen, as a positive amount.
    pub amount_fen: i64,
}

impl App {
    /// The owner's trade bill of a Beijing day (`YYYY-MM-DD`) from Alipay, read into lines;
    /// empty for a day without a bill. `Unavailable` when Alipay refuses, its answer does
    /// not verify, the URL is not Alipay's, or the file is not a readable bill.
    pub(crate) async fn alipay_trade_bill(
        &self,
        keys: &AlipayKeys,
        date: &str,
    ) -> AppResult<Vec<TradeLine>> {
        match self.alipay_bill_zip(keys, "trade", date).await? {
            Some(zip) => {
                read_bill(&zip).map_err(|e| AppError::Unavailable(format!("Alipay's bill: {e}")))
            }
            None => Ok(Vec::new()),
        }
    }

    /// The owner's payouts of a Beijing day from Alipay's 账务明细 (`signcustomer`); empty
    /// for a day without a bill. Refused as [`App::alipay_trade_bill`] is.
    pub(crate) async fn alipay_payout_bill(
        &self,
        keys: &AlipayKeys,
        date: &str,
    ) -> AppResult<Vec<PayoutLine>> {
        match self.alipay_bill_zip(keys, "signcustomer", date).await? {
            Some(zip) => read_account_bill(&zip)
                .map_err(|e| AppError::Unavailable(format!("Alipay's account bill: {e}"))),
            None => Ok(Vec::new()),
        }
    }

    /// The zip of one bill, or `None` for a day without one.
    async fn alipay_bill_zip(
        &self,
        keys: &AlipayKeys,
        bill_type: &str,
        date: &str,
    ) -> AppResult<Option<Vec<u8>>> {
        let node = self
            .alipay_call(
                keys,
                METHOD,
                &serde_json::json!({ "bill_type": bill_type, "bill_date": date }),
                None,
            )
            .await?;
        let field = |n: &str| node.get(n).and_then(|v| v.as_str()).unwrap_or("");
        if field("code") != protocol::CODE_OK {
            if field("sub_code").eq_ignore_ascii_case("isp.bill_not_exist") {
                return Ok(None);
            }
            return Err(AppError::Unavailable(format!(
                "Alipay has no bill for {date} ({} {})",
                field("sub_code"),
                field("sub_msg")
            )));
        }
        let url = field("bill_download_url").to_owned();
        if !allowed_url(&url, &self.config.alipay_gateway) {
            return Err(AppError::Unavailable(format!(
                "Alipay's bill_download_url is not on {BILL_HOST}"
            )));
        }
        // No redirects: a hop would leave the hosts checked above.
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let mut res = http
            .get(&url)
            .header("user-agent", "kith")
            .send()
            .await
            .map_err(|e| AppError::Unavailable(format!("Alipay could not be reached: {e}")))?;
        if !res.status().is_success() {
            return Err(AppError::Unavailable(format!(
                "Alipay's bill download answered {}",
                res.status().as_u16()
            )));
        }
        let mut file = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| AppError::Unavailable(format!("Alipay's bill was cut: {e}")))?
        {
            if file.len() + chunk.len() > MAX_BILL_BYTES {
                return Err(AppError::Unavailable("Alipay's bill is too large".into()));
            }
            file.extend_from_slice(&chunk);
        }
        Ok(Some(file))
    }
}

/// The text of the zip's detail file named with `word` (not its 汇总), decoded from GBK.
fn details(zip: &[u8], word: &str) -> Result<String, String> {
    let files = unzip(zip)?;
    let details = files
        .iter()
        .find(|(name, _)| name.contains(word) && !name.contains("汇总"))
        .ok_or_else(|| format!("the zip has no {word} file"))?;
    let (text, _, bad) = encoding_rs::GBK.decode(&details.1);
    if bad {
        return Err(format!("the {word} file is not GBK"));
    }
    Ok(text.into_owned())
}

/// Reads the downloaded trade bill: its 业务明细 file (not the 汇总), GBK, as lines.
pub fn read_bill(zip: &[u8]) -> Result<Vec<TradeLine>, String> {
    parse(&details(zip, "业务明细")?)
}

/// Reads the downloaded 账务明细 bill: its payouts.
pub fn read_account_bill(zip: &[u8]) -> Result<Vec<PayoutLine>, String> {
    parse_account_log(&details(zip, "账务明细")?)
}

/// The files of a zip (the `zip` crate reads it: stored or deflated, each file checked
/// against its CRC-32 as it is read), names read as UTF-8 when they are and as GBK
/// otherwise (Alipay's names are GBK), at most [`MAX_BILL_BYTES`] unpacked in all.
pub fn unzip(b: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(b))
        .map_err(|e| format!("not a zip file: {e}"))?;
    let mut out = Vec::with_capacity(archive.len());
    let mut total = 0usize;
    for i in 0..archive.len() {
        let mut file = archive
            .by_index(i)
            .map_err(|e| format!("the zip's file {i} cannot be read: {e}"))?;
        // GBK bytes of Chinese text are not valid UTF-8, so a name that reads as UTF-8 is
        // UTF-8 (flagged or plain ASCII), and anything else is Alipay's GBK.
        let raw = file.name_raw();
        let name = match std::str::from_utf8(raw) {
            Ok(utf8) => utf8.to_owned(),
            Err(_) => encoding_rs::GBK.decode(raw).0.into_owned(),
        };
        let size = usize::try_from(file.size()).unwrap_or(usize::MAX);
        total = total.saturating_add(size);
        if total > MAX_BILL_BYTES {
            return Err("the zip unpacks too large".into());
        }
        let mut body = Vec::with_capacity(size);
        (&mut file)
            .take(size as u64 + 1)
            .read_to_end(&mut body)
            .map_err(|e| format!("{name} does not match its checksum or does not inflate: {e}"))?;
        if body.len() != size {
            return Err(format!("{name} does not match its size"));
        }
        out.push((name, body));
    }
    Ok(out)
}

/// The fields of one CSV row: split at commas, a field in double quotes may hold commas
/// (`""` is a quote), each trimmed of blanks and tabs.
fn fields(row: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = row.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' if quoted || cur.trim().is_empty() => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().map(|f| f.trim().to_owned()).collect()
}

/// A column name with full-width brackets as half-width ones.
fn column_name(s: &str) -> String {
    s.trim().replace('（', "(").replace('）', ")")
}

/// The data rows of a bill's text (comments and blank lines left out): the header's names
/// and each row's fields, checked to be as many as the header's.
type Table = (Vec<String>, Vec<Vec<String>>);

fn table(text: &str) -> Result<Option<Table>, String> {
    let text = text.trim_start_matches('\u{feff}');
    let mut rows = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let Some(header) = rows.next() else {
        return Ok(None);
    };
    let names: Vec<String> = fields(header).iter().map(|n| column_name(n)).collect();
    let mut out = Vec::new();
    for (n, row) in rows.enumerate() {
        let f = fields(row);
        if f.len() < names.len() {
            return Err(format!(
                "row {} has {} fields, the header {}",
                n + 1,
                f.len(),
                names.len()
            ));
        }
        out.push(f);
    }
    Ok(Some((names, out)))
}

fn column(names: &[String], name: &str) -> Result<usize, String> {
    names
        .iter()
        .position(|n| *n == column_name(name))
        .ok_or_else(|| format!("the bill has no {name} column"))
}

/// A money-out amount: yuan with at most two decimals, written negative or not; `0`
/// for an empty field.
fn out_amount(written: &str) -> Option<i64> {
    if written.is_empty() {
        return Some(0);
    }
    protocol::parse_yuan(written.strip_prefix('-').unwrap_or(written))
}

/// Reads the 账务明细 text (already decoded): its 转账 lines with money out.
pub fn parse_account_log(text: &str) -> Result<Vec<PayoutLine>, String> {
    let Some((names, rows)) = table(text)? else {
        return Ok(Vec::new());
    };
    let (flow_no, out_no) = (column(&names, "业务流水号")?, column(&names, "商户订单号")?);
    let (paid_out, kind) = (
        column(&names, "支出金额（-元）")?,
        column(&names, "业务类型")?,
    );
    let mut out = Vec::new();
    for (n, f) in rows.iter().enumerate() {
        let amount_fen = out_amount(&f[paid_out])
            .ok_or_else(|| format!("row {}: {:?} is not an amount", n + 1, f[paid_out]))?;
        if f[kind] != "转账" || amount_fen == 0 {
            continue;
        }
        if f[out_no].is_empty() {
            return Err(format!("row {} names no merchant number", n + 1));
        }
        out.push(PayoutLine {
            out_no: f[out_no].clone(),
            flow_no: f[flow_no].clone(),
            amount_fen,
        });
    }
    Ok(out)
}

/// Reads the 业务明细 text (already decoded).
pub fn parse(text: &str) -> Result<Vec<TradeLine>, String> {
    let Some((names, rows)) = table(text)? else {
        return Ok(Vec::new());
    };
    let col = |name: &str| column(&names, name);
    let (trade_no, out_trade_no, kind) =
        (col("支付宝交易号")?, col("商户订单号")?, col("业务类型")?);
    let (amount, request_no) = (col("订单金额（元）")?, col("退款批次号/请求号")?);
    let mut out = Vec::new();
    for (n, f) in rows.iter().enumerate() {
        let refund = match f[kind].as_str() {
            "交易" => false,
            "退款" => true,
            _ => continue,
        };
        let written = f[amount].as_str();
        let magnitude = if refund {
            written.strip_prefix('-').unwrap_or(written)
        } else {
            written
        };
        let amount_fen = protocol::parse_yuan(magnitude)
            .ok_or_else(|| format!("row {}: {written:?} is not an amount", n + 1))?;
        let out_no = if refund {
            &f[request_no]
        } else {
            &f[out_trade_no]
        };
        if out_no.is_empty() {
            return Err(format!("row {} names no merchant number", n + 1));
        }
        out.push(TradeLine {
            refund,
            out_no: out_no.clone(),
            trade_no: f[trade_no].clone(),
            amount_fen,
        });
    }
    Ok(out)
}

/// The columns of a trade bill's 业务明细, in Alipay's order (the tests' local Alipay
/// writes its bills with them).
pub const COLUMNS: &[&str] = &[
    "支付宝交易号",
    "商户订单号",
    "业务类型",
    "商品名称",
    "创建时间",
    "完成时间",
    "门店编号",
    "门店名称",
    "操作员",
    "终端号",
    "对方账户",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝红包（元）",
    "集分宝（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "券核销金额（元）",
    "券名称",
    "商家红包消费金额（元）",
    "卡消费金额（元）",
    "退款批次号/请求号",
    "服务费（元）",
    "分润（元）",
    "备注",
];

/// The columns of a 账务明细 (`signcustomer`) bill, in Alipay's order.
pub const ACCOUNT_COLUMNS: &[&str] = &[
    "账务流水号",
    "业务流水号",
    "商户订单号",
    "商品名称",
    "发生时间",
    "对方账号",
    "收入金额（+元）",
    "支出金额（-元）",
    "账户余额（元）",
    "交易渠道",
    "业务类型",
    "备注",
];

/// Writes a zip of stored (method 0) or deflated (method 8) files, names flagged UTF-8
/// or left as the bytes given: the tests' local Alipay packs its bills with it, GBK names
/// and all (the `zip` crate writes UTF-8 names only). kith itself only reads zips, with
/// the `zip` crate ([`unzip`]).
pub fn zip(files: &[(&[u8], &[u8], bool)]) -> Vec<u8> {
    use std::io::Write as _;
    let (mut out, mut dir) = (Vec::new(), Vec::new());
    for (name, body, deflate) in files {
        let mut sum = flate2::Crc::new();
        sum.update(body);
        let packed = if *deflate {
            let mut e =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            let _ = e.write_all(body);
            e.finish().unwrap_or_default()
        } else {
            body.to_vec()
        };
        let method: u16 = if *deflate { 8 } else { 0 };
        let utf8 = std::str::from_utf8(name).is_ok_and(|s| !s.is_ascii());
        let flags: u16 = if utf8 { 0x800 } else { 0 };
        let offset = out.len() as u32;
        let common = |v: &mut Vec<u8>| {
            v.extend_from_slice(&20u16.to_le_bytes());
            v.extend_from_slice(&flags.to_le_bytes());
            v.extend_from_slice(&method.to_le_bytes());
            v.extend_from_slice(&[0, 0, 0x21, 0]);
            v.extend_from_slice(&sum.sum().to_le_bytes());
            v.extend_from_slice(&(packed.len() as u32).to_le_bytes());
            v.extend_from_slice(&(body.len() as u32).to_le_bytes());
            v.extend_from_slice(&(name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes());
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(name);
        out.extend_from_slice(&packed);
        dir.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        dir.extend_from_slice(&20u16.to_le_bytes());
        common(&mut dir);
        dir.extend_from_slice(&[0; 6]);
        dir.extend_from_slice(&0u32.to_le_bytes());
        dir.extend_from_slice(&offset.to_le_bytes());
        dir.extend_from_slice(name);
    }
    let at = out.len() as u32;
    out.extend_from_slice(&dir);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(dir.len() as u32).to_le_bytes());
    out.extend_from_slice(&at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(s: &str) -> Vec<u8> {
        encoding_rs::GBK.encode(s).0.into_owned()
    }

    fn row(cols: &[&str], values: &[(&str, &str)]) -> String {
        cols.iter()
            .map(|c| {
                let v = values.iter().find(|(n, _)| n == c).map_or("", |(_, v)| *v);
                format!("{v}\t ")
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    fn bill(cols: &[&str]) -> String {
        [
            "#支付宝业务明细查询".to_owned(),
            "#账号:[20880000000001560156]".into(),
            "#起始日期:[2026年12月01日 00:00:00]   终止日期:[2026年12月02日 00:00:00]".into(),
            "#-----------------------------------------业务明细列表----------------------------------------".into(),
            cols.join(","),
            row(cols, &[("支付宝交易号", "2026120122001"), ("商户订单号", "a1"), ("业务类型", "交易"),
                ("商品名称", "\"苹果, 一箱\""), ("订单金额（元）", "12.30"), ("商家实收（元）", "12.30")]),
            row(cols, &[("支付宝交易号", "2026120122001"), ("商户订单号", "a1"), ("业务类型", "退款"),
                ("订单金额（元）", "-2.50"), ("退款批次号/请求号", "r1")]),
            row(cols, &[("支付宝交易号", "2026120122002"), ("商户订单号", "a2"), ("业务类型", "冻结"),
                ("订单金额（元）", "1.00")]),
            "#-----------------------------------------业务明细列表结束------------------------------------".into(),
            "#交易合计：1笔，商家实收共12.30元，".into(),
            "#退款合计：1笔，商家实收共-2.50元，".into(),
            "#导出时间：[2026年12月02日 10:00:00]".into(),
        ]
        .join("\r\n")
    }

    fn want() -> Vec<TradeLine> {
        vec![
            TradeLine {
                refund: false,
                out_no: "a1".into(),
                trade_no: "2026120122001".into(),
                amount_fen: 1230,
            },
            TradeLine {
                refund: true,
                out_no: "r1".into(),
                trade_no: "2026120122001".into(),
                amount_fen: 250,
            },
        ]
    }

    #[test]
    fn reads_the_details_of_a_gbk_zip_skipping_comments() {
        let details = gbk(&bill(COLUMNS));
        let summary = gbk("#支付宝业务汇总查询\r\n门店编号,门店名称,交易订单总笔数\r\n");
        // Alipay's names are GBK without the UTF-8 flag; one deflated, one stored.
        let z = zip(&[
            (
                &gbk("20880000000001560156_20261201_业务明细(汇总).csv"),
                &summary,
                true,
            ),
            (
                &gbk("20880000000001560156_20261201_业务明细.csv"),
                &details,
                true,
            ),
        ]);
        assert_eq!(read_bill(&z).unwrap(), want());
        let stored = zip(&[("x_业务明细.csv".as_bytes(), &details, false)]);
        assert_eq!(read_bill(&stored).unwrap(), want());
        // UTF-8 text read as GBK is refused or garbled, never silently 0.
        let utf8 = zip(&[("x_业务明细.csv".as_bytes(), bill(COLUMNS).as_bytes(), true)]);
        assert!(read_bill(&utf8).is_err());
    }

    #[test]
    fn columns_are_found_by_name_in_any_order() {
        let mut cols = COLUMNS.to_vec();
        cols.reverse();
        cols.swap(0, 7);
        assert_eq!(parse(&bill(&cols)).unwrap(), want());
        // Half-width brackets read the same.
        let half: Vec<String> = COLUMNS.iter().map(|c| column_name(c)).collect();
        let half: Vec<&str> = half.iter().map(String::as_str).collect();
        let text = bill(COLUMNS).replacen(&COLUMNS.join(","), &half.join(","), 1);
        assert_eq!(parse(&text).unwrap(), want());
    }

    #[test]
    fn refuses_what_is_not_a_bill() {
        assert_eq!(parse("#只有注释\r\n").unwrap(), vec![]);
        assert!(parse("a,b\n1,2").unwrap_err().contains("支付宝交易号"));
        for bad in ["12.345", "", "1e3", "-5.00", "12.", "一元"] {
            let text = bill(COLUMNS).replace("12.30", bad);
            assert!(
                parse(&text).unwrap_err().contains("not an amount"),
                "{bad:?}"
            );
        }
        let short = format!("{}\n2026,a1,交易", COLUMNS.join(","));
        assert!(parse(&short).unwrap_err().contains("fields"));
        assert!(unzip(b"PK not really").is_err());
        let z = zip(&[("x_业务明细.csv".as_bytes(), b"abc".as_slice(), false)]);
        let mut broken = z.clone();
        broken[30 + "x_业务明细.csv".len()] = b'X';
        assert!(unzip(&broken).unwrap_err().contains("checksum"));
        let only_summary = zip(&[("x_业务明细(汇总).csv".as_bytes(), b"".as_slice(), false)]);
        assert!(read_bill(&only_summary).unwrap_err().contains("业务明细"));
    }

    #[test]
    fn reads_the_transfers_of_an_account_bill() {
        let mut cols = ACCOUNT_COLUMNS.to_vec();
        cols.swap(2, 9);
        let text = [
            "#支付宝账务明细查询".to_owned(),
            "#账号:[20880000000009990156]".into(),
            cols.join(","),
            row(&cols, &[("账务流水号", "1001"), ("业务流水号", "2026120411007"), ("商户订单号", "w1"),
                ("支出金额（-元）", "-10.00"), ("收入金额（+元）", "0.00"), ("业务类型", "转账")]),
            // Money in, a fee, and a trade: not payouts.
            row(&cols, &[("账务流水号", "1002"), ("商户订单号", "a1"), ("收入金额（+元）", "23.00"),
                ("支出金额（-元）", "0.00"), ("业务类型", "在线支付")]),
            row(&cols, &[("账务流水号", "1003"), ("商户订单号", "w1"), ("支出金额（-元）", "-0.10"),
                ("业务类型", "收费")]),
            "#-----------------------------------------账务明细列表结束------------------------------------".into(),
        ]
        .join("\r\n");
        let z = zip(&[
            (
                &gbk("2088_20261204_账务明细(汇总).csv"),
                &gbk("#汇总\r\n"),
                true,
            ),
            (&gbk("2088_20261204_账务明细.csv"), &gbk(&text), true),
        ]);
        assert_eq!(
            read_account_bill(&z).unwrap(),
            vec![PayoutLine {
                out_no: "w1".into(),
                flow_no: "2026120411007".into(),
                amount_fen: 1000
            }]
        );
        for bad in ["-10.001", "10元", "1e1"] {
            let t = text.replace("-10.00", bad);
            assert!(
                parse_account_log(&t).unwrap_err().contains("not an amount"),
                "{bad:?}"
            );
        }
        // A trade bill is not an account bill.
        assert!(
            read_account_bill(&zip(&[(
                "x_业务明细.csv".as_bytes(),
                b"".as_slice(),
                false
            )]))
            .is_err()
        );
    }

    #[test]
    fn bills_come_only_from_alipay_or_the_gateway() {
        let gw = "https://openapi.alipay.com/gateway.do";
        assert!(allowed_url(
            "http://dwbillcenter.alipay.com/downloadBillFile.resource?bizType=trade&fileId=x",
            gw
        ));
        assert!(allowed_url("https://openapi.alipay.com/x", gw));
        assert!(!allowed_url(
            "https://dwbillcenter.alipay.com.evil.cn/x",
            gw
        ));
        assert!(!allowed_url("https://evil.cn/dwbillcenter.alipay.com", gw));
        assert!(!allowed_url(
            "https://user:pw@dwbillcenter.alipay.com/x",
            gw
        ));
        assert!(!allowed_url("ftp://dwbillcenter.alipay.com/x", gw));
        let local = "http://127.0.0.1:4000/gateway.do";
        assert!(allowed_url("http://127.0.0.1:4000/bill?x=1", local));
        assert!(!allowed_url("http://127.0.0.1:4001/bill", local));
        assert!(!allowed_url("http://127.0.0.2:4000/bill", local));
    }
}
