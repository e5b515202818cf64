//! A refused form comes back as the page it was sent from, with the refusal said in the
//! page's language beside its field and what was typed kept — one mechanism for every form
//! whose handler does not draw its own refusal.
//!
//! A handler refuses by failing with an [`AppError`]: `Invalid` (bad input, naming the
//! field), `Conflict` (the state does not allow it, naming the field when one is at
//! fault) or `NotFound`. [`WebError`](crate::WebError) turns that into the error page and
//! leaves a [`Refused`] on the answer; [`inline`] — a middleware on every page route —
//! catches it when the request was a url-encoded form posted from one of this site's pages
//! (the `Referer`, or the `kith_from` field a re-drawn form carries), asks the pages' router
//! for that page again as the same viewer, and rewrites the posted form in it:
//! - every field gets back what was typed (text, textareas, choices and boxes; never a
//!   password, a file or a hidden value),
//! - the field the refusal names (`amount_fen` → the form's `amount`, `address.province` →
//!   `province`) is marked `aria-invalid` and followed by the refusal's words
//!   (`span.error#refusal-msg[role=alert]`, from [`crate::i18n::refusals`]); a refusal naming
//!   no field of the form is said at the top of the form,
//! - the answer keeps the refusal's status (422, 409, 404).
//!
//! When the page cannot be had again (no `Referer`, the page gone, the form not on it) the
//! error page stands, in the frame, with the refusal in Chinese. Forms that draw their own
//! refusal (the address book, the cart, withdrawals, the SMS fields, …) answer with their
//! page themselves and are left alone.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use tower::ServiceExt;

use crate::charts::esc;
use crate::i18n::refusals::RefusalKind;
use crate::{ErrorShown, Web, WebError};

/// The hidden field a re-drawn form carries: the page it was first sent from, so a second
/// refusal of it comes back to the same page.
pub const FROM_FIELD: &str = "kith_from";

/// The id of the refusal's words, which the field's `aria-describedby` names.
const MSG_ID: &str = "refusal-msg";

/// What a handler refused, left on its error answer for [`inline`].
#[derive(Clone, Debug)]
pub(crate) struct Refused {
    pub kind: RefusalKind,
    pub field: Option<String>,
    pub reason: String,
}

/// See the module: a refused form's answer becomes its page, re-drawn with the refusal.
pub(crate) async fn inline(State(web): State<Web>, req: Request, next: Next) -> Response {
    let form = req.method() == Method::POST
        && req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let limit = web.cfg.upload_limit_bytes.max(64 * 1024);
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return WebError::App(kith_app::AppError::invalid("body", "is too large")).into_response();
    };
    let path = parts.uri.path().to_owned();
    let headers = parts.headers.clone();
    let res = next
        .run(Request::from_parts(parts, Body::from(bytes.clone())))
        .await;
    let Some(refused) = res
        .extensions()
        .get::<ErrorShown>()
        .and_then(|s| s.refused.clone())
    else {
        return res;
    };
    let Some(html) = again(&web, &path, &headers, &bytes, &refused).await else {
        return res;
    };
    let mut page = (res.status(), Html(html)).into_response();
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            page.headers_mut().append(name, value.clone());
        }
    }
    page
}

/// The page the refused form was sent from, drawn again for the same viewer with the form
/// rewritten; `None` when that cannot be done.
async fn again(
    web: &Web,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
    refused: &Refused,
) -> Option<String> {
    let typed: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    let from = typed
        .iter()
        .find(|(k, _)| k == FROM_FIELD)
        .map(|(_, v)| v.clone())
        .or_else(|| crate::same_site_referer(headers))?;
    if !from.starts_with('/') || from.starts_with("//") {
        return None;
    }
    let from = without_flash(&from);
    let mut req = Request::builder()
        .method(Method::GET)
        .uri(&from)
        .body(Body::empty())
        .ok()?;
    for name in [header::COOKIE, header::HOST, header::USER_AGENT] {
        for v in headers.get_all(&name) {
            req.headers_mut().append(&name, v.clone());
        }
    }
    let (parts, body) = req.into_parts();
    let lang = crate::request_lang(&parts);
    let res = crate::routes()
        .with_state(web.clone())
        .oneshot(Request::from_parts(parts, body))
        .await
        .ok()?;
    if res.status() != StatusCode::OK {
        return None;
    }
    let bytes = axum::body::to_bytes(res.into_body(), 8 * 1024 * 1024)
        .await
        .ok()?;
    let html = String::from_utf8(bytes.to_vec()).ok()?;
    let words = lang
        .strings()
        .refusal_of(refused.kind, refused.field.as_deref(), &refused.reason);
    rewrite(&html, path, &typed, refused.field.as_deref(), &words, &from)
}

