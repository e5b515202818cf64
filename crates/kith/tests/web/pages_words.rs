//! Every page a person reads speaks the page's language: the demo world crawled as a
//! visitor, a member (the demo's opinion leader), a shop owner and the platform admin,
//! following every link each can see, and each Chinese page's visible text — with its
//! placeholders, titles and alt texts — checked for what a shopper or a merchant should
//! never have to read: raw ids, RFC 3339 times, amounts in fen, and English words (an
//! allow-list keeps brand names and the few terms Chinese shops write in Latin letters;
//! acronyms, codes a merchant typed beside digits, and `<code>` elements are machine text).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use kith::demo;
use regex::Regex;

use crate::harness::{Engine, TestApp};
use crate::web::Browser;

/// Latin words a Chinese shop page may show: brands, and terms written this way in China.
/// The WeChat Pay settings use the names WeChat's merchant platform gives its keys.
const ALLOWED: &[&str] = &[
    "kith",
    "Kith",
    "WeChat",
    "Alipay",
    "PageRank",
    "Webhook",
    "AppID",
    "APIv",
    "apiclient_key",
    "pem",
    "English",
    // Picture formats, as the upload hints name them (JPEG and PNG pass as capitals).
    "WebP",
];

/// Pages fetched at most, and pages per shape of path (ids and numbers replaced), so the
/// crawl covers every kind of page without reading every order.
const MAX_PAGES: usize = 700;
const PER_SHAPE: usize = 2;

pub(crate) struct Checks {
    uuid: Regex,
    rfc3339: Regex,
    fen: Regex,
    word: Regex,
    href: Regex,
    attr: Regex,
    hidden: Regex,
    tag: Regex,
    number: Regex,
}

