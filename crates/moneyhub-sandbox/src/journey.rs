//! A scripted person at the bank: opens an authorization URL and submits each journey page as a
//! browser would, accepting the defaults, until the sandbox redirects to the client's redirect
//! URI. End-to-end tests use it to play the user without a browser; a presenter's script could
//! too.

use reqwest::StatusCode;

/// Walks the journey from `start_url` and returns the URL the sandbox redirected to (the
/// client's callback, e.g. `banklinks://callback?code=…&state=…`). `choose` overrides form
/// fields by name (e.g. `("bank", id)` or `("decision", "deny")`).
pub async fn walk(start_url: &str, choose: &[(&str, &str)]) -> Result<String, String> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|err| err.to_string())?;
    let base = url::Url::parse(start_url).map_err(|err| err.to_string())?;
    let mut response = http
        .get(start_url)
        .send()
        .await
        .map_err(|err| format!("could not open the bank page: {err}"))?;
    for _ in 0..12 {
        let page_url = response.url().clone();
        if response.status().is_redirection() {
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .ok_or("a redirect without a location")?
                .to_string();
            let next = base.join(&location).map_err(|err| err.to_string())?;
            if !matches!(next.scheme(), "http" | "https") {
                return Ok(location);
            }
            response = http.get(next).send().await.map_err(|err| err.to_string())?;
            continue;
        }
        if response.status() != StatusCode::OK {
            return Err(format!("the bank page answered {}", response.status()));
        }
        let html = response.text().await.map_err(|err| err.to_string())?;
        let mut fields = post_form_fields(&html).ok_or("no form on the bank page")?;
        for (name, value) in choose {
            fields.retain(|(n, _)| n != name);
            fields.push(((*name).into(), (*value).into()));
        }
        fields.push(("action".into(), "continue".into()));
        response = http
            .post(page_url)
            .form(&fields)
            .send()
            .await
            .map_err(|err| err.to_string())?;
    }
    Err("the bank journey did not end".into())
}

/// The inputs of the first POST form as a browser would submit them (checked radios and
/// checkboxes only).
pub fn post_form_fields(html: &str) -> Option<Vec<(String, String)>> {
    let start = html.find("<form method=\"post\"")?;
    let end = html[start..].find("</form>")? + start;
    let mut fields = Vec::new();
    let mut rest = &html[start..end];
    while let Some(at) = rest.find("<input") {
        let tag_end = rest[at..].find('>')? + at;
        let tag = &rest[at..tag_end];
        let attr = |name: &str| {
            let key = format!("{name}=\"");
            tag.find(&key).map(|i| {
                let from = i + key.len();
                let to = tag[from..].find('"').map_or(tag.len(), |e| e + from);
                tag[from..to]
                    .replace("&quot;", "\"")
                    .replace("&#39;", "'")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&")
            })
        };
        let kind = attr("type").unwrap_or_else(|| "text".into());
        if let (Some(name), Some(value)) = (attr("name"), attr("value"))
            && (!matches!(kind.as_str(), "radio" | "checkbox") || tag.contains(" checked"))
        {
            fields.push((name, value));
        }
        rest = &rest[tag_end..];
    }
    Some(fields)
}
