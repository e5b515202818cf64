//! Charts drawn on the server as inline SVG: horizontal bars, a line over time, and a
//! funnel. No script, no external asset and no `style` attribute (the CSP allows none):
//! only SVG presentation attributes, and classes that `kith.css` may style.
//!
//! Every chart carries a `<title>` that says its figures in words, every label and title is
//! escaped, sizes follow the data (one row per bar, the longest label sets the margin), and
//! data that cannot be drawn (nothing, NaN, infinities, negatives where lengths are meant)
//! never panics or writes `NaN` into the document: an empty chart is a "no data yet" text.

use std::fmt::{self, Write};

/// Width of every chart's coordinate system; the SVG scales to its container.
pub const WIDTH: f64 = 600.0;
const ROW: f64 = 28.0;
const BAR: f64 = 18.0;
const PAD: f64 = 8.0;
const FONT: f64 = 13.0;
const ACCENT: &str = "#c8102e";
const MUTED: &str = "#6e6e73";
const LINE: &str = "#e5e5ea";

/// A finished chart: SVG markup, to be written into a page unescaped (`{{ chart|safe }}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Svg(pub String);

impl fmt::Display for Svg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One bar (or funnel step, or point): what it is called, its value, and the value as the
/// page should print it (`¥12.00`, `35 %`, `4`).
#[derive(Debug, Clone)]
pub struct Datum {
    pub label: String,
    pub value: f64,
    pub shown: String,
}

impl Datum {
    pub fn new(label: impl Into<String>, value: f64, shown: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            value,
            shown: shown.into(),
        }
    }

    /// A whole number, shown as itself.
    pub fn count(label: impl Into<String>, n: i64) -> Self {
        Self::new(label, n as f64, n.to_string())
    }
}

/// Escapes text for SVG/HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// A drawable length: finite and not negative, else 0.
fn clean(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 { v } else { 0.0 }
}

/// A number as SVG wants it: finite, one decimal.
fn n(v: f64) -> String {
    let v = if v.is_finite() { v } else { 0.0 };
    format!("{:.1}", (v * 10.0).round() / 10.0)
}

/// Roughly how wide a text is in the chart's units: CJK characters are about twice as wide
/// as Latin ones.
fn text_width(s: &str) -> f64 {
    s.chars()
        .map(|c| if (c as u32) < 0x2E80 { 0.6 } else { 1.05 })
        .sum::<f64>()
        * FONT
}

/// Cuts a label to at most `max` characters, with an ellipsis.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn open(out: &mut String, class: &str, height: f64, title: &str) {
    let _ = write!(
        out,
        r#"<svg class="chart {class}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" role="img" font-size="{FONT}" font-family="sans-serif"><title>{t}</title>"#,
        w = n(WIDTH),
        h = n(height),
        t = esc(title),
    );
}

/// The "no data yet" chart: a short text instead of marks.
pub fn empty(class: &str, title: &str, no_data: &str) -> Svg {
    let mut out = String::new();
    open(&mut out, &format!("{class} empty"), 40.0, title);
    let _ = write!(
        out,
        r#"<text class="no-data" x="{x}" y="24" text-anchor="middle" fill="{MUTED}">{t}</text></svg>"#,
        x = n(WIDTH / 2.0),
        t = esc(no_data),
    );
    Svg(out)
}

/// The words a chart's `<title>` says: "title: a 3, b 4".
fn summary(title: &str, data: &[Datum]) -> String {
    let parts: Vec<String> = data
        .iter()
        .map(|d| format!("{} {}", d.label, d.shown))
        .collect();
    format!("{title}: {}", parts.join(", "))
}

