//! Starting the real app under tauri-driver and talking to it over WebDriver.

use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const DRIVER_PORT: u16 = 4444;
/// tauri-driver starts WebKitWebDriver on the next port.
const NATIVE_DRIVER_PORT: u16 = 4445;
/// Every wait is bounded: a broken app must fail the test, never hang CI.
const WAIT: Duration = Duration::from_secs(20);

pub struct AppSession {
    client: Option<Client>,
    driver: Child,
    name: &'static str,
    keychain_service: String,
    /// The app's own data folder (database, Demo world), fresh per session.
    data_dir: tempfile::TempDir,
    /// Where the app writes the bank URLs it would open in the browser.
    opened_urls: PathBuf,
    urls_taken: std::cell::Cell<usize>,
}

fn app_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_banklinks"))
}

fn artifacts_dir() -> PathBuf {
    let dir = std::env::var_os("BANKLINKS_E2E_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e"));
    std::fs::create_dir_all(&dir).expect("create the artifacts folder");
    dir
}

impl AppSession {
    /// Starts tauri-driver, which starts the app; `name` labels its screenshots and its own
    /// keychain service, so runs never see each other's entries.
    pub async fn start(name: &'static str) -> Self {
        Self::start_with_args(name, &[]).await
    }

    /// Like [`AppSession::start`], with `args` on the app's command line (how the desktop
    /// starts an app for a link when it is not running).
    pub async fn start_with_args(name: &'static str, args: &[&str]) -> Self {
        let data_dir = tempfile::tempdir().expect("a data folder");
        Self::start_prepared(name, args, data_dir).await
    }

    /// Like [`AppSession::start_with_args`], with a data folder prepared beforehand (its `app`
    /// subfolder is the app's).
    pub async fn start_prepared(
        name: &'static str,
        args: &[&str],
        data_dir: tempfile::TempDir,
    ) -> Self {
        Self::launch(name, args, data_dir, None).await
    }

    /// Like [`AppSession::start`], with its own home folder: for what the desktop keeps there
    /// (the autostart entry is written to `~/.config/autostart` whatever XDG says).
    pub async fn start_with_home(name: &'static str, home: &Path) -> Self {
        let data_dir = tempfile::tempdir().expect("a data folder");
        Self::launch(name, &[], data_dir, Some(home)).await
    }

