//! Every form refuses bad input in the page's language, beside its field, keeping what was
//! typed. The demo world is crawled as each person who has forms to fill — a visitor, a
//! member (the demo's opinion leader), the 团长, a clerk, two shop owners and the platform
//! admin — and every POST form found on their pages is sent once with bad input in each
//! field a person types into (text 2 001 characters long: too long for any text field, not
//! a number, a date, a phone or a code), as a browser sends it from the page (its
//! `Referer`). The answer must be the page again with:
//! - the refusal beside its field: `aria-invalid` on a field of the form, or an error
//!   element (`role="alert"`) inside it,
//! - what was typed kept in every typed field (passwords excepted),
//! - on a Chinese page, no English word, internal field name, raw id or fen amount
//!   (`pages_words`' checker).
//!
//! Skipped by rule: forms with no field a person types into (buttons such as 点赞, 退出,
//! 删除, 通过 — their input cannot be bad), and forms sending files (`multipart`, whose
//! refusals their own pages draw). Every form template's action must be either found by
//! the crawl or named in [`NOT_CRAWLED`] with the reason, so a new form cannot escape.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use kith::demo;
use regex::Regex;

use crate::both_engines;
use crate::harness::TestApp;
use crate::pages_words::{Checks, demo_browser};
use crate::web::{Browser, Page};

both_engines!(every_form_refuses_in_the_pages_language_beside_its_field);

/// Form actions (as the templates write them, ids as `{}`) that no demo person reaches by
/// following links, and why; each is checked by the page story named.
const NOT_CRAWLED: &[(&str, &str)] = &[
    (
        "/auth/wechat/complete/phone",
        "only inside a WeChat sign-in (wechat_stories)",
    ),
    (
        "/auth/wechat/complete/new",
        "only inside a WeChat sign-in (wechat_stories)",
    ),
    (
        "/auth/wechat/complete/link",
        "only inside a WeChat sign-in (wechat_stories)",
    ),
    (
        "/s/{}/join",
        "a share link's sign-up (pages_public: draws its own refusals)",
    ),
    (
        "/c/join/{}",
        "an invite link's landing (pages: invite stories)",
    ),
    (
        "/console/{}/orders/{}/ship",
        "only on an order waiting to ship, which the owner's crawl (a few pages per shape) \
         may not reach; its page goes through the shared refusal layer (pages: shipping story)",
    ),
    (
        "/me/wechat/{}/unlink",
        "only with a WeChat sign-in linked (wechat_stories)",
    ),
    (
        "{}",
        "an action the page chooses: the address form (new or edit), crawled under its own path",
    ),
];

/// Bad input for every typed field.
fn bad() -> String {
    "坏".repeat(2001)
}

/// Pages fetched at most per person, and per shape of path.
const MAX_PAGES: usize = 400;
const PER_SHAPE: usize = 4;

/// A POST form as a page draws it.
#[derive(Clone, Debug)]
struct Form {
    action: String,
    multipart: bool,
    /// (name, value) pairs a browser sends as the page stands.
    defaults: Vec<(String, String)>,
    /// Names of fields a person types into (text inputs, textareas), passwords marked.
    typed: Vec<(String, bool)>,
}

struct Parse {
    form: Regex,
    attr: Regex,
    input: Regex,
    textarea: Regex,
    select: Regex,
    option: Regex,
}

impl Parse {
    fn new() -> Self {
        let re = |s: &str| Regex::new(s).expect("regex");
        Parse {
            form: re(r"(?s)<form\b([^>]*)>(.*?)</form>"),
            attr: re(r#"([A-Za-z_:][-A-Za-z0-9_:.]*)(?:\s*=\s*"([^"]*)")?"#),
            input: re(r"<input\b([^>]*)>"),
            textarea: re(r"(?s)<textarea\b([^>]*)>(.*?)</textarea>"),
            select: re(r"(?s)<select\b([^>]*)>(.*?)</select>"),
            option: re(r"(?s)<option\b([^>]*)>([^<]*)"),
        }
    }

    fn attrs(&self, s: &str) -> BTreeMap<String, String> {
        self.attr
            .captures_iter(s)
            .map(|c| {
                (
                    c[1].to_ascii_lowercase(),
                    c.get(2).map_or("", |m| m.as_str()).to_owned(),
                )
            })
            .collect()
    }

    /// Every form of the page: (its attributes, its inside).
    fn forms<'h>(&self, html: &'h str) -> Vec<(BTreeMap<String, String>, &'h str)> {
        self.form
            .captures_iter(html)
            .map(|c| {
                (
                    self.attrs(c.get(1).map_or("", |m| m.as_str())),
                    c.get(2).map_or("", |m| m.as_str()),
                )
            })
            .collect()
    }

