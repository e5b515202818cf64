//! `kith reconcile`: reconciles one Beijing day with a payment provider's statement (对账)
//! by hand — for one owner, or every owner with credentials there — with the server's own
//! settings (the secret key that opens the credentials, the provider's base URL), and
//! prints each run with its mismatches. The daily job does the same on its own; a run
//! here replaces that day's stored run.

use std::sync::Arc;

use kith_app::rails::reconcile::Reconciliation;

use crate::config::{ServeArgs, Settings};

#[derive(clap::Args)]
pub struct ReconcileArgs {
    /// The provider: wechat or alipay.
    #[arg(long)]
    pub provider: String,
    /// The Beijing calendar day, YYYY-MM-DD.
    #[arg(long)]
    pub date: String,
    /// A merchant id or `platform`; every owner with credentials at the provider when left out.
    #[arg(long)]
    pub owner: Option<String>,
    #[command(flatten)]
    pub server: ServeArgs,
}

/// Runs the day for each owner; the text to print, and whether every run matched.
pub async fn reconcile(args: &ReconcileArgs) -> anyhow::Result<(String, bool)> {
    let settings = Settings::resolve(&args.server)?;
    let app = crate::open_app(&settings, Arc::new(kith_domain::SystemClock)).await?;
    let owners = match &args.owner {
        Some(o) => vec![o.clone()],
        None => app
            .reconcile_owners(&args.provider)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    if owners.is_empty() {
        anyhow::bail!("no owner has {} credentials", args.provider);
    }
    let mut out = String::new();
    let mut clean = true;
    for owner in owners {
        let run = app
            .reconcile_day(&args.provider, &owner, &args.date)
            .await
            .map_err(|e| anyhow::anyhow!("{owner}: {e}"))?;
        clean &= run.mismatches.is_empty();
        out.push_str(&render(&run));
    }
    Ok((out, clean))
}

fn render(r: &Reconciliation) -> String {
    let yuan = |f: kith_domain::Fen| f.to_string();
    let mut s = format!(
        "{} {} {}: {}; {} lines at the provider ({}), {} in kith ({}), {} matched\n",
        r.provider,
        r.owner,
        r.bill_date,
        r.status,
        r.provider_lines,
        yuan(r.provider_total_fen),
        r.kith_lines,
        yuan(r.kith_total_fen),
        r.matched
    );
    for m in &r.mismatches {
        let side = |f: Option<kith_domain::Fen>| f.map_or_else(|| "-".to_owned(), yuan);
        s.push_str(&format!(
            "  {:?} {:?} {} provider {} kith {}{}\n",
            m.kind,
            m.entry,
            m.reference,
            side(m.provider_fen),
            side(m.kith_fen),
            m.provider_no
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        ));
    }
    s
}