/// Horizontal bars, one row each, longest for the largest value. Empty data, or data whose
/// values are all unusable, draws the "no data" text.
pub fn bars(title: &str, data: &[Datum], no_data: &str) -> Svg {
    if data.is_empty() || data.iter().all(|d| !d.value.is_finite()) {
        return empty("bars", title, no_data);
    }
    let labels: Vec<String> = data.iter().map(|d| cut(&d.label, 16)).collect();
    let label_w = labels
        .iter()
        .map(|l| text_width(l))
        .fold(0.0, f64::max)
        .clamp(40.0, 220.0)
        + PAD;
    let value_w = data
        .iter()
        .map(|d| text_width(&d.shown))
        .fold(0.0, f64::max)
        .clamp(30.0, 140.0)
        + PAD;
    let plot = (WIDTH - label_w - value_w - PAD).max(40.0);
    let max = data.iter().map(|d| clean(d.value)).fold(0.0, f64::max);
    let height = PAD * 2.0 + ROW * data.len() as f64;
    let mut out = String::new();
    open(&mut out, "bars", height, &summary(title, data));
    for (i, (d, label)) in data.iter().zip(&labels).enumerate() {
        let y = PAD + ROW * i as f64;
        let len = if max > 0.0 {
            clean(d.value) / max * plot
        } else {
            0.0
        };
        let mid = y + BAR / 2.0 + FONT * 0.35;
        let _ = write!(
            out,
            r#"<g class="bar"><title>{lt} {st}</title><text x="{lx}" y="{ty}" text-anchor="end" fill="currentColor">{l}</text><rect x="{x}" y="{y}" width="{w}" height="{BAR}" rx="3" fill="{ACCENT}"/><text class="value" x="{vx}" y="{ty}" fill="{MUTED}">{s}</text></g>"#,
            lt = esc(&d.label),
            st = esc(&d.shown),
            lx = n(label_w - PAD),
            ty = n(mid),
            l = esc(label),
            x = n(label_w),
            y = n(y),
            w = n(len),
            vx = n(label_w + len + 4.0),
            s = esc(&d.shown),
        );
    }
    out.push_str("</svg>");
    Svg(out)
}

/// A line over time (oldest first): the points joined, the first and last labels under the
/// axis, the lowest and highest value beside it. The value axis spans the data's range (a
/// flat series is drawn at mid height).
pub fn line(title: &str, data: &[Datum], no_data: &str) -> Svg {
    let points: Vec<&Datum> = data.iter().filter(|d| d.value.is_finite()).collect();
    if points.is_empty() {
        return empty("line", title, no_data);
    }
    let (h, left, right, top, bottom) = (200.0, 56.0, 16.0, 12.0, 28.0);
    let plot_w = WIDTH - left - right;
    let plot_h = h - top - bottom;
    let lo = points.iter().map(|d| d.value).fold(f64::INFINITY, f64::min);
    let hi = points
        .iter()
        .map(|d| d.value)
        .fold(f64::NEG_INFINITY, f64::max);
    let span = hi - lo;
    let x_of = |i: usize| {
        if points.len() == 1 {
            left + plot_w / 2.0
        } else {
            left + plot_w * i as f64 / (points.len() - 1) as f64
        }
    };
    let y_of = |v: f64| {
        if span > 0.0 && span.is_finite() {
            top + plot_h * (1.0 - (v - lo) / span)
        } else {
            top + plot_h / 2.0
        }
    };
    let mut out = String::new();
    let first = points[0];
    let last = points[points.len() - 1];
    let t = format!(
        "{title}: {} {} → {} {}",
        first.label, first.shown, last.label, last.shown
    );
    open(&mut out, "line", h, &t);
    let _ = write!(
        out,
        r#"<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="{LINE}"/><line x1="{l}" y1="{tp}" x2="{l}" y2="{b}" stroke="{LINE}"/>"#,
        l = n(left),
        r = n(WIDTH - right),
        b = n(top + plot_h),
        tp = n(top),
    );
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, d)| format!("{},{}", n(x_of(i)), n(y_of(d.value))))
        .collect();
    let _ = write!(
        out,
        r#"<polyline points="{}" fill="none" stroke="{ACCENT}" stroke-width="2"/>"#,
        path.join(" ")
    );
    for (i, d) in points.iter().enumerate() {
        let _ = write!(
            out,
            r#"<circle cx="{x}" cy="{y}" r="3" fill="{ACCENT}"><title>{l} {s}</title></circle>"#,
            x = n(x_of(i)),
            y = n(y_of(d.value)),
            l = esc(&d.label),
            s = esc(&d.shown),
        );
    }
    let (lo_s, hi_s) = points.iter().fold((first, first), |(a, b), d| {
        (
            if d.value < a.value { d } else { a },
            if d.value > b.value { d } else { b },
        )
    });
    let _ = write!(
        out,
        r#"<text x="{x}" y="{yh}" text-anchor="end" fill="{MUTED}">{hs}</text><text x="{x}" y="{yl}" text-anchor="end" fill="{MUTED}">{ls}</text>"#,
        x = n(left - 6.0),
        yh = n(y_of(hi_s.value) + 4.0),
        yl = n(y_of(lo_s.value) + 4.0),
        hs = esc(&hi_s.shown),
        ls = esc(&lo_s.shown),
    );
    let _ = write!(
        out,
        r#"<text x="{x0}" y="{y}" fill="{MUTED}">{a}</text><text x="{x1}" y="{y}" text-anchor="end" fill="{MUTED}">{b}</text></svg>"#,
        x0 = n(left),
        x1 = n(WIDTH - right),
        y = n(h - 8.0),
        a = esc(&first.label),
        b = esc(&last.label),
    );
    Svg(out)
}

