//! The demo's product pictures, drawn here when the demo is built: nothing is downloaded
//! and no image file ships in the repository. Each product gets a 480×480 PNG — a soft
//! two-colour backdrop, a floor shadow and a silhouette of what it is (a bottle, a box, a
//! jar, a fruit) in colours taken from its SKU code, so every product looks different and
//! the same product looks the same on every run.

use image::{ImageFormat, Rgb, RgbImage};

/// Side of a picture in pixels.
const SIDE: u32 = 480;

/// What a product looks like, roughly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Bottle,
    Box,
    Jar,
    Fruit,
}

impl Shape {
    /// The shape of the product with SKU `code` in the demo's catalogue.
    pub fn of(code: &str) -> Self {
        let is = |prefix: &str| code.starts_with(prefix);
        if is("JX") {
            Self::Bottle
        } else if is("DIAPER") {
            Self::Box
        } else if is("RICE") || is("FOLIC") {
            Self::Jar
        } else {
            Self::Fruit
        }
    }
}

/// A PNG picture of the product with SKU `code`.
pub fn product_png(code: &str) -> Vec<u8> {
    let h = fnv(code);
    let hue = (h % 360) as f32;
    let top = hsl(hue, 0.55, 0.93);
    let bottom = hsl(hue, 0.45, 0.82);
    let body = hsl((hue + 180.0 + (h >> 9) as f32 % 40.0) % 360.0, 0.6, 0.45);
    let accent = hsl(hue, 0.7, 0.96);
    let shape = Shape::of(code);
    let img = RgbImage::from_fn(SIDE, SIDE, |x, y| {
        let (fx, fy) = (x as f32 / SIDE as f32, y as f32 / SIDE as f32);
        let mut c = mix(top, bottom, fy);
        // A soft shadow on the floor under the thing.
        let shadow = ((fx - 0.5) / 0.28).powi(2) + ((fy - 0.86) / 0.045).powi(2);
        if shadow < 1.0 {
            c = mix(c, [0.0, 0.0, 0.0], 0.18 * (1.0 - shadow));
        }
        let inside = coverage(shape, fx, fy);
        if inside > 0.0 {
            // Lit from the upper left: lighter on that side.
            let light = (0.5 - fx) * 0.35 + (0.5 - fy) * 0.15;
            let shaded = mix(
                body,
                if light > 0.0 { accent } else { [0.0; 3] },
                light.abs(),
            );
            c = mix(c, shaded, inside);
            // A highlight stripe.
            if highlight(shape, fx, fy) {
                c = mix(c, accent, 0.45 * inside);
            }
        }
        Rgb(c.map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8))
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png)
        .expect("encoding a PNG in memory cannot fail");
    out.into_inner()
}

/// How much of the pixel at (x, y) (0–1 each) the silhouette covers, 0–1, with a soft
/// edge so the outline is not jagged.
fn coverage(shape: Shape, x: f32, y: f32) -> f32 {
    let d = match shape {
        Shape::Bottle => {
            let body = rounded_rect(x, y, 0.5, 0.6, 0.14, 0.24, 0.05);
            let shoulder = ellipse(x, y, 0.5, 0.37, 0.14, 0.08);
            let neck = rounded_rect(x, y, 0.5, 0.24, 0.045, 0.1, 0.01);
            body.min(shoulder).min(neck)
        }
        Shape::Box => rounded_rect(x, y, 0.5, 0.55, 0.26, 0.28, 0.03),
        Shape::Jar => {
            let body = rounded_rect(x, y, 0.5, 0.6, 0.2, 0.23, 0.08);
            let lid = rounded_rect(x, y, 0.5, 0.33, 0.17, 0.05, 0.02);
            body.min(lid)
        }
        Shape::Fruit => {
            let fruit = ellipse(x, y, 0.5, 0.56, 0.27, 0.26);
            let leaf = ellipse(x, y, 0.57, 0.26, 0.07, 0.03);
            fruit.min(leaf)
        }
    };
    // `d` is a signed distance in picture units: negative inside.
    (0.5 - d * SIDE as f32).clamp(0.0, 1.0)
}

/// Whether (x, y) is on the silhouette's highlight stripe.
fn highlight(shape: Shape, x: f32, y: f32) -> bool {
    match shape {
        Shape::Fruit => ellipse(x, y, 0.41, 0.45, 0.05, 0.08) < 0.0,
        _ => (0.4..0.43).contains(&x) && (0.42..0.75).contains(&y),
    }
}

/// Signed distance (approximate) to an axis-aligned rectangle centred at (cx, cy) with
/// half-sizes (hw, hh) and corner radius r.
fn rounded_rect(x: f32, y: f32, cx: f32, cy: f32, hw: f32, hh: f32, r: f32) -> f32 {
    let qx = (x - cx).abs() - (hw - r);
    let qy = (y - cy).abs() - (hh - r);
    let outside = (qx.max(0.0).powi(2) + qy.max(0.0).powi(2)).sqrt();
    outside + qx.max(qy).min(0.0) - r
}

/// Signed distance (approximate) to an ellipse centred at (cx, cy) with radii (rx, ry).
fn ellipse(x: f32, y: f32, cx: f32, cy: f32, rx: f32, ry: f32) -> f32 {
    let k = (((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2)).sqrt();
    (k - 1.0) * rx.min(ry)
}

fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    let t = t.clamp(0.0, 1.0);
    [0, 1, 2].map(|i| a[i] + (b[i] - a[i]) * t)
}

/// An HSL colour (hue in degrees) as linear-ish RGB in 0–1.
fn hsl(h: f32, s: f32, l: f32) -> [f32; 3] {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let hp = h / 60.0;
    let x = c * (1.0 - (hp % 2.0 - 1.0).abs());
    let (r, g, b) = match hp as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    [r + m, g + m, b + m]
}

/// FNV-1a: a stable hash of the code (the same picture on every run and machine).
fn fnv(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_pngs_that_differ_by_product_and_repeat_by_code() {
        let a = product_png("JX15-500");
        let b = product_png("ORANGE-5");
        assert_eq!(&a[..8], b"\x89PNG\r\n\x1a\n");
        assert_ne!(a, b);
        assert_eq!(a, product_png("JX15-500"));
        let img = image::load_from_memory(&b).unwrap();
        assert_eq!((img.width(), img.height()), (SIDE, SIDE));
        // The middle is the fruit, the corner the backdrop: not one flat colour.
        let rgb = img.to_rgb8();
        assert_ne!(rgb.get_pixel(240, 270), rgb.get_pixel(5, 5));
        assert_eq!(Shape::of("JX15-500"), Shape::Bottle);
        assert_eq!(Shape::of("JX-MINI"), Shape::Bottle);
        assert_eq!(Shape::of("DIAPER-M"), Shape::Box);
        assert_eq!(Shape::of("ORANGE-5"), Shape::Fruit);
    }
}
