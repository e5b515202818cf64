//! The human API reference page: one self-contained HTML5 document rendered
//! from the OpenAPI document the server already generates.
//!
//! This module owns only the rendering (spec JSON in, HTML string out); routing
//! and producing the spec live elsewhere. The page needs no CDN and no
//! JavaScript so it works offline, under a strict CSP, and on a phone.
//! Rendering never panics: missing or malformed parts of the spec are skipped,
//! so even `json!(42)` yields a valid (if empty) page.

use serde_json::Value;

/// How deep inline schemas are expanded. `$ref`s are never followed (they
/// become links), so a self-referencing schema is harmless; the limit bounds
/// hand-nested inline objects and keeps odd documents from eating the stack.
const MAX_DEPTH: usize = 4;

/// Display and sort order of HTTP methods; other path-item keys are ignored.
const METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];

const CSS: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:auto;\
padding:1rem;color:#222}code,.path{font-family:ui-monospace,monospace}.desc{white-space:pre-line}\
.scroll{overflow-x:auto}table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ccc;\
padding:.25rem .5rem;text-align:left;vertical-align:top}.op{border-top:1px solid #ddd;\
margin-top:1.5rem}.note{background:#f4f4f4;padding:.5rem}.m{display:inline-block;min-width:4rem;\
text-align:center;color:#fff;border-radius:4px;font-weight:bold;text-transform:uppercase}\
.get{background:#2b7a3d}.post{background:#1f5fa8}.put{background:#8a5a00}\
.patch{background:#6a3fa0}.delete{background:#a32626}.other{background:#555}a{color:#1f5fa8}";

static NULL: Value = Value::Null;

/// HTML-escapes text for both element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Turns arbitrary text into a fragment-safe id, so anchors and the links to
/// them always agree and never need URL-encoding.
fn slug(s: &str) -> String {
    let keep = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.');
    let mapped: String = s.chars().map(|c| if keep(c) { c } else { '-' }).collect();
    // Collapse runs so `get-/a/{id}` reads `get-a-id`, not `get--a--id-`.
    let parts: Vec<&str> = mapped.split('-').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        "x".to_owned()
    } else {
        parts.join("-")
    }
}

// Lenient accessors: a wrong JSON type reads as absent, never as a panic.
fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}
fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}
fn entries<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = (&'a String, &'a Value)> {
    v.get(key).and_then(Value::as_object).into_iter().flatten()
}
fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn desc(v: &Value) -> String {
    str_at(v, "description").map_or_else(String::new, |d| {
        format!("<p class=\"desc\">{}</p>", escape(d))
    })
}

/// A scrollable table, so wide rows don't break the layout on a phone.
fn table(head: &[&str], rows: &[String]) -> String {
    let th: String = head.iter().map(|h| format!("<th>{h}</th>")).collect();
    format!(
        "<div class=\"scroll\"><table><tr>{th}</tr>{}</table></div>",
        rows.concat()
    )
}

fn row(cells: &[&str]) -> String {
    let td: String = cells.iter().map(|c| format!("<td>{c}</td>")).collect();
    format!("<tr>{td}</tr>")
}

/// `#/components/schemas/Name` → a link to that schema's section.
fn ref_link(r: &str) -> String {
    let name = r.rsplit('/').next().unwrap_or(r);
    let name = name.replace("~1", "/").replace("~0", "~"); // JSON-pointer escapes
    format!("<a href=\"#schema-{}\">{}</a>", slug(&name), escape(&name))
}