/// A funnel: one centred bar per step, as wide as its value against the first (widest)
/// step, with the step's value and its conversion from the step before.
pub fn funnel(title: &str, steps: &[Datum], no_data: &str) -> Svg {
    let max = steps.iter().map(|d| clean(d.value)).fold(0.0, f64::max);
    if steps.is_empty() || max <= 0.0 {
        return empty("funnel", title, no_data);
    }
    let row = 40.0;
    let height = PAD * 2.0 + row * steps.len() as f64;
    let plot = WIDTH - 2.0 * PAD;
    let mut out = String::new();
    open(&mut out, "funnel", height, &summary(title, steps));
    let mut prev: Option<f64> = None;
    for (i, d) in steps.iter().enumerate() {
        let v = clean(d.value);
        let w = (v / max * plot).max(2.0);
        let x = PAD + (plot - w) / 2.0;
        let y = PAD + row * i as f64;
        let conv = match prev {
            Some(p) if p > 0.0 => format!(" ({:.0} %)", v / p * 100.0),
            Some(_) => " (—)".to_owned(),
            None => String::new(),
        };
        prev = Some(v);
        let _ = write!(
            out,
            r#"<g class="step"><rect x="{x}" y="{y}" width="{w}" height="{hh}" rx="4" fill="{ACCENT}" fill-opacity="{op}" stroke="{ACCENT}"/><text x="{cx}" y="{ty}" text-anchor="middle" fill="currentColor">{l} {s}{c}</text></g>"#,
            x = n(x),
            y = n(y),
            w = n(w),
            hh = n(row - 8.0),
            // Light fills, so the step's words on top stay readable.
            op = n((0.3 - 0.05 * i as f64).max(0.1)),
            cx = n(WIDTH / 2.0),
            ty = n(y + (row - 8.0) / 2.0 + FONT * 0.35),
            l = esc(&d.label),
            s = esc(&d.shown),
            c = esc(&conv),
        );
    }
    out.push_str("</svg>");
    Svg(out)
}