    async fn launch(
        name: &'static str,
        args: &[&str],
        data_dir: tempfile::TempDir,
        home: Option<&Path>,
    ) -> Self {
        assert!(
            std::env::var_os("DISPLAY").is_some(),
            "no DISPLAY: the window tests run under Xvfb via scripts/test"
        );
        let keychain_service = keychain_service(name);
        let opened_urls = data_dir.path().join("opened-urls.txt");
        let driver_path = std::env::var_os("TAURI_DRIVER").unwrap_or_else(|| "tauri-driver".into());
        wait_until("an earlier driver to release its ports", || {
            [DRIVER_PORT, NATIVE_DRIVER_PORT]
                .iter()
                .all(|port| TcpStream::connect(("127.0.0.1", *port)).is_err())
        });
        let mut command = Command::new(&driver_path);
        if let Some(home) = home {
            command.env("HOME", home);
        }
        let driver = command
            .args(["--port", &DRIVER_PORT.to_string()])
            // Its own process group, so WebKitWebDriver and the app go when it goes.
            .process_group(0)
            .env("BANKLINKS_KEYCHAIN_SERVICE", &keychain_service)
            .env("BANKLINKS_DATA_DIR", data_dir.path().join("app"))
            .env("BANKLINKS_OPENED_URLS", &opened_urls)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|err| panic!("could not start {driver_path:?}: {err}"));
        let mut session = Self {
            client: None,
            driver,
            name,
            keychain_service,
            data_dir,
            opened_urls,
            urls_taken: std::cell::Cell::new(0),
        };
        wait_until("tauri-driver to listen", || {
            TcpStream::connect(("127.0.0.1", DRIVER_PORT)).is_ok()
        });

        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("wry"));
        capabilities.insert(
            "tauri:options".into(),
            json!({ "application": app_binary(), "args": args }),
        );
        let mut builder = ClientBuilder::native();
        builder.capabilities(capabilities);
        let url = format!("http://127.0.0.1:{DRIVER_PORT}");
        let client = tokio::time::timeout(Duration::from_secs(60), builder.connect(&url))
            .await
            .expect("the WebDriver session did not start within 60 s")
            .expect("start a WebDriver session");
        session.client = Some(client);
        session
    }

    pub fn keychain_service(&self) -> &str {
        &self.keychain_service
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("session started")
    }

    /// The element `css` matches, waiting for it to appear.
    async fn element(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client()
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(err) => {
                self.screenshot("failure").await;
                panic!("no {css}: {err}")
            }
        }
    }

    pub async fn click(&self, css: &str) {
        let element = self.element(css).await;
        if let Err(err) = element.click().await {
            self.screenshot("failure").await;
            panic!("click {css}: {err:?}");
        }
    }

    /// Scrolls `css` to the middle of what is on screen, as a person scrolls to something below
    /// the fold before clicking it.
    pub async fn scroll_to(&self, css: &str) {
        self.element(css).await;
        self.client()
            .execute(
                "document.querySelector(arguments[0]).scrollIntoView({ block: 'center' });",
                vec![json!(css)],
            )
            .await
            .unwrap_or_else(|err| panic!("scroll to {css}: {err}"));
        self.wait_in_view(css).await;
    }

    pub async fn text(&self, css: &str) -> String {
        let element = self.element(css).await;
        element
            .text()
            .await
            .unwrap_or_else(|err| panic!("text of {css}: {err}"))
    }

    /// The text of `css` now, if it is there (no waiting).
    pub async fn current_text(&self, css: &str) -> Option<String> {
        let element = self.client().find(Locator::Css(css)).await.ok()?;
        element.text().await.ok()
    }

    async fn current_attribute(&self, css: &str, attribute: &str) -> Option<String> {
        let element = self.client().find(Locator::Css(css)).await.ok()?;
        element.attr(attribute).await.ok().flatten()
    }

    /// Waits until the element's text contains `expected` (any non-empty text when it is empty).
    pub async fn wait_for_text(&self, css: &str, expected: &str) -> String {
        let deadline = Instant::now() + WAIT;
        let mut last = None;
        while Instant::now() < deadline {
            last = self.current_text(css).await;
            if let Some(text) = &last
                && (text.contains(expected) && !text.is_empty())
            {
                return text.clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.screenshot("failure").await;
        panic!("{css} never showed {expected:?}; last text {last:?}");
    }

    pub async fn wait_for_attribute(&self, css: &str, attribute: &str, expected: &str) {
        let deadline = Instant::now() + WAIT;
        let mut last = None;
        while Instant::now() < deadline {
            last = self.current_attribute(css, attribute).await;
            if last.as_deref() == Some(expected) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.screenshot("failure").await;
        panic!("{css}[{attribute}] never became {expected:?}; last {last:?}");
    }

    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// Types into an input (replacing what is there).
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.element(css).await;
        element
            .clear()
            .await
            .unwrap_or_else(|err| panic!("clear {css}: {err}"));
        element
            .send_keys(text)
            .await
            .unwrap_or_else(|err| panic!("type into {css}: {err}"));
    }

    /// Chooses the option whose value is `value` in a select.
    pub async fn select(&self, css: &str, value: &str) {
        let element = self.element(css).await;
        element
            .select_by_value(value)
            .await
            .unwrap_or_else(|err| panic!("choose {value} in {css}: {err}"));
    }

    pub async fn count(&self, css: &str) -> usize {
        self.client()
            .find_all(Locator::Css(css))
            .await
            .map(|all| all.len())
            .unwrap_or(0)
    }

    /// Waits until exactly `expected` elements match.
    pub async fn wait_for_count(&self, css: &str, expected: usize) {
        let deadline = Instant::now() + WAIT;
        let mut last = 0;
        while Instant::now() < deadline {
            last = self.count(css).await;
            if last == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        self.screenshot("failure").await;
        panic!("{css} matched {last}, not {expected}");
    }

    pub async fn is_enabled(&self, css: &str) -> bool {
        let element = self.element(css).await;
        element.is_enabled().await.expect("enabled state")
    }

    /// The next URL the app opened "in the browser" (a bank page).
    pub async fn next_opened_url(&self) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = std::fs::read_to_string(&self.opened_urls).unwrap_or_default();
            let urls: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
            if let Some(url) = urls.get(self.urls_taken.get()) {
                self.urls_taken.set(self.urls_taken.get() + 1);
                return (*url).to_string();
            }
            if Instant::now() > deadline {
                self.screenshot("failure").await;
                panic!("the app opened no bank page");
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Plays the person at the bank for the page the app just opened and returns the bank's
    /// redirect link, without delivering it (a test may deliver it twice).
    pub async fn walk_the_bank(&self) -> String {
        let url = self.next_opened_url().await;
        let callback = moneyhub_sandbox::journey::walk(&url, &[])
            .await
            .unwrap_or_else(|err| panic!("the bank journey failed: {err}"));
        assert!(callback.starts_with("banklinks://"), "{callback}");
        callback
    }

    /// Calls a Tauri command straight from the webview, as a compromised page could, past
    /// the UI's own checks: `Ok` with its answer or `Err` with the `{code, message}` error.
    pub async fn invoke(&self, command: &str, args: Value) -> Result<Value, Value> {
        let answer = self
            .client()
            .execute_async(
                "const [command, args, done] = arguments; \
                 window.__TAURI_INTERNALS__.invoke(command, args) \
                   .then((value) => done({ ok: value ?? null }), (error) => done({ err: error }));",
                vec![json!(command), args],
            )
            .await
            .unwrap_or_else(|err| panic!("could not call {command}: {err}"));
        match answer.get("err") {
            Some(err) => Err(err.clone()),
            None => Ok(answer.get("ok").cloned().unwrap_or(Value::Null)),
        }
    }

    /// How many bank pages the app has asked the system to open so far.
    pub fn opened_url_count(&self) -> usize {
        std::fs::read_to_string(&self.opened_urls)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
            .count()
    }

    /// Plays the person at the bank for the page the app just opened, then delivers the bank's
    /// redirect the way the desktop does: by launching the app again with the link.
    /// Returns the authorization code the bank sent, so a test can check it never reaches the page.
    pub async fn complete_at_the_bank(&self) -> String {
        let url = self.next_opened_url().await;
        let callback = moneyhub_sandbox::journey::walk(&url, &[])
            .await
            .unwrap_or_else(|err| panic!("the bank journey failed: {err}"));
        assert!(callback.starts_with("banklinks://"), "{callback}");
        let second = self.launch_second_instance(&callback).await;
        assert!(second.success(), "the second launch failed: {second:?}");
        url::Url::parse(&callback)
            .ok()
            .and_then(|u| {
                u.query_pairs()
                    .find(|(k, _)| k == "code")
                    .map(|(_, v)| v.into_owned())
            })
            .unwrap_or_default()
    }

    pub async fn page_source(&self) -> String {
        self.client().source().await.expect("page source")
    }

    /// Launches the app binary a second time with `link` as its only argument, the way the
    /// desktop delivers a link to a running app, and waits for that second process to exit.
    pub async fn launch_second_instance(&self, link: &str) -> ExitStatus {
        let mut child = Command::new(app_binary())
            .arg(link)
            .env("BANKLINKS_KEYCHAIN_SERVICE", &self.keychain_service)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("launch a second instance");
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = child.try_wait().expect("poll the second instance") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the second instance kept running: the link was not handed to the first");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG of the page as WebDriver renders it (the X root window of an automated
    /// WebKitGTK view stays on its first frame, so it is no use); it can lag a frame, hence the
    /// pause.
    pub async fn screenshot(&self, label: &str) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        match self.client().screenshot().await {
            Ok(png) => {
                let path = artifacts_dir().join(format!("{}-{label}.png", self.name));
                std::fs::write(&path, png).expect("write screenshot");
            }
            Err(err) => eprintln!("no screenshot for {label}: {err}"),
        }
    }

    /// Whether the element `css` is on screen now, without scrolling: what the person sees. The
    /// presenter's caption bar covers the bottom of the window, so what is under it is not seen.
    pub async fn is_in_view(&self, css: &str) -> bool {
        self.element(css).await;
        let answer = self
            .client()
            .execute(
                "const el = document.querySelector(arguments[0]); \
                 const r = el.getBoundingClientRect(); \
                 const tour = document.querySelector('[data-testid=tour]'); \
                 const bottom = tour && !tour.contains(el) \
                   ? Math.min(window.innerHeight, tour.getBoundingClientRect().top) \
                   : window.innerHeight; \
                 return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 && \
                 r.bottom <= bottom && r.right <= window.innerWidth;",
                vec![json!(css)],
            )
            .await
            .unwrap_or_else(|err| panic!("could not measure {css}: {err}"));
        answer.as_bool().unwrap_or(false)
    }

    /// Waits until `css` is on screen (a card scrolled into view may still be moving).
    pub async fn wait_in_view(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        while !self.is_in_view(css).await {
            if Instant::now() > deadline {
                self.screenshot("failure").await;
                panic!("{css} never came into view");
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Resizes the window so its page is `width` × `height` CSS pixels (no window manager runs
    /// under Xvfb, so the window is all page).
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.client()
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|err| panic!("resize to {width}×{height}: {err}"));
        let deadline = Instant::now() + WAIT;
        loop {
            let size = self
                .client()
                .execute("return [window.innerWidth, window.innerHeight];", vec![])
                .await
                .expect("the page's size");
            if size == json!([width, height]) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the page is {size}, not {width}×{height}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What is wrong with the layout on screen now, in words (empty when nothing): a page that
    /// scrolls as a whole (only `main` should), content wider than the window, a control or
    /// card sticking out of what contains it, a control whose text is cut off.
    pub async fn layout_problems(&self) -> Vec<String> {
        let answer = self
            .client()
            .execute(
                r#"
                const problems = [];
                const name = (el) => {
                  const id = el.getAttribute('data-testid');
                  const text = (el.innerText || el.value || '').trim().slice(0, 40);
                  return `${el.tagName.toLowerCase()}${id ? `[${id}]` : ''}${text ? ` "${text}"` : ''}`;
                };
                const root = document.documentElement;
                if (root.scrollHeight > innerHeight + 1) problems.push(`the document is ${root.scrollHeight}px tall in a ${innerHeight}px window`);
                if (root.scrollWidth > innerWidth + 1) problems.push(`the document is ${root.scrollWidth}px wide in a ${innerWidth}px window`);
                const main = document.querySelector('main');
                if (main && main.scrollWidth > main.clientWidth + 1) problems.push(`main scrolls sideways (${main.scrollWidth}px in ${main.clientWidth}px)`);
                const controls = 'button, select, input, textarea, a.button, .card, .banner, [data-testid=tour]';
                for (const el of document.querySelectorAll(controls)) {
                  const r = el.getBoundingClientRect();
                  if (r.width === 0 || r.height === 0) continue;
                  const box = el.parentElement && el.parentElement.closest('.card, .banner, section, header, aside, main, [data-testid=tour]');
                  if (box) {
                    const b = box.getBoundingClientRect();
                    const over = Math.max(r.right - b.right, b.left - r.left);
                    if (over > 1) problems.push(`${name(el)} sticks out of ${name(box)} by ${Math.round(over)}px`);
                  }
                  if ((el.tagName === 'BUTTON' || el.tagName === 'SELECT') && el.scrollWidth > el.clientWidth + 1) {
                    problems.push(`${name(el)} is cut off (${el.scrollWidth}px of text in ${el.clientWidth}px)`);
                  }
                }
                return problems;
                "#,
                vec![],
            )
            .await
            .expect("measure the layout");
        serde_json::from_value(answer).expect("a list of problems")
    }

    /// Presses a key where the person's focus is, as a keyboard would (WebDriver key codes:
    /// `'\u{E014}'` is →, `'\u{E00C}'` is Esc).
    pub async fn press(&self, key: char) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let keys = KeyActions::new("keyboard".to_string())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.client()
            .perform_actions(keys)
            .await
            .unwrap_or_else(|err| panic!("press {key:?}: {err}"));
    }

    /// Closes the app and starts it again on the same data folder and keychain service: what a
    /// person quitting and reopening it sees.
    pub async fn restart(mut self) -> Self {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
        let spare = tempfile::tempdir().expect("a spare folder");
        let data_dir = std::mem::replace(&mut self.data_dir, spare);
        let name = self.name;
        drop(self);
        Self::start_prepared(name, &[], data_dir).await
    }

    /// Ends the session, which closes the app.
    pub async fn finish(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
    }
}

impl Drop for AppSession {
    /// Asks the driver and the app to stop, and waits until they have: a restart must not
    /// start the next app while the last one still saves (or holds the single-instance lock).
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.driver.wait();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let alive = || {
            Command::new("kill")
                .args(["-0", "--", &group])
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        while alive() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        if alive() {
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        }
    }
}

/// Writes a text artifact (beside the screenshots).
pub fn save_artifact(name: &str, contents: &str) {
    let path = artifacts_dir().join(name);
    std::fs::write(&path, contents).unwrap_or_else(|err| panic!("write {path:?}: {err}"));
}

/// The keychain service a session named `name` uses (so a benchmark can prepare its entries).
pub fn keychain_service(name: &str) -> String {
    format!("banklinks-e2e.{name}.{}", std::process::id())
}

fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Reads an entry straight from the Secret Service with `secret-tool`, bypassing the app.
pub fn secret_tool_lookup(service: &str, account: &str) -> Option<String> {
    let output = Command::new("secret-tool")
        .args(["lookup", "service", service, "username", account])
        .output()
        .expect("run secret-tool (package libsecret-tools)");
    let value = String::from_utf8(output.stdout).expect("utf-8 secret");
    (output.status.success() && !value.is_empty()).then_some(value)
}