/// One-line HTML summary of a schema's type: refs become links, arrays read
/// "array of X", compositions and enums are spelled out.
fn type_label(s: &Value, depth: usize) -> String {
    if depth > MAX_DEPTH {
        return "…".to_owned();
    }
    if let Some(r) = str_at(s, "$ref") {
        return ref_link(r);
    }
    for (key, word, sep) in [
        ("oneOf", "one of", " | "),
        ("anyOf", "any of", " | "),
        ("allOf", "all of", " &amp; "),
    ] {
        if s.get(key).is_some_and(Value::is_array) {
            let parts: Vec<String> = arr(s, key)
                .iter()
                .map(|i| type_label(i, depth + 1))
                .collect();
            return format!("{word}: {}", parts.join(sep));
        }
    }
    let base = |t: &str| match t {
        "array" => format!(
            "array of {}",
            s.get("items")
                .map_or("any".into(), |i| type_label(i, depth + 1))
        ),
        "object" => match s.get("additionalProperties").filter(|a| a.is_object()) {
            Some(a) => format!("map of {}", type_label(a, depth + 1)),
            None => "object".to_owned(),
        },
        // `null` shares the schema's `format` in 3.1 type arrays; don't show it there.
        t => match str_at(s, "format").filter(|_| t != "null") {
            Some(f) => format!("{} ({})", escape(t), escape(f)),
            None => escape(t),
        },
    };
    // OpenAPI 3.1 allows `type: ["string", "null"]`.
    let mut label = match s.get("type") {
        Some(Value::String(t)) => base(t),
        Some(Value::Array(ts)) => {
            let ts: Vec<String> = ts.iter().filter_map(Value::as_str).map(base).collect();
            ts.join(" | ")
        }
        _ if s.get("properties").is_some() => "object".to_owned(),
        _ => "any".to_owned(),
    };
    if s.get("enum").is_some_and(Value::is_array) {
        let vals: Vec<String> = arr(s, "enum")
            .iter()
            .map(|v| format!("<code>{}</code>", escape(&v.to_string())))
            .collect();
        label.push_str(&format!(", one of {}", vals.join(", ")));
    }
    label
}

/// The inline schema worth expanding: an object with its own properties,
/// directly or as (nested) array items. Refs are deliberately not expanded.
fn inline_object(s: &Value) -> Option<&Value> {
    if s.get("properties").is_some_and(Value::is_object) {
        return Some(s);
    }
    s.get("items").and_then(inline_object)
}

/// Full rendering of a schema: type line, inline composition members, and a
/// property table whose inline objects nest (depth-limited) in the cells.
fn render_schema(s: &Value, depth: usize) -> String {
    if depth > MAX_DEPTH {
        return "<p><em>(nested too deeply; see the JSON document)</em></p>".to_owned();
    }
    let props = s.get("properties").and_then(Value::as_object);
    let members: Vec<&Value> = ["allOf", "oneOf", "anyOf"]
        .into_iter()
        .flat_map(|k| arr(s, k))
        .collect();
    let mut out = String::new();
    // The type line carries what a property table cannot: scalars, arrays,
    // and composition members (named ones become links there).
    if props.is_none() || !members.is_empty() {
        out = format!("<p>Type: {}</p>", type_label(s, depth));
    }
    // Inline composition members and inline array items get expanded.
    for m in members
        .into_iter()
        .chain(s.get("items"))
        .filter_map(inline_object)
    {
        out.push_str(&render_schema(m, depth + 1));
    }
    let Some(props) = props else { return out };
    let required: Vec<&str> = arr(s, "required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let rows: Vec<String> = props
        .iter()
        .map(|(name, p)| {
            let nested = inline_object(p).map(|n| render_schema(n, depth + 1));
            let about = desc(p) + &nested.unwrap_or_default();
            let name_cell = format!("<code>{}</code>", escape(name));
            let req = yes_no(required.contains(&name.as_str()));
            row(&[&name_cell, &type_label(p, depth), req, &about])
        })
        .collect();
    out + &table(&["Name", "Type", "Required", "Description"], &rows)
}

struct Op<'a> {
    path: &'a str,
    method: &'static str,
    order: usize,
    anchor: String,
    tag: &'a str,
    op: &'a Value,
    path_item: &'a Value,
}

