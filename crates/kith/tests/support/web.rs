//! A browser without JavaScript for the page tests: keeps the session cookie, does not
//! follow redirects, reads CSRF tokens from the forms and posts them back.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};

use crate::harness::{PASSWORD, TestApp, User};

/// A checkout form's shipping fields, as a member types them on the cart page.
#[allow(dead_code)]
pub(crate) const ADDRESS: [(&str, &str); 7] = [
    ("delivery", "shipping"),
    ("name", "王小丽"),
    ("phone", "13800138000"),
    ("province", "贵州省"),
    ("city", "贵阳市"),
    ("district", "观山湖区"),
    ("detail", "金阳南路 6 号"),
];

/// A browser without JavaScript: keeps the session cookie, does not follow redirects.
pub(crate) struct Browser<'a> {
    pub(crate) t: &'a TestApp,
    pub(crate) client: reqwest::Client,
    pub(crate) cookie: Option<String>,
    /// The WeChat sign-in flow's cookies (`kith_oauth`, `kith_wechat_pending`) and the
    /// chosen time zone (`kith_tz`) the server set, as `name=value`, sent back on every
    /// request. (The device and language cookies
    /// stay out: the stories about them set them by hand.)
    pub(crate) jar: Vec<String>,
}

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Page {
    pub(crate) fn location(&self) -> String {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// The CSRF token the page's forms carry.
    pub(crate) fn csrf(&self) -> String {
        let key = "name=\"csrf\" value=\"";
        let at = self.body.find(key).expect("a form with a csrf field") + key.len();
        self.body[at..]
            .split('"')
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    #[track_caller]
    pub(crate) fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        self
    }

    pub(crate) fn has(&self, s: &str) -> bool {
        self.body.contains(s)
    }

    /// The text of the element with `id` (up to its first tag).
    pub(crate) fn text_of(&self, id: &str) -> String {
        let key = format!("id=\"{id}\"");
        let at = self
            .body
            .find(&key)
            .unwrap_or_else(|| panic!("no #{id} in {}", self.body));
        let rest = &self.body[at..];
        let open = rest.find('>').expect("tag end") + 1;
        rest[open..]
            .split('<')
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// The body with whitespace between tags removed, for assertions on table rows.
    pub(crate) fn compact(&self) -> String {
        self.body
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("")
    }
}

impl<'a> Browser<'a> {
    pub(crate) fn new(t: &'a TestApp) -> Self {
        Browser {
            t,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookie: None,
            jar: Vec::new(),
        }
    }

    pub(crate) async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let all: Vec<&str> = self
            .cookie
            .iter()
            .chain(self.jar.iter())
            .map(String::as_str)
            .collect();
        let req = if all.is_empty() {
            req
        } else {
            req.header("cookie", all.join("; "))
        };
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        for v in headers.get_all(SET_COOKIE) {
            let v = v.to_str().unwrap_or_default();
            if let Some(pair) = v.split(';').next()
                && pair.starts_with("kith_session=")
            {
                self.cookie = (pair != "kith_session=").then(|| pair.to_owned());
            } else if let Some((name, value)) = v.split(';').next().and_then(|p| p.split_once('='))
                && ["kith_oauth", "kith_wechat_pending", "kith_tz"].contains(&name)
            {
                self.jar.retain(|c| !c.starts_with(&format!("{name}=")));
                if !value.is_empty() {
                    self.jar.push(format!("{name}={value}"));
                }
            }
        }
        Page {
            status,
            headers,
            body: res.text().await.expect("body"),
        }
    }

    /// A GET as a person navigating sends it: a link followed or an address typed
    /// (fetch metadata `Sec-Fetch-Dest: document`, `Sec-Fetch-Mode: navigate`).
    pub(crate) async fn get(&mut self, path: &str) -> Page {
        let req = self
            .client
            .get(format!("{}{path}", self.t.base))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .header("sec-fetch-dest", "document")
            .header("sec-fetch-mode", "navigate")
            .header("sec-fetch-site", "none");
        self.send(req).await
    }

    /// A GET the browser makes for a page's sub-resource, e.g. `("image", "no-cors")` for
    /// an `<img>` on one of our pages, with the session cookie like any same-site request.
    pub(crate) async fn fetch_as(&mut self, path: &str, dest: &str, mode: &str) -> Page {
        let req = self
            .client
            .get(format!("{}{path}", self.t.base))
            .header(
                "accept",
                "image/avif,image/webp,image/png,image/*,*/*;q=0.8",
            )
            .header("sec-fetch-dest", dest)
            .header("sec-fetch-mode", mode)
            .header("sec-fetch-site", "same-origin");
        self.send(req).await
    }

    /// A form POST from this site's page (the browser sends `Sec-Fetch-Site: same-origin`).
    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.post_from(path, form, "same-origin").await
    }

    pub(crate) async fn post_from(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        site: &str,
    ) -> Page {
        let req = self
            .client
            .post(format!("{}{path}", self.t.base))
            .header("sec-fetch-site", site)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).expect("form"));
        self.send(req).await
    }

    /// A multipart POST (the composer), with the page's CSRF token and one file field.
    pub(crate) async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: Option<(&str, &[u8])>,
    ) -> Page {
        let boundary = "kith-test-boundary-7d1f";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\ncontent-disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        if let Some((name, bytes)) = file {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"; filename=\"a.png\"\r\ncontent-type: image/png\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let req = self
            .client
            .post(format!("{}{path}", self.t.base))
            .header("sec-fetch-site", "same-origin")
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.send(req).await
    }

    /// Logs in through the login form.
    pub(crate) async fn login(t: &'a TestApp, login: &str) -> Browser<'a> {
        let mut b = Browser::new(t);
        b.get("/login").await.expect(200);
        let p = b
            .post(
                "/login",
                &[("login", login), ("password", PASSWORD), ("next", "/")],
            )
            .await
            .expect(303);
        assert_eq!(p.location(), "/");
        assert!(b.cookie.is_some(), "the login form sets the session cookie");
        b
    }

    /// GETs `page`, then POSTs `form` to `action` from it, with the page's CSRF token.
    pub(crate) async fn submit(&mut self, page: &str, action: &str, form: &[(&str, &str)]) -> Page {
        let csrf = self.get(page).await.expect(200).csrf();
        let mut f = form.to_vec();
        f.push(("csrf", &csrf));
        self.post_on(page, action, serde_urlencoded::to_string(&f).expect("form"))
            .await
    }

    /// POSTs the url-encoded `body` to `action` as a browser sends a form on `page`: same
    /// origin, with the page as its `Referer` (which a refused form is drawn again on).
    pub(crate) async fn post_on(&mut self, page: &str, action: &str, body: String) -> Page {
        let req = self
            .client
            .post(format!("{}{action}", self.t.base))
            .header("sec-fetch-site", "same-origin")
            .header("referer", format!("{}{page}", self.t.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(req).await
    }

    /// Logs in as `u` through the login form.
    pub(crate) async fn login_user(t: &'a TestApp, u: &User) -> Browser<'a> {
        Browser::login(t, &u.login).await
    }
}