/// `from` without the one-line confirmation of an earlier action (`done=`, `saved=`), which
/// would read as if this refused one had been done.
fn without_flash(from: &str) -> String {
    let Some((path, q)) = from.split_once('?') else {
        return from.to_owned();
    };
    let kept: Vec<(String, String)> = serde_urlencoded::from_str::<Vec<(String, String)>>(q)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k != "done" && k != "saved")
        .collect();
    match serde_urlencoded::to_string(&kept) {
        Ok(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_owned(),
    }
}

/// One tag of a page: where it starts (`<`) and ends (after `>`), its name (lower case),
/// whether it closes, and its attributes as written (values still escaped).
#[derive(Debug)]
struct Tag {
    start: usize,
    end: usize,
    name: String,
    closing: bool,
    attrs: Vec<(String, Option<String>)>,
    self_closing: bool,
}

impl Tag {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }

    fn set(&mut self, name: &str, value: Option<&str>) {
        let v = value.map(esc);
        match self
            .attrs
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            Some(a) => a.1 = v,
            None => self.attrs.push((name.to_owned(), v)),
        }
    }

    fn unset(&mut self, name: &str) {
        self.attrs.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    fn html(&self) -> String {
        let mut s = format!("<{}", self.name);
        for (k, v) in &self.attrs {
            s.push(' ');
            s.push_str(k);
            if let Some(v) = v {
                s.push_str("=\"");
                s.push_str(v);
                s.push('"');
            }
        }
        s.push_str(if self.self_closing { " />" } else { ">" });
        s
    }

    /// The kind of an `<input>` (`text` when unsaid).
    fn input_type(&self) -> String {
        self.attr("type").unwrap_or("text").to_ascii_lowercase()
    }
}

/// The next tag at or after `pos` (comments, doctypes and the insides of scripts and
/// styles passed over).
fn next_tag(html: &str, mut pos: usize) -> Option<Tag> {
    let b = html.as_bytes();
    loop {
        let start = pos + html.get(pos..)?.find('<')?;
        let rest = &html[start..];
        if rest.starts_with("<!--") {
            pos = start + rest.find("-->")? + 3;
            continue;
        }
        let closing = rest.as_bytes().get(1) == Some(&b'/');
        let name_at = start + 1 + usize::from(closing);
        let name_len = html[name_at..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(0);
        if name_len == 0 {
            pos = start + 1;
            continue;
        }
        let name = html[name_at..name_at + name_len].to_ascii_lowercase();
        let mut i = name_at + name_len;
        let mut attrs = Vec::new();
        let mut self_closing = false;
        loop {
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            match b.get(i)? {
                b'>' => {
                    i += 1;
                    break;
                }
                b'/' => {
                    self_closing = true;
                    i += 1;
                    continue;
                }
                _ => {}
            }
            let k_start = i;
            while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/')
            {
                i += 1;
            }
            let key = html[k_start..i].to_owned();
            let mut value = None;
            if b.get(i) == Some(&b'=') {
                i += 1;
                match b.get(i)? {
                    q @ (b'"' | b'\'') => {
                        let end = i + 1 + html[i + 1..].find(*q as char)?;
                        value = Some(html[i + 1..end].to_owned());
                        i = end + 1;
                    }
                    _ => {
                        let v_start = i;
                        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                            i += 1;
                        }
                        value = Some(html[v_start..i].to_owned());
                    }
                }
            }
            if key.is_empty() {
                i += 1;
            } else {
                self_closing = false;
                attrs.push((key, value));
            }
        }
        let tag = Tag {
            start,
            end: i,
            name,
            closing,
            attrs,
            self_closing,
        };
        return Some(tag);
    }
}

/// The start of the closing tag `</name>` at or after `pos`.
fn close_of(html: &str, name: &str, pos: usize) -> Option<usize> {
    let mut at = pos;
    loop {
        let t = next_tag(html, at)?;
        if t.closing && t.name == name {
            return Some(t.start);
        }
        at = t.end;
    }
}