/// All operations, sorted by path and then by `METHODS` order.
fn collect_ops(spec: &Value) -> Vec<Op<'_>> {
    let mut ops = Vec::new();
    for (path, item) in entries(spec, "paths") {
        for (order, &method) in METHODS.iter().enumerate() {
            let Some(op) = item.get(method).filter(|o| o.is_object()) else {
                continue;
            };
            let anchor =
                str_at(op, "operationId").map_or_else(|| slug(&format!("{method}-{path}")), slug);
            // Only the first tag counts, so each operation (and anchor) appears once.
            let tag = arr(op, "tags")
                .first()
                .and_then(Value::as_str)
                .unwrap_or("Other");
            ops.push(Op {
                path,
                method,
                order,
                anchor,
                tag,
                op,
                path_item: item,
            });
        }
    }
    ops.sort_by(|a, b| a.path.cmp(b.path).then(a.order.cmp(&b.order)));
    ops
}

fn render_op(o: &Op<'_>) -> String {
    let (op, badge) = (o.op, if o.order < 5 { o.method } else { "other" });
    let mut out = format!(
        "<section class=\"op\" id=\"{}\"><h3><span class=\"m {badge}\">{}</span> \
         <span class=\"path\">{}</span></h3>",
        escape(&o.anchor),
        o.method,
        escape(o.path)
    );
    if let Some(s) = str_at(op, "summary") {
        out.push_str(&format!("<p><strong>{}</strong></p>", escape(s)));
    }
    out.push_str(&desc(op));
    if op.get("security").is_some_and(Value::is_array) {
        let names: Vec<String> = arr(op, "security")
            .iter()
            .filter_map(Value::as_object)
            .flat_map(|m| m.keys())
            .map(|k| escape(k))
            .collect();
        let text = if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        };
        out.push_str(&format!("<p>Security: {text}</p>"));
    }
    // Path-level parameters apply to every method under the path.
    let params: Vec<&Value> = arr(o.path_item, "parameters")
        .iter()
        .chain(arr(op, "parameters"))
        .collect();
    if !params.is_empty() {
        let rows: Vec<String> = params
            .iter()
            .map(|p| {
                let name = str_at(p, "name")
                    .map(escape)
                    .or_else(|| str_at(p, "$ref").map(ref_link));
                let name = format!("<code>{}</code>", name.unwrap_or_default());
                let ty = p.get("schema").map_or("any".into(), |s| type_label(s, 0));
                let req = yes_no(p.get("required").and_then(Value::as_bool).unwrap_or(false));
                row(&[
                    &name,
                    &escape(str_at(p, "in").unwrap_or("")),
                    &ty,
                    req,
                    &desc(p),
                ])
            })
            .collect();
        out.push_str("<h4>Parameters</h4>");
        out.push_str(&table(
            &["Name", "In", "Type", "Required", "Description"],
            &rows,
        ));
    }
    if let Some(body) = op.get("requestBody").filter(|b| b.is_object()) {
        let required = body
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let req = if required { " (required)" } else { "" };
        out.push_str(&format!("<h4>Request body{req}</h4>{}", desc(body)));
        for (media, c) in entries(body, "content") {
            out.push_str(&format!("<p><code>{}</code></p>", escape(media)));
            out.push_str(
                &c.get("schema")
                    .map(|s| render_schema(s, 0))
                    .unwrap_or_default(),
            );
        }
    }
    if op.get("responses").is_some_and(Value::is_object) {
        let rows: Vec<String> = entries(op, "responses")
            .map(|(code, r)| {
                let bodies: Vec<String> = entries(r, "content")
                    .map(|(media, c)| {
                        let ty = c.get("schema").map_or("any".into(), |s| type_label(s, 0));
                        format!("<code>{}</code>: {ty}", escape(media))
                    })
                    .collect();
                row(&[
                    &format!("<code>{}</code>", escape(code)),
                    &desc(r),
                    &bodies.join("<br>"),
                ])
            })
            .collect();
        out.push_str("<h4>Responses</h4>");
        out.push_str(&table(&["Status", "Description", "Body"], &rows));
    }
    out + "</section>"
}

