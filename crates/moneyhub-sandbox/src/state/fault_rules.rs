//! The fault rules set through the admin API and the choice of which request they hit
//! (deterministic, so a test that asks for every other request gets exactly that). Applying the
//! chosen effect is the `faults` middleware's job.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    /// Applies to paths starting with this (e.g. `/v3/transactions`, `/oidc/token`).
    pub path_prefix: String,
    #[serde(default)]
    pub latency_ms: u64,
    /// HTTP status to answer with instead of the real one.
    #[serde(default)]
    pub status: Option<u16>,
    /// Answer 200 with a body that is not JSON.
    #[serde(default)]
    pub malformed: bool,
    /// Start a response and break the connection mid-body, as a dropped connection looks to
    /// the client.
    #[serde(default)]
    pub drop: bool,
    /// Share of matching requests affected, 0.0–1.0 (default all).
    #[serde(default = "always")]
    pub rate: f64,
    /// Stop after this many affected requests.
    #[serde(default)]
    pub times: Option<u32>,
    /// Carry the request out, then answer the status instead of its answer: a gateway that
    /// failed after Moneyhub acted (a sync it started, and counts against the window, that the
    /// client never hears of). Moneyhub's docs do not say which of the two a 5xx is, so the
    /// sandbox plays both.
    #[serde(default)]
    pub after_handling: bool,
}

fn always() -> f64 {
    1.0
}

#[derive(Debug, Default)]
pub struct Faults {
    pub rules: Vec<FaultRule>,
    counter: u64,
}

/// What the middleware does to one request: pass it on, or wait and then maybe break it.
pub(crate) enum Effect {
    Pass,
    Delay(u64, Option<FaultRule>),
}

impl Faults {
    pub(crate) fn pick(&mut self, path: &str) -> Effect {
        self.counter = self.counter.wrapping_add(1);
        let counter = self.counter;
        let Some(index) = self
            .rules
            .iter()
            .position(|rule| path.starts_with(&rule.path_prefix))
        else {
            return Effect::Pass;
        };
        let rule = &mut self.rules[index];
        // Deterministic sampling: every n-th request for a rate of 1/n.
        let affected =
            rule.rate >= 1.0 || ((counter as f64 * rule.rate).fract() + rule.rate >= 1.0);
        if !affected {
            return Effect::Pass;
        }
        let picked = rule.clone();
        if let Some(times) = &mut rule.times {
            *times = times.saturating_sub(1);
            if *times == 0 {
                self.rules.remove(index);
            }
        }
        let acts = picked.status.is_some() || picked.malformed || picked.drop;
        Effect::Delay(picked.latency_ms, acts.then_some(picked))
    }
}