impl Checks {
    pub(crate) fn new() -> Self {
        let re = |s: &str| Regex::new(s).expect("regex");
        Checks {
            uuid: re(r"(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
            rfc3339: re(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:\d{2})"),
            fen: re(r"(?i)\d\s*fen\b|_fen\b"),
            word: re(r"[A-Za-z][A-Za-z_]{2,}"),
            href: re(r#"href="([^"]*)""#),
            attr: re(r#"(?:placeholder|title|alt|aria-label)="([^"]*)""#),
            hidden: re(
                r"(?is)<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->|<svg\b.*?</svg>|<head\b.*?</head>|<textarea\b.*?</textarea>|<code\b.*?</code>",
            ),
            tag: re(r"(?s)<[^>]*>"),
            number: re(r"\d+"),
        }
    }

    /// The text a person reads on the page: element text and the descriptive attributes.
    pub(crate) fn visible(&self, html: &str) -> String {
        let attrs: Vec<String> = self
            .attr
            .captures_iter(html)
            .map(|c| c[1].to_owned())
            .collect();
        let body = self.hidden.replace_all(html, " ");
        let text = self.tag.replace_all(&body, " ");
        decode(&format!("{text} {}", attrs.join(" ")))
    }

    /// What is wrong with this text: (kind, the offending piece in its context).
    pub(crate) fn problems(&self, text: &str) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (kind, re) in [
            ("raw id", &self.uuid),
            ("RFC 3339 time", &self.rfc3339),
            ("amount in fen", &self.fen),
        ] {
            out.extend(
                re.find_iter(text)
                    .map(|m| (kind, around(text, m.start(), m.end()))),
            );
        }
        for m in self.word.find_iter(text) {
            let w = m.as_str();
            // Codes a merchant types (SKU codes, tracking numbers) are upper case with
            // digits around them; acronyms are upper case. Words are what we look for.
            let upper = w.chars().all(|c| c.is_ascii_uppercase() || c == '_');
            let in_code = text[..m.start()].ends_with(|c: char| c.is_ascii_digit() || c == '-')
                || text[m.end()..].starts_with(|c: char| c.is_ascii_digit() || c == '-');
            if upper || in_code || ALLOWED.contains(&w) {
                continue;
            }
            out.push(("English word", around(text, m.start(), m.end())));
        }
        out
    }

    /// The same-site page links on the page.
    pub(crate) fn links(&self, html: &str) -> Vec<String> {
        self.href
            .captures_iter(html)
            .map(|c| decode(&c[1]))
            .filter(|h| h.starts_with('/') && !h.starts_with("//"))
            .map(|h| h.split('#').next().unwrap_or_default().to_owned())
            .filter(|h| {
                !h.is_empty()
                    && ![
                        "/logout", "/static/", "/assets/", "/media/", "/api/", "/s/", "/favicon",
                    ]
                    .iter()
                    .any(|p| h.starts_with(p))
                    && !h.contains("/export")
                    && !h.contains("lang=")
            })
            .collect()
    }

    /// The page's shape: ids and numbers replaced, the query dropped.
    pub(crate) fn shape(&self, path: &str) -> String {
        let path = path.split('?').next().unwrap_or_default();
        let path = self.uuid.replace_all(path, "{id}");
        self.number.replace_all(&path, "{n}").into_owned()
    }
}

fn decode(s: &str) -> String {
    s.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
}

fn around(text: &str, start: usize, end: usize) -> String {
    let from = text[..start]
        .char_indices()
        .rev()
        .nth(15)
        .map_or(0, |(i, _)| i);
    let to = text[end..]
        .char_indices()
        .nth(15)
        .map_or(text.len(), |(i, _)| end + i);
    text[from..to]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A browser signed in with a demo login (every demo login shares one password).
pub(crate) async fn demo_browser<'a>(t: &'a TestApp, phone: &str) -> Browser<'a> {
    let mut b = Browser::new(t);
    b.get("/login").await.expect(200);
    let p = b
        .post(
            "/login",
            &[
                ("login", phone),
                ("password", demo::DEMO_PASSWORD),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(p.status.as_u16(), 303, "demo login {phone}: {}", p.body);
    b
}

/// Follows every link `b` can see from `start`; returns each Chinese page's problems.
async fn crawl(
    b: &mut Browser<'_>,
    checks: &Checks,
    start: &[&str],
) -> (usize, BTreeMap<String, Vec<(&'static str, String)>>) {
    let mut queue: VecDeque<String> = start.iter().map(|s| (*s).to_owned()).collect();
    let mut seen: BTreeSet<String> = queue.iter().cloned().collect();
    let mut shapes: BTreeMap<String, usize> = BTreeMap::new();
    let mut found = BTreeMap::new();
    let mut pages = 0;
    while let Some(path) = queue.pop_front() {
        if pages >= MAX_PAGES {
            break;
        }
        let shape = checks.shape(&path);
        let n = shapes.entry(shape).or_default();
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
        let html = page
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
        if !html {
            continue;
        }
        pages += 1;
        assert!(
            page.status.as_u16() < 500,
            "{path} answered {}: {}",
            page.status,
            page.body
        );
        if page.body.contains("<html lang=\"zh") {
            let problems = checks.problems(&checks.visible(&page.body));
            if !problems.is_empty() {
                found.insert(path.clone(), problems);
            }
        }
        for link in checks.links(&page.body) {
            if seen.insert(link.clone()) {
                queue.push_back(link);
            }
        }
    }
    (pages, found)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_demo_page_reads_in_chinese() {
    let t = TestApp::spawn(Engine::Sqlite).await.expect("spawn");
    demo::ensure(&t.app).await.expect("demo world");
    let checks = Checks::new();
    let mut report = Vec::new();
    let mut total = 0;
    let member = demo::member_phone(demo::KOL);
    for (who, phone, start) in [
        (
            "visitor",
            None,
            &["/", "/shops", "/search?q=茶", "/login", "/register"][..],
        ),
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
                "/me/team",
            ][..],
        ),
        ("owner", Some("13800000001"), &["/console"][..]),
        // The fruit shop: after-sales waiting in every state, a 团长 application.
        ("fruit owner", Some("13800000006"), &["/console"][..]),
        (
            "admin",
            Some("13800000000"),
            &["/admin", "/admin/aftersales"][..],
        ),
    ] {
        let mut b = match phone {
            Some(p) => demo_browser(&t, p).await,
            None => Browser::new(&t),
        };
        let (pages, found) = crawl(&mut b, &checks, start).await;
        assert!(pages >= 5, "{who} reached only {pages} pages");
        total += pages;
        for (path, problems) in found {
            for (kind, piece) in problems {
                report.push(format!("{who} {path}: {kind}: «{piece}»"));
            }
        }
    }
    // The fruit shop's 待办 lists what waits for it: a request to answer, a return to
    // receive, an application to decide — each a way to where it is done.
    let mut fruit = demo_browser(&t, "13800000006").await;
    let dash = fruit.get("/console").await;
    let dash = if dash.status.is_redirection() {
        fruit.get(&dash.location()).await
    } else {
        dash
    };
    for (id, words) in [
        ("todo-aftersales", "售后申请待处理 1"),
        ("todo-returns", "退货待签收 1"),
        ("todo-leaders", "团长申请待审核 1"),
    ] {
        let at = dash
            .body
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no #{id}: {}", dash.body));
        let item = &dash.body[at..at + dash.body[at..].find("</li>").expect("item end")];
        let text: String = item
            .split('<')
            .filter_map(|piece| piece.split_once('>').map(|(_, text)| text))
            .collect();
        assert_eq!(text, words, "{item}");
    }
    eprintln!("{total} pages read");
    assert!(
        report.is_empty(),
        "{} problems on {total} pages:\n{}",
        report.len(),
        report.join("\n")
    );
}
