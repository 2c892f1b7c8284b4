//! The bank journey's HTML. Plain forms, no JavaScript: every page's primary button submits it
//! as prefilled, so a presenter can click straight through and a test can post the same form.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};

use crate::catalogue::Institution;

pub enum Page<'a> {
    Chooser {
        banks: Vec<&'a Institution>,
        search: &'a str,
    },
    Login {
        bank: Option<&'a Institution>,
    },
    Accounts {
        bank: Option<&'a Institution>,
        checked: Vec<usize>,
    },
    SecurityQuestion {
        bank: Option<&'a Institution>,
    },
    Consent {
        bank: Option<&'a Institution>,
        client: String,
        kind: &'static str,
        until: DateTime<Utc>,
    },
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#eef2f5;color:#1b2733;margin:0}
.banner{background:#7a1f5c;color:#fff;padding:.5rem 1rem;font-size:.9rem;text-align:center}
main{max-width:34rem;margin:2rem auto;background:#fff;border-radius:12px;padding:2rem;box-shadow:0 2px 12px #0002}
h1{font-size:1.4rem;margin-top:0}.bank{display:flex;align-items:center;gap:.75rem;margin-bottom:1rem}
.bank img{width:40px;height:40px}label{display:block;margin:.6rem 0 .2rem}input[type=text],input[type=password],input[type=search]{width:100%;padding:.55rem;border:1px solid #9aa7b3;border-radius:6px;font:inherit;box-sizing:border-box}
.actions{display:flex;gap:.75rem;margin-top:1.5rem}button{font:inherit;padding:.6rem 1.2rem;border-radius:6px;border:1px solid #1b2733;background:#fff;cursor:pointer}
button.primary{background:#0b6e63;border-color:#0b6e63;color:#fff;font-weight:600}.problem{color:#a4161a;font-weight:600}
ul.banks{list-style:none;padding:0}ul.banks li{margin:.3rem 0}ul.banks button{width:100%;text-align:left;display:flex;gap:.6rem;align-items:center}
ul.banks img{width:28px;height:28px}.muted{color:#51606e;font-size:.9rem}.check{display:flex;gap:.5rem;align-items:center}";

fn shell(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{} · Demo bank (Banklinks sandbox)</title><style>{STYLE}</style></head><body>\
<div class=\"banner\" role=\"note\">Demo bank — Banklinks' simulated bank for demonstrations and tests. No real bank or money is involved.</div>\
<main>{body}</main></body></html>",
        escape(title)
    )
}

fn bank_header(bank: Option<&Institution>) -> String {
    match bank {
        Some(bank) => format!(
            "<div class=\"bank\"><img src=\"/bank-icons/{}\" alt=\"\"><strong>{}</strong></div>",
            escape(bank.bank_ref),
            escape(bank.name)
        ),
        None => String::new(),
    }
}

fn form(action: &str, step: &str, inner: &str, primary: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"step\" value=\"{step}\">{inner}\
<div class=\"actions\"><button class=\"primary\" type=\"submit\" name=\"action\" value=\"continue\">{}</button>\
<button type=\"submit\" name=\"action\" value=\"deny\" formnovalidate>Cancel and go back</button></div></form>",
        escape(action),
        escape(primary)
    )
}

pub fn render(page: &Page<'_>, action: &str, step: &str, problem: Option<&str>) -> String {
    let problem = problem
        .map(|p| format!("<p class=\"problem\" role=\"alert\">{}</p>", escape(p)))
        .unwrap_or_default();
    match page {
        Page::Chooser { banks, search } => {
            let items: String = banks
                .iter()
                .enumerate()
                .map(|(index, bank)| {
                    let status = match bank.sync {
                        crate::catalogue::Availability::Available => String::new(),
                        _ => " <span class=\"muted\">(having problems at the moment)</span>".into(),
                    };
                    let checked = if index == 0 { " checked" } else { "" };
                    format!(
                        "<li><label class=\"check\"><input type=\"radio\" name=\"bank\" value=\"{}\"{checked}><img src=\"/bank-icons/{}\" alt=\"\"> {}{status}</label></li>",
                        escape(&bank.id),
                        escape(bank.bank_ref),
                        escape(bank.name)
                    )
                })
                .collect();
            let search_form = format!(
                "<form method=\"get\" action=\"{}\" role=\"search\"><label for=\"q\">Search banks</label><input id=\"q\" type=\"search\" name=\"q\" value=\"{}\"></form>",
                escape(action),
                escape(search)
            );
            let list = if banks.is_empty() {
                "<p>No bank matches that search.</p>".to_string()
            } else {
                format!("<ul class=\"banks\">{items}</ul>")
            };
            shell(
                "Choose your bank",
                &format!(
                    "<h1>Choose your bank</h1>{problem}{search_form}{}",
                    form(action, step, &list, "Continue")
                ),
            )
        }
        Page::Login { bank } => {
            let inner = "<label for=\"username\">User name</label><input id=\"username\" type=\"text\" name=\"username\" value=\"demo-user\" autocomplete=\"username\">\
<label for=\"password\">Password</label><input id=\"password\" type=\"password\" name=\"password\" value=\"demo-password\" autocomplete=\"current-password\">\
<p class=\"muted\">Demo details are filled in: any user name and password work here.</p>";
            shell(
                "Log in",
                &format!(
                    "{}<h1>Log in to your bank</h1>{problem}{}",
                    bank_header(*bank),
                    form(action, step, inner, "Log in")
                ),
            )
        }
        Page::Accounts { bank, checked } => {
            let items: String = bank
                .map(|bank| {
                    bank.account_types
                        .iter()
                        .enumerate()
                        .map(|(index, account_type)| {
                            let mark = if checked.contains(&index) { " checked" } else { "" };
                            format!(
                                "<label class=\"check\"><input type=\"checkbox\" name=\"account\" value=\"{index}\"{mark}> {} ({})</label>",
                                escape(&account_label(account_type)),
                                escape(account_type)
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            shell(
                "Choose accounts",
                &format!(
                    "{}<h1>Which accounts do you want to share?</h1>{problem}{}",
                    bank_header(*bank),
                    form(action, step, &items, "Share these accounts")
                ),
            )
        }
        Page::SecurityQuestion { bank } => {
            let inner = "<p>Your bank needs you to confirm it is you before it updates your data.</p>\
<label for=\"answer\">What was the name of your first pet?</label><input id=\"answer\" type=\"text\" name=\"answer\" value=\"Biscuit\">";
            shell(
                "Security check",
                &format!(
                    "{}<h1>Security check</h1>{problem}{}",
                    bank_header(*bank),
                    form(action, step, inner, "Confirm")
                ),
            )
        }
        Page::Consent {
            bank,
            client,
            kind,
            until,
        } => {
            let what = match *kind {
                "reconsent" => format!(
                    "<p><strong>{}</strong> asks to keep seeing your data from this bank until <strong>{}</strong>. You will not need to log in to your bank.</p>",
                    escape(client),
                    until.format("%-d %B %Y")
                ),
                "refresh" => format!(
                    "<p><strong>{}</strong> will fetch your latest data now.</p>",
                    escape(client)
                ),
                "reauth" => format!(
                    "<p><strong>{}</strong> will keep receiving your account data until <strong>{}</strong>. Your history is kept.</p>",
                    escape(client),
                    until.format("%-d %B %Y")
                ),
                _ => format!(
                    "<p><strong>{}</strong> will be able to see your balances and transactions until <strong>{}</strong>.</p>",
                    escape(client),
                    until.format("%-d %B %Y")
                ),
            };
            shell(
                "Confirm",
                &format!(
                    "{}<h1>Confirm access</h1>{problem}{}",
                    bank_header(*bank),
                    form(action, step, &what, "Allow")
                ),
            )
        }
    }
}

fn account_label(account_type: &str) -> String {
    match account_type {
        "cash:current" => "Current account".into(),
        "savings" => "Savings account".into(),
        "card" => "Credit card".into(),
        "loan" => "Loan".into(),
        "mortgage:repayment" | "mortgage:interestOnly" => "Mortgage".into(),
        "investment" => "Investments".into(),
        "crypto" => "Crypto".into(),
        t if t.starts_with("pension") => "Pension".into(),
        t if t.starts_with("properties") => "Property".into(),
        _ => "Asset".into(),
    }
}

/// `response_mode=form_post` without JavaScript: the person presses the button.
pub fn form_post(redirect_uri: &str, params: &[(String, String)]) -> String {
    let inputs: String = params
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(name),
                escape(value)
            )
        })
        .collect();
    shell(
        "Returning to the app",
        &format!(
            "<h1>Returning to the app</h1><form method=\"post\" action=\"{}\">{inputs}<div class=\"actions\"><button class=\"primary\" type=\"submit\">Continue to the app</button></div></form>",
            escape(redirect_uri)
        ),
    )
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    (
        status,
        Html(shell(
            "Something went wrong",
            &format!(
                "<h1>Something went wrong</h1><p role=\"alert\">{}</p>",
                escape(message)
            ),
        )),
    )
        .into_response()
}
