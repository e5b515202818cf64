//! 资金结算: the shop's settlement with the platform — the settled balance in words
//! (who owes whom), what is still inside the after-sale window, money in the shop's own
//! WeChat Pay / Alipay accounts, and the statement of its settlement accounts.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use kith_app::money::settlement::MerchantSettlement;

use crate::member::{CursorQuery, page};
use crate::pages::{Shop, beijing, yuan};
use crate::{Ctx, Web, WebResult, render};

/// One statement line, in words and 元.
pub(super) struct Line {
    at: String,
    kind: &'static str,
    account: &'static str,
    amount: String,
    order_id: Option<kith_app::platform::ids::OrderId>,
}

pub(super) struct Held {
    provider: &'static str,
    amount: String,
}

#[derive(Template)]
#[template(path = "console/settlement.html")]
pub(super) struct ConsoleSettlement {
    c: Ctx,
    shop: Shop,
    state: Owed,
    settled: String,
    pending: String,
    in_window: String,
    held: Vec<Held>,
    lines: Vec<Line>,
    next: Option<String>,
}

/// Who owes whom, by the sign of a settled balance (positive: the platform holds the
/// shop's money).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owed {
    ToShop,
    ToPlatform,
    Even,
}

impl Owed {
    pub(crate) fn of(settled_fen: i64) -> Self {
        match settled_fen {
            n if n > 0 => Owed::ToShop,
            n if n < 0 => Owed::ToPlatform,
            _ => Owed::Even,
        }
    }

    /// The class the pages mark the balance with (`settle-owed_to_shop`).
    pub(crate) fn css(&self) -> &'static str {
        match self {
            Owed::ToShop => "owed_to_shop",
            Owed::ToPlatform => "owed_to_platform",
            Owed::Even => "even",
        }
    }
}

fn view(c: &Ctx, shop: Shop, st: MerchantSettlement) -> ConsoleSettlement {
    let t = c.t.settle();
    ConsoleSettlement {
        state: Owed::of(st.settled_fen.get()),
        settled: yuan(st.settled_fen.get().abs()),
        pending: yuan(st.pending_fen),
        in_window: yuan(st.direct_in_window_fen),
        held: st
            .direct
            .iter()
            .map(|d| Held {
                provider: c.t.refund_word(&d.provider),
                amount: yuan(d.held_fen),
            })
            .collect(),
        lines: st
            .lines
            .items
            .iter()
            .map(|l| {
                // A direct account goes negative by what the shop holds: its lines read
                // as money in (+) and refunds paid back (−) of the shop's own account.
                let direct = l.account.as_str().contains(":direct:");
                Line {
                    at: beijing(&l.at),
                    kind: c.t.settle_kind(&l.kind),
                    account: if direct {
                        t.own_account
                    } else {
                        t.balance_account
                    },
                    amount: yuan(if direct {
                        -l.amount_fen.get()
                    } else {
                        l.amount_fen.get()
                    }),
                    order_id: l.order_id.clone(),
                }
            })
            .collect(),
        next: st.lines.next_cursor,
        c: c.clone(),
        shop,
    }
}

pub(super) async fn settlement(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    Query(q): Query<CursorQuery>,
) -> WebResult<Response> {
    let (who, shop) = super::shop(&c, &mid)?;
    let st = s
        .app
        .merchant_settlement(&who, &shop.id, page(q.cursor.as_deref())?)
        .await?;
    Ok(render(&view(&c, shop, st))?.into_response())
}
