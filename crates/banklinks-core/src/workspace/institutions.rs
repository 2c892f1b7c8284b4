//! The bank chooser's list, with each provider's health. A provider that reports problems
//! marks its banks degraded, which health turns into "wait for the bank" rather than a fix the
//! person would try in vain. The last list fetched stands in when Moneyhub cannot be reached.

use std::collections::HashSet;

use serde::Serialize;

use super::Workspace;
use crate::error::Error;
use crate::flows::Flows;
use crate::health::ConnectionKind;
use crate::locks::lock;

/// An institution in the bank chooser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct InstitutionView {
    pub id: String,
    pub name: String,
    pub kind: ConnectionKind,
    pub account_types: Vec<String>,
    pub beta: bool,
    /// The provider reports problems syncing or authorising right now.
    pub degraded: bool,
    pub status_note: Option<String>,
}

impl Workspace {
    pub(super) async fn load_institutions(
        &self,
        flows: &Flows,
    ) -> Result<Vec<InstitutionView>, Error> {
        let mut list = flows.client().institutions("all").await?;
        // "all" leaves out Moneyhub's test banks, which Demo and sandbox clients need; a real
        // client without access to them just gets none.
        if let Ok(test_banks) = flows.client().institutions("test").await {
            let known: HashSet<String> = list.iter().map(|i| i.id.clone()).collect();
            list.extend(test_banks.into_iter().filter(|t| !known.contains(&t.id)));
        }
        let icons: Vec<(String, String)> = list
            .iter()
            .filter_map(|i| Some((i.id.clone(), i.icon_url.clone()?)))
            .collect();
        self.fetch_missing_icons(icons).await;
        let views: Vec<InstitutionView> = list
            .into_iter()
            .map(|i| {
                let sync = i.status.as_ref().and_then(|s| s.sync.clone());
                let auth = i.status.as_ref().and_then(|s| s.auth.clone());
                let bad = |s: &Option<String>| s.as_deref().is_some_and(|s| s != "AVAILABLE");
                let degraded = bad(&sync) || bad(&auth);
                InstitutionView {
                    kind: ConnectionKind::from_wire(
                        serde_json::to_value(i.kind)
                            .ok()
                            .as_ref()
                            .and_then(|v| v.as_str())
                            .unwrap_or_default(),
                    ),
                    account_types: i.account_types.iter().map(|a| a.name.clone()).collect(),
                    beta: i.is_beta,
                    status_note: degraded.then(|| status_note(sync.as_deref(), auth.as_deref())),
                    degraded,
                    id: i.id,
                    name: i.name,
                }
            })
            .collect();
        flows.set_degraded_banks(
            views
                .iter()
                .filter(|i| i.degraded)
                .map(|i| i.id.clone())
                .collect(),
        );
        *lock(&self.institutions) = views.clone();
        Ok(views)
    }

    /// The bank chooser's list (the last one fetched when Moneyhub cannot be reached).
    pub async fn institutions(&self) -> Result<Vec<InstitutionView>, Error> {
        let flows = self.flows()?;
        match self.load_institutions(&flows).await {
            Ok(list) => Ok(list),
            Err(err) => {
                let cached = lock(&self.institutions).clone();
                if cached.is_empty() {
                    Err(err)
                } else {
                    Ok(cached)
                }
            }
        }
    }
}

/// A provider's status in words for the bank chooser: Moneyhub's codes
/// (`TEMPORARILY_UNAVAILABLE`) are for machines.
fn status_note(sync: Option<&str>, auth: Option<&str>) -> String {
    let words = |code: Option<&str>| match code.map(str::trim) {
        None | Some("") => "not reported".to_string(),
        Some(code) if code.eq_ignore_ascii_case("AVAILABLE") => "working".to_string(),
        Some(code) => code.to_lowercase().replace(['_', '-'], " "),
    };
    format!(
        "The bank reports problems: syncing {}, signing in {}.",
        words(sync),
        words(auth)
    )
}

#[cfg(test)]
mod tests {
    use super::status_note;

    #[test]
    fn a_providers_status_reads_in_words() {
        assert_eq!(
            status_note(Some("TEMPORARILY_UNAVAILABLE"), Some("AVAILABLE")),
            "The bank reports problems: syncing temporarily unavailable, signing in working."
        );
        assert_eq!(
            status_note(None, Some("UNAVAILABLE")),
            "The bank reports problems: syncing not reported, signing in unavailable."
        );
    }
}
