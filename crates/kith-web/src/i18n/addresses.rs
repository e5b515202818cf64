//! The strings of the address book (收货地址), the region picker and the pickup store on an
//! order. Read in templates as `c.t.addr().<name>`; a refused field in words through
//! `c.t.addr_refusal(field)`.

use super::{Strings, ZH};

pub struct Addresses {
    pub title: &'static str,
    pub none: &'static str,
    pub add: &'static str,
    pub edit: &'static str,
    pub edit_title: &'static str,
    pub save: &'static str,
    pub delete: &'static str,
    pub default_badge: &'static str,
    pub make_default: &'static str,
    pub set_default: &'static str,
    pub pick_province: &'static str,
    pub pick_city: &'static str,
    pub pick_district: &'static str,
    pub limit: &'static str,
    pub saved_choice: &'static str,
    pub new_address: &'static str,
    pub manage: &'static str,
    pub pickup_store: &'static str,
    pub store_hours: &'static str,
    pub store_phone: &'static str,
    pub pickup_qr_hint: &'static str,
    pub weekdays: [&'static str; 7],
}

static ADDR_ZH: Addresses = Addresses {
    title: "收货地址",
    none: "还没有收货地址：新增一个，下单时就不用再填写了。",
    add: "新增地址",
    edit: "编辑",
    edit_title: "编辑收货地址",
    save: "保存地址",
    delete: "删除",
    default_badge: "默认",
    make_default: "设为默认地址",
    set_default: "设为默认",
    pick_province: "请选择省份",
    pick_city: "请选择城市",
    pick_district: "请选择区县",
    limit: "最多保存 20 个收货地址，请先删除不用的地址",
    saved_choice: "选择收货地址",
    new_address: "使用新地址",
    manage: "管理收货地址",
    pickup_store: "自提门店",
    store_hours: "营业时间",
    store_phone: "门店电话",
    pickup_qr_hint: "到店出示此二维码，店员扫码即可核销",
    weekdays: ["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
};

static ADDR_EN: Addresses = Addresses {
    title: "Addresses",
    none: "No saved addresses yet: add one and checkout fills it in for you.",
    add: "Add an address",
    edit: "Edit",
    edit_title: "Edit the address",
    save: "Save the address",
    delete: "Delete",
    default_badge: "Default",
    make_default: "Make it my default address",
    set_default: "Make default",
    pick_province: "Choose a province",
    pick_city: "Choose a city",
    pick_district: "Choose a district",
    limit: "At most 20 addresses: delete one you no longer use first",
    saved_choice: "Ship to",
    new_address: "A new address",
    manage: "Manage addresses",
    pickup_store: "Pickup store",
    store_hours: "Opening hours",
    store_phone: "Store phone",
    pickup_qr_hint: "Show this code at the store; the clerk scans it",
    weekdays: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
};

impl Strings {
    /// The address book's strings of this language.
    pub fn addr(&self) -> &'static Addresses {
        if std::ptr::eq(self, &ZH) {
            &ADDR_ZH
        } else {
            &ADDR_EN
        }
    }

    /// A refused address field in words: `name`, `phone`, `province`… with or without the
    /// `address.` of checkout's fields.
    pub fn addr_refusal(&self, field: &str) -> &'static str {
        let zh = std::ptr::eq(self, &ZH);
        let (z, e) = match field.strip_prefix("address.").unwrap_or(field) {
            "name" => (
                "请填写收货人（1–32 个字）",
                "Give the recipient's name (1–32 characters)",
            ),
            "phone" => ("请填写正确的 11 位手机号", "Give a valid mobile number"),
            "province" => ("请选择省份", "Choose a province"),
            "city" => ("请选择该省份下的城市", "Choose a city of the province"),
            "district" => ("请选择该城市下的区县", "Choose a district of the city"),
            "detail" => (
                "请填写详细地址（1–200 个字）",
                "Give the street address (1–200 characters)",
            ),
            "address_id" => ("请选择收货地址", "Choose an address"),
            "addresses" => (ADDR_ZH.limit, ADDR_EN.limit),
            _ => ("请填写完整的收货地址", "Give the full address"),
        };
        if zh { z } else { e }
    }
}
