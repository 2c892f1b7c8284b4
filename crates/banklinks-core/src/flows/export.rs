//! Exports a person can keep or hand to support: the profile's journal and an account's
//! transactions, as CSV (RFC 4180, formula-safe) or JSON. Amounts stay in minor units with
//! their currency.

use serde::Serialize;

use super::{FlowError, Flows, lock};
use crate::store::Actor;

/// Formats for exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum ExportFormat {
    Csv,
    Json,
}

impl Flows {
    /// The profile's journal as CSV or JSON.
    pub fn export_journal(&self, format: ExportFormat) -> Result<String, FlowError> {
        let entries = lock(&self.store).journal(&self.profile)?;
        Ok(match format {
            ExportFormat::Json => serde_json::to_string_pretty(&entries).unwrap_or_default(),
            ExportFormat::Csv => {
                let mut out = String::from("seq,at,connection_id,bank,event,actor,details\n");
                for e in entries {
                    let actor = match e.actor {
                        Actor::User => "user",
                        Actor::Automatic => "automatic",
                    };
                    let row = [
                        e.seq.to_string(),
                        crate::store::iso(e.at),
                        e.connection_id.unwrap_or_default(),
                        e.bank.unwrap_or_default(),
                        e.event.kind(),
                        actor.to_string(),
                        e.event.details().to_string(),
                    ];
                    push_csv_line(&mut out, &row);
                }
                out
            }
        })
    }

    /// An account's transactions as CSV or JSON (amounts in minor units with the currency).
    pub fn export_transactions(
        &self,
        account: &str,
        format: ExportFormat,
    ) -> Result<String, FlowError> {
        let rows = lock(&self.store).transactions(&self.profile, account, u32::MAX, 0)?;
        Ok(match format {
            ExportFormat::Json => serde_json::to_string_pretty(&rows).unwrap_or_default(),
            ExportFormat::Csv => {
                let mut out = String::from(
                    "id,account_id,booked_at,amount_minor,currency,description,category_id,status\n",
                );
                for t in rows {
                    let row = [
                        t.id,
                        t.account_id,
                        crate::store::iso(t.booked_at),
                        t.amount_minor.to_string(),
                        t.currency,
                        t.description,
                        t.category_id.unwrap_or_default(),
                        if t.pending {
                            "pending".into()
                        } else {
                            "posted".into()
                        },
                    ];
                    push_csv_line(&mut out, &row);
                }
                out
            }
        })
    }
}

fn push_csv_line(out: &mut String, fields: &[String]) {
    let quoted: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
    out.push_str(&quoted.join(","));
    out.push('\n');
}

/// RFC 4180 quoting; a leading `=`, `+`, `-`, `@`, TAB or CR (OWASP's list: spreadsheets skip
/// the last two and read what follows) is prefixed so a spreadsheet never runs a bank
/// description as a formula.
fn csv_field(value: &str) -> String {
    let formula_start = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let guarded = if formula_start && value.parse::<f64>().is_err() {
        format!("'{value}")
    } else {
        value.to_string()
    };
    // `;` too: spreadsheets in many locales split on it, and a formula after it would run.
    if guarded.contains([',', ';', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(
            csv_field("CAFE;=1+2"),
            "\"CAFE;=1+2\"",
            "one field where ; splits"
        );
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-1250"), "-1250", "numbers stay numbers");
        assert_eq!(csv_field("\t=1+2"), "'\t=1+2");
        assert_eq!(csv_field("\r=1+2"), "\"'\r=1+2\"");
    }
}