/// Text as the page wrote it, unescaped, to compare with what was typed.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2F;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A field a person fills in (not a hidden value, a file or a button).
fn typed_input(kind: &str) -> bool {
    !matches!(
        kind,
        "hidden" | "password" | "file" | "submit" | "button" | "reset" | "image"
    )
}

/// Whether the refusal's `field` (the use case's name) is the form's field `name`:
/// the same, or the same once the path before it (`address.`), indexes (`[0]`) and unit
/// or id endings (`_fen`, `_bp`, `_id`) are dropped from both.
fn names(field: &str, name: &str) -> bool {
    fn norm(s: &str) -> String {
        let leaf = s.rsplit('.').next().unwrap_or(s);
        let mut out: String = leaf.split('[').next().unwrap_or(leaf).to_owned();
        for end in ["_fen", "_yuan", "_bp", "_percent", "_pct", "_ids", "_id"] {
            if let Some(x) = out.strip_suffix(end) {
                out = x.to_owned();
                break;
            }
        }
        out
    }
    field == name || norm(field) == norm(name)
}

/// `html` up to `upto`, with every `<details>` still open there (the ones enclosing what
/// follows) drawn open: a refused form folded in a confirmation shows its refusal.
fn opened_details(html: &str, upto: usize) -> String {
    let mut enclosing: Vec<Tag> = Vec::new();
    let mut pos = 0;
    while let Some(t) = next_tag(html, pos).filter(|t| t.start < upto) {
        pos = t.end;
        if t.name == "details" {
            if t.closing {
                enclosing.pop();
            } else {
                enclosing.push(t);
            }
        }
    }
    let mut out = String::with_capacity(upto + 16);
    let mut copied = 0;
    for mut d in enclosing.into_iter().filter(|d| d.attr("open").is_none()) {
        out.push_str(&html[copied..d.start]);
        d.set("open", None);
        out.push_str(&d.html());
        copied = d.end;
    }
    out.push_str(&html[copied..upto]);
    out
}

