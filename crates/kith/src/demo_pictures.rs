//! The demo's pictures, drawn here when the demo is built: nothing is downloaded and no
//! image file ships in the repository. Each product gets a 480×480 PNG — a soft
//! two-colour backdrop, a floor shadow and a silhouette of what it is (a bottle, a box, a
//! jar, a fruit) in colours taken from its SKU code, so every product looks different and
//! the same product looks the same on every run. Each shop gets a logo (a badge: a ring
//! around an emblem, [`logo_png`]) and a 3:1 banner (a landscape of rolling hills under a
//! sun, [`banner_png`]), and demo members an avatar (a head-and-shoulders silhouette,
//! [`avatar_png`]), all in colours taken from the name.

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

/// Side of a logo in pixels.
pub const LOGO_SIDE: u32 = 240;
/// A banner's size in pixels (3:1).
pub const BANNER_SIZE: (u32, u32) = (960, 320);
/// Side of an avatar in pixels.
pub const AVATAR_SIDE: u32 = 160;

/// A `w`×`h` PNG whose pixel at (x, y) — each 0–1 of its side — is `paint`'s colour.
fn png(w: u32, h: u32, paint: impl Fn(f32, f32) -> [f32; 3]) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| {
        let c = paint(x as f32 / w as f32, y as f32 / h as f32);
        Rgb(c.map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8))
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png)
        .expect("encoding a PNG in memory cannot fail");
    out.into_inner()
}

/// How much a pixel at signed distance `d` (picture units, negative inside) is inside,
/// with a one-pixel soft edge for a picture `side` pixels across.
fn soft(d: f32, side: u32) -> f32 {
    (0.5 - d * side as f32).clamp(0.0, 1.0)
}

/// The shop `name`'s logo: a badge in the shop's colour — a diagonal gradient, a white
/// ring, and inside it one of four emblems (a drop, a leaf, a diamond, a sun) picked by
/// the name.
pub fn logo_png(name: &str) -> Vec<u8> {
    let h = fnv(name);
    let hue = (h % 360) as f32;
    let (a, b) = (hsl(hue, 0.65, 0.42), hsl((hue + 35.0) % 360.0, 0.7, 0.55));
    let white = [1.0, 1.0, 1.0];
    let emblem = (h >> 10) % 4;
    png(LOGO_SIDE, LOGO_SIDE, |x, y| {
        let mut c = mix(a, b, (x + y) / 2.0);
        let r = ((x - 0.5).powi(2) + (y - 0.5).powi(2)).sqrt();
        // The ring: between radii 0.33 and 0.38.
        let ring = (r - 0.355).abs() - 0.025;
        c = mix(c, white, soft(ring, LOGO_SIDE));
        let d = match emblem {
            0 => ellipse(x, y, 0.5, 0.55, 0.13, 0.15).min(ellipse(x, y, 0.5, 0.4, 0.05, 0.12)),
            1 => ellipse(x, y, 0.5, 0.5, 0.09, 0.2),
            2 => ((x - 0.5).abs() + (y - 0.5).abs()) * 0.7 - 0.12,
            _ => r - 0.13,
        };
        mix(c, white, 0.92 * soft(d, LOGO_SIDE))
    })
}

/// The shop `name`'s banner: a sky in the shop's colour over three rolling hills, nearer
/// ones darker, and a pale sun.
pub fn banner_png(name: &str) -> Vec<u8> {
    let h = fnv(name);
    let hue = (h % 360) as f32;
    let (w, ht) = BANNER_SIZE;
    let sky_top = hsl(hue, 0.55, 0.86);
    let sky_low = hsl((hue + 20.0) % 360.0, 0.6, 0.95);
    let sun_x = 0.15 + (h >> 8) as f32 % 70.0 / 100.0;
    let phase = (h >> 4) as f32 % std::f32::consts::TAU;
    png(w, ht, |x, y| {
        let mut c = mix(sky_top, sky_low, y * 1.4);
        // The sun: a circle, round on the 3:1 picture.
        let sun = (((x - sun_x) * 3.0).powi(2) + (y - 0.3).powi(2)).sqrt() - 0.13;
        c = mix(c, [1.0, 0.97, 0.85], 0.9 * soft(sun / 3.0, w));
        for (i, (base, amp, freq)) in [(0.55, 0.08, 5.0), (0.68, 0.07, 7.5), (0.82, 0.05, 11.0)]
            .into_iter()
            .enumerate()
        {
            let top = base + amp * (x * freq + phase + i as f32 * 1.7).sin();
            let hill = hsl(
                (hue + 150.0 + 12.0 * i as f32) % 360.0,
                0.4,
                0.55 - 0.12 * i as f32,
            );
            c = mix(c, hill, soft((top - y) / 3.0, w));
        }
        c
    })
}

/// The member `name`'s avatar: a head and shoulders in a light colour on a backdrop in
/// the name's colour.
pub fn avatar_png(name: &str) -> Vec<u8> {
    let h = fnv(name);
    let hue = (h % 360) as f32;
    let (a, b) = (hsl(hue, 0.5, 0.5), hsl((hue + 25.0) % 360.0, 0.55, 0.38));
    let figure = hsl((hue + 180.0) % 360.0, 0.25, 0.92);
    png(AVATAR_SIDE, AVATAR_SIDE, |x, y| {
        let c = mix(a, b, y);
        let head = ellipse(x, y, 0.5, 0.4, 0.17, 0.19);
        let shoulders = ellipse(x, y, 0.5, 1.02, 0.36, 0.3);
        mix(c, figure, soft(head.min(shoulders), AVATAR_SIDE))
    })
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

    #[test]
    fn logos_banners_and_avatars_are_pngs_of_their_sizes_by_name() {
        for (png, (w, h)) in [
            (logo_png("云岭鲜果"), (LOGO_SIDE, LOGO_SIDE)),
            (banner_png("云岭鲜果"), BANNER_SIZE),
            (avatar_png("王芳"), (AVATAR_SIDE, AVATAR_SIDE)),
        ] {
            let img = image::load_from_memory(&png).unwrap();
            assert_eq!((img.width(), img.height()), (w, h));
            let rgb = img.to_rgb8();
            // Not one flat colour: the middle differs from a corner.
            assert_ne!(rgb.get_pixel(w / 2, h / 2), rgb.get_pixel(2, 2));
        }
        assert_ne!(logo_png("云岭鲜果"), logo_png("母婴优选"));
        assert_eq!(avatar_png("王芳"), avatar_png("王芳"));
        assert_ne!(avatar_png("王芳"), avatar_png("李娜"));
    }
}