/// Renders the complete reference page for an OpenAPI 3.x document.
pub fn render(spec: &Value) -> String {
    let info = spec.get("info").unwrap_or(&NULL);
    let components = spec.get("components").unwrap_or(&NULL);
    let title = escape(str_at(info, "title").unwrap_or("API reference"));
    let mut out = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{CSS}</style></head><body><header><h1>{title}</h1>"
    );
    if let Some(v) = str_at(info, "version") {
        out.push_str(&format!("<p>Version <code>{}</code></p>", escape(v)));
    }
    out.push_str(&desc(info));
    out.push_str(
        "<p class=\"note\">Machine-readable: <a href=\"/api/openapi.json\">/api/openapi.json</a></p></header>",
    );

    // Tag groups follow the spec's top-level `tags` order, then the rest A–Z.
    let ops = collect_ops(spec);
    let mut tags: Vec<&str> = ops.iter().map(|o| o.tag).collect();
    tags.sort_unstable();
    tags.dedup();
    let declared: Vec<&Value> = arr(spec, "tags").iter().collect();
    let position = |t: &str| declared.iter().position(|d| str_at(d, "name") == Some(t));
    tags.sort_by_key(|t| position(t).unwrap_or(usize::MAX));

    out.push_str("<nav><h2>Contents</h2><ul>");
    for tag in &tags {
        out.push_str(&format!(
            "<li><a href=\"#tag-{}\">{}</a><ul>",
            slug(tag),
            escape(tag)
        ));
        for o in ops.iter().filter(|o| o.tag == *tag) {
            let summary = str_at(o.op, "summary").map(escape).unwrap_or_default();
            let (anchor, path) = (escape(&o.anchor), escape(o.path));
            let method = o.method.to_uppercase();
            out.push_str(&format!(
                "<li><a href=\"#{anchor}\"><code>{method} {path}</code></a> {summary}</li>"
            ));
        }
        out.push_str("</ul></li>");
    }
    let schemas: Vec<(&String, &Value)> = entries(components, "schemas").collect();
    if !schemas.is_empty() {
        out.push_str("<li><a href=\"#schemas\">Schemas</a></li>");
    }
    out.push_str("</ul></nav><main>");

    for tag in &tags {
        out.push_str(&format!(
            "<h2 id=\"tag-{}\">{}</h2>",
            slug(tag),
            escape(tag)
        ));
        out.push_str(&position(tag).map(|i| desc(declared[i])).unwrap_or_default());
        for o in ops.iter().filter(|o| o.tag == *tag) {
            out.push_str(&render_op(o));
        }
    }

    let schemes: Vec<(&String, &Value)> = entries(components, "securitySchemes").collect();
    if !schemes.is_empty() {
        out.push_str("<h2 id=\"security\">Authentication</h2><ul>");
        for (name, s) in schemes {
            let detail: Vec<String> = ["type", "scheme", "bearerFormat", "in", "name"]
                .iter()
                .filter_map(|k| str_at(s, k).map(|v| format!("{k}: {}", escape(v))))
                .collect();
            out.push_str(&format!(
                "<li><code>{}</code>: {}{}</li>",
                escape(name),
                detail.join(", "),
                desc(s)
            ));
        }
        out.push_str("</ul>");
    }
    if !schemas.is_empty() {
        out.push_str("<h2 id=\"schemas\">Schemas</h2>");
        for (name, s) in schemas {
            let (id, name) = (slug(name), escape(name));
            let body = desc(s) + &render_schema(s, 0);
            out.push_str(&format!(
                "<section id=\"schema-{id}\"><h3>{name}</h3>{body}</section>"
            ));
        }
    }
    out + "</main></body></html>\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> Value {
        json!({
            "openapi": "3.1.0",
            "info": {"title": "kith", "version": "1.2.3", "description": "Community <commerce>"},
            "tags": [{"name": "users", "description": "People"}, {"name": "posts"}],
            "paths": {
                "/api/v1/posts/{id}": {
                    "parameters": [{"name": "id", "in": "path", "required": true,
                                    "schema": {"type": "string", "format": "uuid"}}],
                    "patch": {
                        "tags": ["posts"], "operationId": "update_post", "summary": "Edit a post",
                        "description": "Nope <script>alert(1)</script>",
                        "requestBody": {"required": true, "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/PostEdit"}}}},
                        "responses": {"200": {"description": "Updated", "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}},
                        "security": [{"bearer": []}]
                    },
                    "get": {"tags": ["posts"], "operationId": "get_post",
                            "responses": {"404": {"description": "Missing"}}}
                },
                "/api/v1/users": {"post": {"tags": ["users"], "responses": {"201": {"description": "Created"}}}}
            },
            "components": {
                "schemas": {
                    "PostEdit": {"type": "object", "required": ["body"], "properties": {
                        "body": {"type": "string", "description": "Markdown"},
                        "kind": {"type": "string", "enum": ["note", "offer"]},
                        "meta": {"type": "object", "properties": {"pinned": {"type": ["boolean", "null"]}}}
                    }},
                    "Node": {"type": "object", "allOf": [{"$ref": "#/components/schemas/PostEdit"}], "properties": {
                        "rank": {"type": ["integer", "null"], "format": "int32"},
                        "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                        "parent": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Node"}]}
                    }}
                },
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
            }
        })
    }

    /// Structural sanity: the fixed skeleton is there and block tags balance.
    fn assert_page(html: &str) {
        assert!(html.starts_with("<!doctype html>") && html.trim_end().ends_with("</html>"));
        assert!(html.contains("<html lang=\"en\">") && html.contains("name=\"viewport\""));
        assert!(html.contains("Machine-readable: <a href=\"/api/openapi.json\">"));
        for tag in ["section", "table", "ul", "nav", "main", "p"] {
            let (open, close) = (format!("<{tag}>"), format!("<{tag} "));
            let opened = html.matches(&open).count() + html.matches(&close).count();
            assert_eq!(
                opened,
                html.matches(&format!("</{tag}>")).count(),
                "unbalanced <{tag}>"
            );
        }
    }

    #[test]
    fn renders_every_operation_and_schema_with_anchors() {
        let html = render(&spec());
        assert_page(&html);
        for id in [
            "update_post",
            "get_post",
            "post-api-v1-users",
            "tag-posts",
            "tag-users",
            "schema-PostEdit",
            "schema-Node",
        ] {
            assert!(
                html.contains(&format!("id=\"{id}\"")),
                "missing anchor {id}"
            );
            assert!(
                html.contains(&format!("href=\"#{id}\"")),
                "nothing links to {id}"
            );
        }
        assert!(html.contains("array of <a href=\"#schema-Node\">Node</a>"));
        assert!(html.contains("<code>&quot;offer&quot;</code>") && html.contains("boolean | null"));
        assert!(
            html.contains("<td><code>pinned</code></td>"),
            "inline object not expanded"
        );
        assert!(
            html.contains("string (uuid)")
                && html.contains("Security: bearer")
                && html.contains("People")
        );
        // Declared tag order (users first); within posts, get before patch.
        let at = |id: &str| html.find(&format!("id=\"{id}\"")).unwrap();
        assert!(at("post-api-v1-users") < at("get_post") && at("get_post") < at("update_post"));
    }

    #[test]
    fn escapes_spec_text() {
        let html = render(&spec());
        assert!(!html.contains("<script"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("Community &lt;commerce&gt;"));
        assert_eq!(escape("&<>\"'"), "&amp;&lt;&gt;&quot;&#39;");
    }

    #[test]
    fn recursive_and_deep_schemas_terminate() {
        let mut deep = json!({"type": "object", "properties": {"leaf": {"type": "string"}}});
        for _ in 0..200 {
            deep = json!({"type": "array", "items": {"type": "object", "properties": {"inner": deep}}});
        }
        let node = spec()["components"]["schemas"]["Node"].clone();
        let html = render(&json!({"components": {"schemas": {"Deep": deep, "Node": node}}}));
        assert_page(&html);
        assert!(html.contains("nested too deeply") && html.contains("id=\"schema-Node\""));
    }

    #[test]
    fn garbage_input_still_yields_a_page() {
        for v in [
            json!(42),
            json!(null),
            json!({}),
            json!({"paths": [1], "info": "x", "tags": {}, "components": {"schemas": 3}}),
            json!({"paths": {"/x": {"parameters": 1, "get": {"tags": [7], "parameters": [null],
                   "requestBody": [], "responses": {"200": 5}, "security": [1]}}}}),
        ] {
            assert_page(&render(&v));
        }
    }
}