/// The page `html` with its POST form to `action` filled with `typed` and the refusal said
/// beside `field`; `None` when the page has no such form.
fn rewrite(
    html: &str,
    action: &str,
    typed: &[(String, String)],
    field: Option<&str>,
    words: &str,
    from: &str,
) -> Option<String> {
    let sent = |k: &str, v: &str| typed.iter().any(|(a, b)| a == k && b == v);
    // The posted form: the page's POST form to `action` whose hidden values best match
    // what was sent (a page lists one form per row with the same action).
    let mut best: Option<(usize, Tag, usize)> = None;
    let mut pos = 0;
    while let Some(t) = next_tag(html, pos) {
        pos = t.end;
        let post = t
            .attr("method")
            .is_some_and(|m| m.eq_ignore_ascii_case("post"));
        let to = t.attr("action").map(unescape);
        if t.closing
            || t.name != "form"
            || !post
            || to.as_deref().map(|a| a.split('?').next().unwrap_or(a)) != Some(action)
        {
            continue;
        }
        let end = close_of(html, "form", t.end)?;
        let mut score = 0;
        let mut at = t.end;
        while let Some(i) = next_tag(html, at).filter(|i| i.start < end) {
            at = i.end;
            if i.name == "input" && i.input_type() == "hidden" {
                let (k, v) = (
                    i.attr("name").unwrap_or(""),
                    unescape(i.attr("value").unwrap_or("")),
                );
                if k != "csrf" && sent(k, &v) {
                    score += 1;
                }
            }
        }
        if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
            best = Some((score, t, end));
        }
    }
    let (_, form, end) = best?;
    // The field the refusal is beside.
    let mut target = None;
    let mut at = form.end;
    while let Some(i) = next_tag(html, at).filter(|i| i.start < end) {
        at = i.end;
        let fillable = match i.name.as_str() {
            "input" => i.input_type() != "hidden",
            "textarea" | "select" => true,
            _ => false,
        };
        if let (true, Some(name), Some(f)) = (fillable, i.attr("name"), field)
            && names(f, name)
        {
            target = Some(name.to_owned());
            break;
        }
    }
    let say = format!(
        "<span class=\"error field-error\" id=\"{MSG_ID}\" role=\"alert\">{}</span>",
        esc(words)
    );
    let mut out = String::with_capacity(html.len() + 512);
    out.push_str(&opened_details(html, form.start));
    out.push_str(&html[form.start..form.end]);
    out.push_str(&format!(
        "<input type=\"hidden\" name=\"{FROM_FIELD}\" value=\"{}\">",
        esc(from)
    ));
    if target.is_none() {
        out.push_str(&say.replace("<span", "<p").replace("</span>", "</p>"));
    }
    let values = |name: &str| -> Vec<&str> {
        typed
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let mut nth: HashMap<String, usize> = HashMap::new();
    let mut marked = false;
    let mut copied = form.end;
    let mut at = form.end;
    while let Some(mut t) = next_tag(html, at).filter(|t| t.start < end) {
        at = t.end;
        let name = t.attr("name").map(str::to_owned);
        let Some(name) = name.filter(|_| !t.closing && name_bearing(&t.name)) else {
            continue;
        };
        if name == FROM_FIELD {
            // Drawn again from a re-drawn page: one carrier is enough.
            out.push_str(&html[copied..t.start]);
            copied = t.end;
            continue;
        }
        let here = !marked && target.as_deref() == Some(name.as_str());
        if here {
            marked = true;
            t.set("aria-invalid", Some("true"));
            t.set("aria-describedby", Some(MSG_ID));
        }
        let sent_values = values(&name);
        let i = nth.entry(name.clone()).or_default();
        let mine = sent_values.get(*i).copied();
        *i += 1;
        out.push_str(&html[copied..t.start]);
        match t.name.as_str() {
            "input" => {
                let kind = t.input_type();
                if kind == "checkbox" || kind == "radio" {
                    let v = unescape(t.attr("value").unwrap_or("on"));
                    if sent(&name, &v) {
                        t.set("checked", None);
                    } else {
                        t.unset("checked");
                    }
                } else if typed_input(&kind)
                    && let Some(v) = mine
                {
                    t.set("value", Some(v));
                }
                out.push_str(&t.html());
                copied = t.end;
            }
            "textarea" => {
                let close = close_of(html, "textarea", t.end)?;
                out.push_str(&t.html());
                match mine {
                    Some(v) => out.push_str(&esc(v)),
                    None => out.push_str(&html[t.end..close]),
                }
                out.push_str("</textarea>");
                copied = close + "</textarea>".len();
                at = copied;
            }
            "select" => {
                let close = close_of(html, "select", t.end)?;
                out.push_str(&t.html());
                let mut o_at = t.end;
                let mut o_copied = t.end;
                while let Some(mut o) = next_tag(html, o_at).filter(|o| o.start < close) {
                    o_at = o.end;
                    if o.closing || o.name != "option" {
                        continue;
                    }
                    let v = match o.attr("value") {
                        Some(v) => unescape(v),
                        None => {
                            unescape(html[o.end..].split('<').next().unwrap_or_default().trim())
                        }
                    };
                    out.push_str(&html[o_copied..o.start]);
                    if sent_values.is_empty() {
                        out.push_str(&html[o.start..o.end]);
                    } else {
                        if sent_values.contains(&v.as_str()) {
                            o.set("selected", None);
                        } else {
                            o.unset("selected");
                        }
                        out.push_str(&o.html());
                    }
                    o_copied = o.end;
                }
                out.push_str(&html[o_copied..close]);
                out.push_str("</select>");
                copied = close + "</select>".len();
                at = copied;
            }
            _ => {
                out.push_str(&html[t.start..t.end]);
                copied = t.end;
            }
        }
        if here {
            out.push_str(&say);
        }
    }
    out.push_str(&html[copied..]);
    Some(out)
}