    /// The page's POST forms.
    fn post_forms(&self, html: &str) -> Vec<Form> {
        let mut out = Vec::new();
        for (a, inside) in self.forms(html) {
            if !a
                .get("method")
                .is_some_and(|m| m.eq_ignore_ascii_case("post"))
            {
                continue;
            }
            let mut defaults = Vec::new();
            let mut typed = Vec::new();
            let mut radios = BTreeSet::new();
            for c in self.input.captures_iter(inside) {
                let i = self.attrs(&c[1]);
                // A field of another form drawn inside this one (the member picker's
                // search box belongs to the page's GET form) is not sent with it.
                if i.get("form").is_some_and(|f| Some(f) != a.get("id")) {
                    continue;
                }
                let Some(name) = i.get("name").cloned() else {
                    continue;
                };
                let kind = i
                    .get("type")
                    .map_or("text", String::as_str)
                    .to_ascii_lowercase();
                let value = decode(i.get("value").map_or("", String::as_str));
                match kind.as_str() {
                    "hidden" => defaults.push((name, value)),
                    "submit" | "button" | "reset" | "image" | "file" => {}
                    "checkbox" => {
                        if i.contains_key("checked") {
                            defaults
                                .push((name, if value.is_empty() { "on".into() } else { value }));
                        }
                    }
                    "radio" => {
                        if i.contains_key("checked") || !radios.contains(&name) {
                            defaults.retain(|(k, _)| *k != name || !radios.contains(&name));
                            radios.insert(name.clone());
                            defaults.push((name, value));
                        }
                    }
                    // A password or a one-time code is never drawn back.
                    "password" => typed.push((name, true)),
                    _ if i.get("autocomplete").is_some_and(|a| a == "one-time-code") => {
                        typed.push((name, true));
                    }
                    _ => typed.push((name, false)),
                }
            }
            for c in self.textarea.captures_iter(inside) {
                if let Some(name) = self.attrs(&c[1]).get("name") {
                    typed.push((name.clone(), false));
                }
            }
            for c in self.select.captures_iter(inside) {
                let Some(name) = self.attrs(&c[1]).get("name").cloned() else {
                    continue;
                };
                let options: Vec<(BTreeMap<String, String>, String)> = self
                    .option
                    .captures_iter(&c[2])
                    .map(|o| (self.attrs(&o[1]), o[2].trim().to_owned()))
                    .collect();
                let chosen = options
                    .iter()
                    .find(|(a, _)| a.contains_key("selected"))
                    .or(options.first());
                if let Some((a, text)) = chosen {
                    defaults.push((name, decode(a.get("value").unwrap_or(text))));
                }
            }
            out.push(Form {
                action: decode(a.get("action").map_or("", String::as_str)),
                multipart: a.get("enctype").is_some_and(|e| e.contains("multipart")),
                defaults,
                typed,
            });
        }
        out
    }
}

fn decode(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2F;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A form action's shape: ids and numbers as `{}`, the query dropped.
fn shape(action: &str) -> String {
    let path = action.split('?').next().unwrap_or_default();
    let id =
        Regex::new(r"(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\b\d+\b")
            .expect("regex");
    id.replace_all(path, "{}").into_owned()
}

/// Every POST form action the templates write, as a shape (`{{ … }}` and `{% … %}` as
/// `{}`), and whether the form has a field a person types into (a text input or a textarea
/// in the template, or a part it includes).
fn template_actions() -> BTreeMap<String, bool> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../kith-web/templates");
    let form = Regex::new(r#"(?s)<form\b[^>]*method="post"[^>]*>(.*?)</form>"#).expect("regex");
    let attr = Regex::new(r#"action="((?:[^"{]|\{\{[^}]*\}\}|\{%[^%]*%\})*)""#).expect("regex");
    let tag = Regex::new(r"\{\{[^}]*\}\}|\{%[^%]*%\}").expect("regex");
    let input = Regex::new(r"<input\b[^>]*>").expect("regex");
    let kind = Regex::new(r#"type="([a-z]+)""#).expect("regex");
    let mut out = BTreeMap::new();
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("templates") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "html") {
                let html = std::fs::read_to_string(&p).expect("template");
                for f in form.captures_iter(&html) {
                    let Some(a) = attr.captures(&f[0]) else {
                        continue;
                    };
                    let s = tag.replace_all(&a[1], "{}");
                    // `{}un{}like{}` and `{}like{}` are one action.
                    let s = s.replace("{}unlike{}like{}", "{}like{}");
                    let inside = &f[1];
                    let multipart = f[0].contains("multipart/form-data");
                    let typed = !multipart
                        && (inside.contains("<textarea")
                            || inside.contains("{% include")
                            || inside.contains("{% call")
                            || input.find_iter(inside).any(|i| {
                                let t = kind
                                    .captures(i.as_str())
                                    .map_or("text", |k| k.get(1).map_or("text", |m| m.as_str()));
                                !matches!(
                                    t,
                                    "hidden"
                                        | "submit"
                                        | "button"
                                        | "checkbox"
                                        | "radio"
                                        | "file"
                                        | "image"
                                        | "reset"
                                )
                            }));
                    *out.entry(s).or_insert(false) |= typed;
                }
            }
        }
    }
    out
}