/// A drawn fission tree ([`kith_app::insight::FissionTree::drawn`], in depth-first order)
/// as nested lists that `kith.css` connects with lines: each person's name with how many
/// they brought, their children below, and "N more" where the tree leaves people out
/// (`more(n)` words it; `brought(n)` words a count of people brought). HTML, not SVG: a
/// tree's width follows its names, and the lists read in order without a picture.
pub fn tree(
    nodes: &[kith_app::insight::TreeNode],
    more_roots: i64,
    more: impl Fn(i64) -> String,
    brought: impl Fn(i64) -> String,
    empty: &str,
) -> Svg {
    fn level(
        nodes: &[kith_app::insight::TreeNode],
        at: &mut usize,
        depth: i64,
        out: &mut String,
        words: (&dyn Fn(i64) -> String, &dyn Fn(i64) -> String),
    ) {
        while let Some(n) = nodes.get(*at).filter(|n| n.depth == depth) {
            *at += 1;
            let _ = write!(out, "<li><span class=\"node\">{}", esc(&n.display_name));
            if n.invited > 0 {
                let _ = write!(out, " <small>{}</small>", esc(&(words.1)(n.invited)));
            }
            out.push_str("</span>");
            let has_children = nodes.get(*at).is_some_and(|c| c.depth == depth + 1);
            if has_children || n.more > 0 {
                out.push_str("<ul>");
                level(nodes, at, depth + 1, out, words);
                if n.more > 0 {
                    let _ = write!(out, "<li class=\"more\">{}</li>", esc(&(words.0)(n.more)));
                }
                out.push_str("</ul>");
            }
            out.push_str("</li>");
        }
    }
    if nodes.is_empty() && more_roots == 0 {
        return Svg(format!("<p class=\"muted\">{}</p>", esc(empty)));
    }
    let mut out = String::from("<ul class=\"tree\">");
    let mut at = 0;
    level(nodes, &mut at, 0, &mut out, (&more, &brought));
    if more_roots > 0 {
        let _ = write!(out, "<li class=\"more\">{}</li>", esc(&more(more_roots)));
    }
    out.push_str("</ul>");
    Svg(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `width` of each bar's `<rect>`, in order.
    fn widths(svg: &str) -> Vec<f64> {
        svg.split("<rect ")
            .skip(1)
            .map(|r| {
                let at = r.find(" width=\"").unwrap() + 8;
                r[at..].split('"').next().unwrap().parse().unwrap()
            })
            .collect()
    }

    #[test]
    fn bars_are_as_long_as_their_values() {
        let s = bars(
            "GMV",
            &[
                Datum::count("a", 10),
                Datum::count("b", 5),
                Datum::count("c", 0),
            ],
            "none",
        )
        .0;
        let w = widths(&s);
        assert_eq!(w.len(), 3);
        assert!(w[0] > 100.0);
        assert!((w[1] - w[0] / 2.0).abs() <= 0.1, "{w:?}");
        assert_eq!(w[2], 0.0);
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert!(s.contains("<title>GMV: a 10, b 5, c 0</title>"));
        // One row per bar: the height grows with the data.
        let two = bars("x", &[Datum::count("a", 1), Datum::count("b", 2)], "").0;
        let five: Vec<Datum> = (0..5).map(|i| Datum::count(format!("{i}"), i)).collect();
        let five = bars("x", &five, "").0;
        assert!(two.contains(r#"viewBox="0 0 600.0 72.0""#), "{two}");
        assert!(five.contains(r#"viewBox="0 0 600.0 156.0""#), "{five}");
    }

    #[test]
    fn labels_and_titles_are_escaped() {
        let evil = r#"<script>alert("x")</script>&'"#;
        for s in [
            bars(evil, &[Datum::new(evil, 1.0, evil)], evil).0,
            line(evil, &[Datum::new(evil, 1.0, evil)], evil).0,
            funnel(evil, &[Datum::new(evil, 1.0, evil)], evil).0,
            bars(evil, &[], evil).0,
        ] {
            assert!(!s.contains("<script"), "{s}");
            assert!(!s.contains("alert(\"x\")"), "{s}");
            assert!(s.contains("&lt;script&gt;alert(&quot;x&quot;)"), "{s}");
            assert!(!s.contains("style="), "{s}");
        }
    }

    #[test]
    fn empty_and_broken_data_never_draw_nan() {
        let nan = [
            Datum::new("a", f64::NAN, "?"),
            Datum::new("b", f64::INFINITY, "∞"),
        ];
        for s in [
            bars("t", &[], "还没有数据"),
            line("t", &[], "还没有数据"),
            funnel("t", &[], "还没有数据"),
            bars("t", &nan, "还没有数据"),
            line("t", &nan, "还没有数据"),
            funnel("t", &nan, "还没有数据"),
            funnel("t", &[Datum::count("a", 0)], "还没有数据"),
        ] {
            assert!(s.0.contains("还没有数据"), "{s}");
            assert!(!s.0.contains("NaN") && !s.0.contains("inf"), "{s}");
        }
        // Mixed: unusable values are drawn as nothing, never NaN.
        let s = bars(
            "t",
            &[
                Datum::new("a", f64::NAN, "?"),
                Datum::count("b", 3),
                Datum::new("c", -2.0, "-2"),
            ],
            "",
        )
        .0;
        assert_eq!(widths(&s)[0], 0.0);
        assert_eq!(widths(&s)[2], 0.0);
        assert!(!s.contains("NaN"));
        // All zero: bars of no length, no division by zero.
        let z = bars("t", &[Datum::count("a", 0), Datum::count("b", 0)], "").0;
        assert_eq!(widths(&z), vec![0.0, 0.0]);
    }

    #[test]
    fn line_spans_the_data_and_flat_lines_sit_in_the_middle() {
        let pts: Vec<Datum> = [3, 5, 4]
            .iter()
            .enumerate()
            .map(|(i, v)| Datum::count(format!("d{i}"), *v))
            .collect();
        let s = line("pool", &pts, "").0;
        // Highest point at the top of the plot, lowest at the bottom.
        assert!(
            s.contains(r#"points="56.0,172.0 320.0,12.0 584.0,92.0""#),
            "{s}"
        );
        assert!(s.contains("<title>pool: d0 3 → d2 4</title>"));
        let flat = line("p", &[Datum::count("a", 7), Datum::count("b", 7)], "").0;
        assert!(flat.contains(r#"points="56.0,92.0 584.0,92.0""#), "{flat}");
        let one = line("p", &[Datum::count("a", 7)], "").0;
        assert!(one.contains(r#"points="320.0,92.0""#), "{one}");
    }

    #[test]
    fn funnel_steps_narrow_with_their_values() {
        let s = funnel(
            "f",
            &[
                Datum::count("visits", 10),
                Datum::count("signups", 5),
                Datum::count("orders", 0),
            ],
            "",
        )
        .0;
        let w = widths(&s);
        assert_eq!(w[0], 584.0);
        assert_eq!(w[1], 292.0);
        assert_eq!(w[2], 2.0, "a zero step is a sliver, still visible");
        assert!(s.contains("signups 5 (50 %)"), "{s}");
        assert!(s.contains("orders 0 (0 %)"), "{s}");
    }

    #[test]
    fn long_labels_are_cut() {
        let long = "很长很长很长很长很长很长很长很长很长很长的名字";
        let s = bars("t", &[Datum::count(long, 1)], "").0;
        assert!(s.contains("很长很长很长很长很长很长很长很…"), "{s}");
        // The full label stays in the bar's title.
        assert!(s.contains(&format!("<title>{long} 1</title>")));
    }

    #[test]
    fn a_tree_nests_children_and_counts_the_rest() {
        use kith_app::insight::TreeNode;
        let node = |name: &str, depth: i64, invited: i64, more: i64| TreeNode {
            account_id: kith_app::platform::ids::AccountId::new(),
            display_name: name.to_owned(),
            depth,
            invited,
            descendants: invited,
            more,
        };
        let nodes = [
            node("阿美<", 0, 3, 1),
            node("一号", 1, 1, 0),
            node("二号", 2, 0, 0),
            node("三号", 1, 0, 0),
            node("独行", 0, 0, 0),
        ];
        let t = tree(
            &nodes,
            2,
            |n| format!("还有 {n} 人"),
            |n| format!("带来 {n} 人"),
            "无",
        );
        assert_eq!(
            t.0,
            "<ul class=\"tree\"><li><span class=\"node\">阿美&lt; <small>带来 3 人</small></span><ul>\
             <li><span class=\"node\">一号 <small>带来 1 人</small></span><ul><li><span class=\"node\">二号</span></li></ul></li>\
             <li><span class=\"node\">三号</span></li><li class=\"more\">还有 1 人</li></ul></li>\
             <li><span class=\"node\">独行</span></li><li class=\"more\">还有 2 人</li></ul>"
        );
        assert_eq!(
            tree(&[], 0, |_| String::new(), |_| String::new(), "无").0,
            "<p class=\"muted\">无</p>"
        );
    }
}