/// The elements whose `name` is a form field.
fn name_bearing(tag: &str) -> bool {
    matches!(tag, "input" | "textarea" | "select")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const PAGE: &str = r#"<html><body>
<form method="post" action="/other"><input name="name"></form>
<form class="card" method="post" action="/a/1/save">
<input type="hidden" name="csrf" value="t">
<input type="hidden" name="row" value="1">
<label for="name">名称</label><input id="name" name="name" value="旧" required>
<label>金额 <input name="amount" inputmode="decimal"></label>
<textarea name="note">old &amp; note</textarea>
<select name="kind"><option value="a" selected>甲</option><option value="b">乙</option></select>
<input type="checkbox" name="on" value="1" checked>
<input type="password" name="password">
<button>保存</button>
</form>
<form method="post" action="/a/1/save"><input type="hidden" name="row" value="2"><input name="name"></form>
</body></html>"#;

    #[test]
    fn the_posted_form_gets_what_was_typed_and_the_refusal_beside_its_field() {
        let sent = typed(&[
            ("csrf", "t"),
            ("row", "1"),
            ("name", "新\"<名>"),
            ("amount", "abc"),
            ("note", "一行 & 二行"),
            ("kind", "b"),
            ("password", "secret"),
        ]);
        let out = rewrite(
            PAGE,
            "/a/1/save",
            &sent,
            Some("amount_fen"),
            "请填写金额",
            "/a/1",
        )
        .expect("the form is on the page");
        assert!(
            out.contains(r#"<input id="name" name="name" value="新&quot;&lt;名&gt;" required>"#),
            "{out}"
        );
        assert!(out.contains(r#"<input name="amount" inputmode="decimal" aria-invalid="true" aria-describedby="refusal-msg" value="abc"><span class="error field-error" id="refusal-msg" role="alert">请填写金额</span></label>"#), "{out}");
        assert!(
            out.contains("<textarea name=\"note\">一行 &amp; 二行</textarea>"),
            "{out}"
        );
        assert!(
            out.contains(r#"<option value="a">甲</option><option value="b" selected>乙</option>"#),
            "{out}"
        );
        assert!(
            out.contains(r#"<input type="checkbox" name="on" value="1">"#),
            "{out}"
        );
        assert!(!out.contains("secret"), "a password is never drawn back");
        assert!(out.contains(r#"<input type="hidden" name="kith_from" value="/a/1">"#));
        // The other forms are as they were.
        assert!(out.contains(r#"<form method="post" action="/other"><input name="name"></form>"#));
        assert!(
            out.contains(r#"<input type="hidden" name="row" value="2"><input name="name"></form>"#)
        );
    }

    #[test]
    fn a_refusal_naming_no_field_of_the_form_is_said_at_its_top() {
        let sent = typed(&[("row", "2"), ("name", "x")]);
        let out = rewrite(PAGE, "/a/1/save", &sent, None, "已失效", "/a/1").expect("form");
        let second = out.rfind("action=\"/a/1/save\"").expect("second form");
        assert!(out[second..].contains(r#"<p class="error field-error" id="refusal-msg" role="alert">已失效</p><input type="hidden" name="row" value="2"><input name="name" value="x"></form>"#), "{out}");
        assert!(rewrite(PAGE, "/nowhere", &sent, None, "x", "/").is_none());
    }

    #[test]
    fn a_refused_form_folded_in_a_confirmation_is_drawn_open() {
        let page = concat!(
            "<details class=\"note\"><summary>x</summary></details>",
            "<details class=\"confirm\"><summary>拒绝</summary>",
            "<form method=\"post\" action=\"/r/1/refuse\"><input name=\"reason\"></form>",
            "</details>",
            "<details id=\"later\"><summary>y</summary></details>",
        );
        let sent = typed(&[("reason", "坏")]);
        let out = rewrite(page, "/r/1/refuse", &sent, Some("reason"), "太长", "/r").expect("form");
        assert!(
            out.contains(r#"<details class="confirm" open><summary>拒绝</summary>"#),
            "{out}"
        );
        // Only the one around the form: the closed one before it and the one after stay shut.
        assert!(out.contains(r#"<details class="note"><summary>"#), "{out}");
        assert!(out.contains(r#"<details id="later"><summary>"#), "{out}");
        assert!(out.contains(r#"aria-invalid="true""#), "{out}");
    }

    #[test]
    fn field_names_match_across_units_and_paths() {
        assert!(names("address.province", "province"));
        assert!(names("amount_fen", "amount"));
        assert!(names("rate_bp", "rate"));
        assert!(names("sku_id", "sku"));
        assert!(names("tags[0]", "tags"));
        assert!(!names("name", "phone"));
        assert_eq!(without_flash("/p?done=saved&x=1"), "/p?x=1");
        assert_eq!(without_flash("/p?saved=1"), "/p");
    }
}