/// Follows every link `b` sees from `start`; returns each POST form found, by shape, with
/// the page it was on.
async fn crawl(
    b: &mut Browser<'_>,
    checks: &Checks,
    parse: &Parse,
    start: &[&str],
    forms: &mut BTreeMap<String, (String, Form)>,
) {
    let mut queue: VecDeque<String> = start.iter().map(|s| (*s).to_owned()).collect();
    let mut seen: BTreeSet<String> = queue.iter().cloned().collect();
    let mut shapes: BTreeMap<String, usize> = BTreeMap::new();
    let mut pages = 0;
    while let Some(path) = queue.pop_front() {
        if pages >= MAX_PAGES {
            break;
        }
        // A list filtered by state is a page of its own (the orders to ship).
        let status = path
            .split_once("status=")
            .map(|(_, v)| v.split('&').next().unwrap_or_default());
        let n = shapes
            .entry(format!(
                "{}{}",
                checks.shape(&path),
                status.unwrap_or_default()
            ))
            .or_default();
        if *n >= PER_SHAPE {
            continue;
        }
        *n += 1;
        let page = b.get(&path).await;
        if page.status.is_redirection() {
            let to = page.location();
            if to.starts_with('/') && seen.insert(to.clone()) {
                queue.push_back(to);
            }
            continue;
        }
        if page.status.as_u16() != 200 || !page.body.contains("<html") {
            continue;
        }
        pages += 1;
        for f in parse.post_forms(&page.body) {
            forms.entry(shape(&f.action)).or_insert((path.clone(), f));
        }
        for link in checks.links(&page.body) {
            if seen.insert(link.clone()) {
                queue.push_back(link);
            }
        }
    }
}

/// POSTs `pairs` to `action` as a browser does from `page` (same origin, its `Referer`).
async fn send_from(
    b: &mut Browser<'_>,
    page: &str,
    action: &str,
    pairs: &[(String, String)],
) -> Page {
    b.post_on(
        page,
        action,
        serde_urlencoded::to_string(pairs).expect("form"),
    )
    .await
}

/// What is wrong with the answer to `form` sent with bad input (nothing when it is right).
fn judge(checks: &Checks, parse: &Parse, form: &Form, answer: &Page) -> Vec<String> {
    let status = answer.status.as_u16();
    if answer.status.is_redirection() {
        return vec![format!(
            "took the bad input ({status} → {})",
            answer.location()
        )];
    }
    if status >= 500 {
        return vec![format!("failed ({status})")];
    }
    let mut wrong = Vec::new();
    let forms: Vec<_> = parse
        .forms(&answer.body)
        .into_iter()
        .filter(|(a, _)| a.get("action").map(|x| decode(x)) == Some(form.action.clone()))
        .collect();
    let refused = forms.iter().find(|(_, inside)| {
        inside.contains("aria-invalid=\"true\"") || inside.contains("role=\"alert\"")
    });
    match refused {
        None if forms.is_empty() => {
            let detail = answer
                .body
                .split("id=\"error-detail\">")
                .nth(1)
                .and_then(|s| s.split('<').next())
                .unwrap_or("");
            wrong.push(format!("answered {status} without the form ({detail})"));
        }
        None => wrong.push(format!(
            "answered {status}: the form, but no refusal inside it"
        )),
        Some((_, inside)) => {
            let bad = bad();
            for (name, secret) in &form.typed {
                if *secret {
                    continue;
                }
                let kept = parse.input.captures_iter(inside).any(|c| {
                    let a = parse.attrs(&c[1]);
                    a.get("name") == Some(name)
                        && a.get("value").map(|v| decode(v)) == Some(bad.clone())
                }) || parse
                    .textarea
                    .captures_iter(inside)
                    .any(|c| parse.attrs(&c[1]).get("name") == Some(name) && decode(&c[2]) == bad);
                if !kept {
                    wrong.push(format!("`{name}` lost what was typed"));
                }
            }
        }
    }
    if answer.body.contains("<html lang=\"zh") {
        for (kind, piece) in checks.problems(&checks.visible(&answer.body)) {
            wrong.push(format!("{kind}: «{piece}»"));
        }
    }
    wrong
}

