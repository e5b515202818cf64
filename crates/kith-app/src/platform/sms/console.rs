//! The console provider: development and the demo. Each message is written to the server
//! log at `info` (the template and its parameters — a one-time code included, which is the
//! point) and the latest hundred are kept in memory for the demo's visitor and the tests.
//! `kith serve --demo` uses it unless another provider is configured; a server without
//! `--demo` uses it only when told (`--sms-provider console`).

use std::collections::VecDeque;
use std::sync::Mutex;

use kith_domain::Phone;

use super::{SendFuture, SentSms, SmsMessage, SmsProvider, SmsReceipt};

const KEEP: usize = 100;

#[derive(Debug, Default)]
pub struct Console {
    sent: Mutex<VecDeque<SentSms>>,
}

impl SmsProvider for Console {
    fn name(&self) -> &'static str {
        "console"
    }

    fn send<'a>(&'a self, to: &'a Phone, message: &'a SmsMessage) -> SendFuture<'a> {
        Box::pin(async move {
            let params = message
                .params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            tracing::info!(
                to = %to.as_str(),
                template = %message.template,
                %params,
                "SMS (console provider, not sent)"
            );
            let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
            if sent.len() >= KEEP {
                sent.pop_front();
            }
            sent.push_back(SentSms {
                to: to.as_str().to_owned(),
                message: message.clone(),
            });
            Ok(SmsReceipt { message_id: None })
        })
    }

    fn recent(&self) -> Vec<SentSms> {
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}
