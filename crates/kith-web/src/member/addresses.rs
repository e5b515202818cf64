//! 我的 → 收货地址: the member's saved addresses — list, add, edit, delete behind a
//! confirmation, make one the default — with the province/city/district picker
//! (`static/region-picker.js` turns the three text inputs into dependent selects fed by the
//! `regions.json` asset; without JavaScript the inputs are typed and the use case's region
//! check answers). A refusal is said beside its field in the page's words, what was typed
//! kept. `?next=` (a local path: the cart's 新增地址) is where a saved address returns to.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kith_app::AppError;
use kith_app::commerce::addresses::{AddressInput, SavedAddress};
use kith_app::commerce::orders::Address;
use kith_app::platform::ids::AddressId;
use serde::Deserialize;

use super::local;
use crate::pages::Empty;
use crate::{CsrfForm, Ctx, Web, WebError, WebResult, render, see};

#[derive(Template)]
#[template(path = "member/addresses.html")]
pub(super) struct ListPage {
    pub(super) c: Ctx,
    pub(super) addresses: Vec<SavedAddress>,
}

/// The address form as typed (and, after a refusal, as shown again).
#[derive(Deserialize, Default, Clone)]
pub(super) struct AddressForm {
    #[serde(default)]
    pub(super) name: String,
    #[serde(default)]
    pub(super) phone: String,
    #[serde(default)]
    pub(super) province: String,
    #[serde(default)]
    pub(super) city: String,
    #[serde(default)]
    pub(super) district: String,
    #[serde(default)]
    pub(super) detail: String,
    /// `on` when 设为默认地址 is ticked.
    #[serde(default)]
    pub(super) is_default: String,
    /// Where to go once saved (a local path), else the list.
    #[serde(default)]
    pub(super) next: String,
}

impl AddressForm {
    fn of(a: &SavedAddress) -> Self {
        Self {
            name: a.name.clone(),
            phone: a.phone.clone(),
            province: a.province.clone(),
            city: a.city.clone(),
            district: a.district.clone(),
            detail: a.detail.clone(),
            is_default: if a.is_default {
                "on".into()
            } else {
                String::new()
            },
            next: String::new(),
        }
    }

    fn input(&self) -> AddressInput {
        AddressInput {
            address: Address {
                name: self.name.clone(),
                phone: self.phone.clone(),
                province: self.province.clone(),
                city: self.city.clone(),
                district: self.district.clone(),
                detail: self.detail.clone(),
            },
            is_default: Some(self.is_default == "on"),
        }
    }
}

#[derive(Template)]
#[template(path = "member/address_form.html")]
pub(super) struct FormPage {
    pub(super) c: Ctx,
    /// The address being edited; `None` for a new one.
    pub(super) id: Option<String>,
    pub(super) form: AddressForm,
    /// A refused field and its words.
    pub(super) bad: Option<(String, &'static str)>,
}

impl FormPage {
    pub(super) fn bad_at(&self, at: &str) -> Option<&str> {
        self.bad.as_ref().filter(|(f, _)| f == at).map(|(_, w)| *w)
    }

    /// The region's three parts: (name, label, what was typed).
    pub(super) fn regions(&self) -> Vec<(&'static str, &'static str, &str)> {
        let t = self.c.t;
        vec![
            ("province", t.addr_province, self.form.province.as_str()),
            ("city", t.addr_city, self.form.city.as_str()),
            ("district", t.addr_district, self.form.district.as_str()),
        ]
    }

    pub(super) fn action(&self) -> String {
        match &self.id {
            Some(id) => format!("/me/addresses/{id}"),
            None => "/me/addresses".into(),
        }
    }
}

pub(super) async fn list(State(s): State<Web>, c: Ctx) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let addresses = s.app.my_addresses(&who).await?;
    Ok(render(&ListPage { c, addresses })?.into_response())
}

#[derive(Deserialize)]
pub(super) struct NewQuery {
    #[serde(default)]
    next: String,
}

pub(super) async fn new(
    State(_): State<Web>,
    c: Ctx,
    Query(q): Query<NewQuery>,
) -> WebResult<Response> {
    c.principal()?;
    let form = AddressForm {
        name: c.display_name().to_owned(),
        phone: c.phone(),
        next: q.next,
        ..AddressForm::default()
    };
    Ok(render(&FormPage {
        c,
        id: None,
        form,
        bad: None,
    })?
    .into_response())
}

pub(super) async fn edit(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let who = c.principal()?;
    let a = s
        .app
        .my_address(who, &AddressId::parse_or_404(&id)?)
        .await?;
    Ok(render(&FormPage {
        c,
        id: Some(a.id.to_string()),
        form: AddressForm::of(&a),
        bad: None,
    })?
    .into_response())
}

/// After a save: the refused field beside its input, or on to `next` / the list.
fn answer(
    c: Ctx,
    id: Option<String>,
    f: AddressForm,
    result: Result<SavedAddress, AppError>,
    done: &str,
) -> WebResult<Response> {
    match result {
        Ok(saved) if !f.next.is_empty() => {
            // Back where the member came from (the cart), the new address chosen there.
            let next = local(Some(&f.next), "/me/addresses");
            let (path, fragment) = next.split_once('#').unwrap_or((&next, ""));
            let sep = if path.contains('?') { '&' } else { '?' };
            let fragment = if fragment.is_empty() {
                String::new()
            } else {
                format!("#{fragment}")
            };
            Ok(see(format!("{path}{sep}address={}{fragment}", saved.id)))
        }
        Ok(_) => Ok(see(format!("/me/addresses?done={done}"))),
        Err(AppError::Invalid { field, .. })
        | Err(AppError::Conflict {
            field: Some(field), ..
        }) => {
            let words = c.t.addr_refusal(&field);
            let status = if field == "addresses" {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let html = render(&FormPage {
                c,
                id,
                form: f,
                bad: Some((field, words)),
            })?;
            Ok((status, html).into_response())
        }
        Err(e) => Err(WebError::App(e)),
    }
}

pub(super) async fn add(
    State(s): State<Web>,
    c: Ctx,
    CsrfForm(f): CsrfForm<AddressForm>,
) -> WebResult<Response> {
    let result = s.app.add_address(c.principal()?, f.input()).await;
    answer(c, None, f, result, "saved")
}

pub(super) async fn update(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<AddressForm>,
) -> WebResult<Response> {
    let who = c.principal()?;
    let result = s
        .app
        .update_address(who, &AddressId::parse_or_404(&id)?, f.input())
        .await;
    answer(c, Some(id), f, result, "saved")
}

pub(super) async fn delete(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let who = c.principal()?;
    s.app
        .delete_address(who, &AddressId::parse_or_404(&id)?)
        .await?;
    Ok(see("/me/addresses?done=deleted"))
}

pub(super) async fn make_default(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let who = c.principal()?;
    let id = AddressId::parse_or_404(&id)?;
    let a = s.app.my_address(who, &id).await?;
    s.app
        .update_address(
            who,
            &id,
            AddressInput {
                address: a.address(),
                is_default: Some(true),
            },
        )
        .await?;
    Ok(see("/me/addresses?done=saved"))
}
