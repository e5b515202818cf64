//! The strings of pictures: the member's avatar page and the console's shop pictures (logo
//! and banner). Read in templates as `c.t.pics().<name>`; a refused upload in words through
//! `c.t.pics().refusal(...)`.

use super::{Strings, ZH};

pub struct Pictures {
    pub avatar_title: &'static str,
    pub avatar_hint: &'static str,
    pub change_avatar: &'static str,
    pub choose_file: &'static str,
    pub upload: &'static str,
    pub remove: &'static str,
    pub none_yet: &'static str,
    pub shop_title: &'static str,
    pub logo: &'static str,
    pub logo_hint: &'static str,
    pub banner: &'static str,
    pub banner_hint: &'static str,
    pub remove_logo: &'static str,
    pub remove_banner: &'static str,
    pub save: &'static str,
    pub view_shop: &'static str,
    /// The upload's bytes are not a JPEG, PNG or WebP image, or not a whole one.
    pub not_an_image: &'static str,
    /// Larger than the 10 MB an upload may be, or more pixels than allowed.
    pub too_large: &'static str,
    /// The image named is not one the person (or the shop's staff) uploaded.
    pub not_yours: &'static str,
    /// Nothing was chosen.
    pub nothing_chosen: &'static str,
    pub product_images: &'static str,
    pub product_images_hint: &'static str,
    pub main_image: &'static str,
    pub set_main: &'static str,
    pub remove_image: &'static str,
    pub upload_image: &'static str,
    /// A product holds its most pictures already.
    pub too_many: &'static str,
}

static PICS_ZH: Pictures = Pictures {
    avatar_title: "我的头像",
    avatar_hint: "支持 JPG、PNG、WEBP 图片，不超过 10 MB；照片中的位置等信息会被去除。",
    change_avatar: "更换头像",
    choose_file: "选择图片",
    upload: "上传头像",
    remove: "移除头像",
    none_yet: "还没有头像，现在显示的是名字的第一个字。",
    shop_title: "店铺形象",
    logo: "店铺标志",
    logo_hint: "正方形图片效果最好，显示在店铺名称旁和店铺列表中。",
    banner: "店铺横幅",
    banner_hint: "宽图（约 3:1），显示在店铺首页顶部。",
    remove_logo: "移除店铺标志",
    remove_banner: "移除店铺横幅",
    save: "保存",
    view_shop: "查看店铺首页",
    not_an_image: "请上传 JPG、PNG 或 WEBP 格式的完整图片",
    too_large: "图片太大：文件不超过 10 MB，每边不超过 8192 像素",
    not_yours: "只能使用自己（或本店员工）上传的图片",
    nothing_chosen: "请先选择一张图片",
    product_images: "商品图片",
    product_images_hint: "最多 10 张：第一张是主图，显示在商品页、列表和分享预览中。",
    main_image: "主图",
    set_main: "设为主图",
    remove_image: "删除这张",
    upload_image: "上传图片",
    too_many: "最多 10 张图片，请先删除一张",
};

static PICS_EN: Pictures = Pictures {
    avatar_title: "My picture",
    avatar_hint: "A JPG, PNG or WebP image up to 10 MB; where a photo was taken and similar details are removed.",
    change_avatar: "Change picture",
    choose_file: "Choose an image",
    upload: "Upload",
    remove: "Remove picture",
    none_yet: "No picture yet: the first character of your name shows instead.",
    shop_title: "Shop look",
    logo: "Logo",
    logo_hint: "Square works best; shown beside the shop's name and in shop lists.",
    banner: "Banner",
    banner_hint: "A wide image (about 3:1) across the top of the shop's page.",
    remove_logo: "Remove the logo",
    remove_banner: "Remove the banner",
    save: "Save",
    view_shop: "See the shop's page",
    not_an_image: "Upload a whole JPG, PNG or WebP image",
    too_large: "The image is too large: at most 10 MB and 8192 pixels a side",
    not_yours: "Only an image you (or the shop's staff) uploaded can be used",
    nothing_chosen: "Choose an image first",
    product_images: "Product pictures",
    product_images_hint: "Up to 10: the first is the main picture, shown on the product's page, in lists and in link previews.",
    main_image: "Main",
    set_main: "Make it the main picture",
    remove_image: "Remove this one",
    upload_image: "Upload a picture",
    too_many: "At most 10 pictures: remove one first",
};

impl Pictures {
    /// A refused upload or picture in words, from the use case's field and message.
    pub fn refusal(&self, field: &str, message: &str) -> &'static str {
        if field.ends_with("media_id") || field.starts_with("images[") {
            self.not_yours
        } else if field == "images" {
            self.too_many
        } else if message.contains("at most")
            || message.contains("too much")
            || message.contains("limit")
        {
            self.too_large
        } else {
            self.not_an_image
        }
    }
}

impl Strings {
    /// The pictures' strings of this language.
    pub fn pics(&self) -> &'static Pictures {
        if std::ptr::eq(self, &ZH) {
            &PICS_ZH
        } else {
            &PICS_EN
        }
    }
}