async fn every_form_refuses_in_the_pages_language_beside_its_field(t: TestApp) {
    demo::ensure(&t.app).await.expect("demo world");
    let (checks, parse) = (Checks::new(), Parse::new());
    let member = demo::member_phone(demo::KOL);
    let leader = demo::member_phone(kith::demo_leaders::LEADER);
    let people: [(&str, Option<&str>, &[&str]); 7] = [
        ("visitor", None, &["/login", "/register", "/console/apply"]),
        (
            "member",
            Some(member.as_str()),
            &[
                "/",
                "/me",
                "/orders",
                "/cart",
                "/communities",
                "/me/wallet",
                "/me/addresses",
                "/console",
            ],
        ),
        ("leader", Some(leader.as_str()), &["/me", "/me/leader"]),
        ("clerk", Some("13800000004"), &["/"]),
        ("owner", Some("13800000001"), &["/console"]),
        ("fresh owner", Some("13800000006"), &["/console"]),
        (
            "admin",
            Some("13800000000"),
            &["/admin", "/admin/aftersales"],
        ),
    ];
    let mut found: BTreeSet<String> = BTreeSet::new();
    let mut report = Vec::new();
    let (mut sent, mut skipped) = (0, 0);
    for (who, phone, start) in people {
        let mut b = match phone {
            Some(p) => demo_browser(&t, p).await,
            None => Browser::new(&t),
        };
        let mut forms = BTreeMap::new();
        crawl(&mut b, &checks, &parse, start, &mut forms).await;
        for (shape, (page, form)) in forms {
            // Each form once, as the first person who reaches it.
            if !found.insert(shape.clone()) {
                continue;
            }
            if form.typed.is_empty() || form.multipart || form.action == "/logout" {
                skipped += 1;
                continue;
            }
            let bad = bad();
            let mut pairs = form.defaults.clone();
            pairs.extend(form.typed.iter().map(|(n, _)| (n.clone(), bad.clone())));
            let answer = send_from(&mut b, &page, &form.action, &pairs).await;
            sent += 1;
            for w in judge(&checks, &parse, &form, &answer) {
                report.push(format!("{who} {shape} (from {page}): {w}"));
            }
        }
    }
    // No form escapes: every template's action was found, or is named as not crawled.
    let named: BTreeSet<String> = NOT_CRAWLED.iter().map(|(s, _)| (*s).to_owned()).collect();
    let matches = |template: &str, s: &str| {
        let t = template.replace("{}", "\u{0}");
        let re = format!("^{}$", regex::escape(&t).replace('\u{0}', "[^/]*"));
        Regex::new(&re).is_ok_and(|r| r.is_match(s))
    };
    let templates = template_actions();
    for (template, typed) in &templates {
        let reached = found.iter().any(|s| matches(template, s));
        // A form with nothing to type cannot be refused by bad input (the rule above).
        if !reached && *typed && !named.contains(template) {
            report.push(format!(
                "form {template}: not found by the crawl nor named in NOT_CRAWLED"
            ));
        }
        if reached && named.contains(template) {
            report.push(format!(
                "form {template}: found by the crawl, remove it from NOT_CRAWLED"
            ));
        }
    }
    for n in &named {
        if !templates.contains_key(n) {
            report.push(format!("NOT_CRAWLED names {n}, which no template has"));
        }
    }
    eprintln!("{sent} forms sent with bad input, {skipped} without typed fields skipped");
    assert!(sent >= 30, "only {sent} forms were tried");
    assert!(
        report.is_empty(),
        "{} problems:\n{}",
        report.len(),
        report.join("\n")
    );
}
