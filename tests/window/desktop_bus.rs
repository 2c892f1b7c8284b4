//! The desktop around the app, on the test session's own D-Bus: a StatusNotifierWatcher (what a
//! panel runs, so the app's tray item registers), a notification server that records every
//! `Notify`, a reader of the tray's menu (com.canonical.dbusmenu, as a panel reads it), and an
//! X11 window manager's one gesture the tests need: asking a window to close.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zbus::message::Header;
use zbus::names::InterfaceName;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};
use zbus::{Connection, interface};

const WAIT: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Watcher {
    /// (the item's bus name, the object path it registered)
    items: Arc<Mutex<Vec<(String, String)>>>,
}

#[interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    async fn register_status_notifier_item(
        &self,
        service: &str,
        #[zbus(header)] header: Header<'_>,
    ) {
        let sender = header.sender().map(|s| s.to_string()).unwrap_or_default();
        // An item may register by bus name instead of by path.
        let (name, path) = if service.starts_with('/') {
            (sender, service.to_string())
        } else {
            (service.to_string(), "/StatusNotifierItem".to_string())
        };
        self.items.lock().expect("items").push((name, path));
    }

    fn register_status_notifier_host(&self, _service: &str) {}

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        self.items
            .lock()
            .expect("items")
            .iter()
            .map(|(name, path)| format!("{name}{path}"))
            .collect()
    }

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }
}

/// One notification as the desktop received it.
#[derive(Debug, Clone)]
pub struct Notification {
    pub summary: String,
    pub body: String,
}

#[derive(Default)]
struct Notifications {
    received: Arc<Mutex<Vec<Notification>>>,
}

#[interface(name = "org.freedesktop.Notifications")]
impl Notifications {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        _app_name: &str,
        _replaces_id: u32,
        _app_icon: &str,
        summary: &str,
        body: &str,
        _actions: Vec<String>,
        _hints: HashMap<String, OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut received = self.received.lock().expect("notifications");
        received.push(Notification {
            summary: summary.to_string(),
            body: body.to_string(),
        });
        u32::try_from(received.len()).unwrap_or(u32::MAX)
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "banklinks-test".into(),
            "Banklinks".into(),
            "1".into(),
            "1.2".into(),
        )
    }

    fn close_notification(&self, _id: u32) {}
}

/// The panel and notification server, for as long as it lives.
pub struct Desktop {
    connection: Connection,
    items: Arc<Mutex<Vec<(String, String)>>>,
    notifications: Arc<Mutex<Vec<Notification>>>,
}

/// A row of the tray's menu.
#[derive(Debug, Clone)]
pub struct MenuRow {
    pub id: i32,
    pub label: String,
    pub enabled: bool,
}

impl Desktop {
    /// Takes the watcher's and the notification server's names on the session bus; start it
    /// before the app, as a desktop's panel is there before its apps.
    pub async fn start() -> Self {
        let watcher = Watcher::default();
        let items = watcher.items.clone();
        let server = Notifications::default();
        let notifications = server.received.clone();
        let connection = zbus::connection::Builder::session()
            .expect("the session bus (run under scripts/test)")
            .name("org.kde.StatusNotifierWatcher")
            .expect("watcher name")
            .name("org.freedesktop.Notifications")
            .expect("notifications name")
            .serve_at("/StatusNotifierWatcher", watcher)
            .expect("serve the watcher")
            .serve_at("/org/freedesktop/Notifications", server)
            .expect("serve notifications")
            .build()
            .await
            .expect("own the desktop's names on the session bus");
        Self {
            connection,
            items,
            notifications,
        }
    }

    /// The panel goes (its watcher leaves the bus), as on a desktop with no tray.
    pub async fn remove_panel(&self) {
        self.connection
            .release_name("org.kde.StatusNotifierWatcher")
            .await
            .expect("release the watcher's name");
    }

    /// The tray item the app registered, waiting for it.
    pub async fn tray_item(&self) -> (String, String) {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(item) = self.items.lock().expect("items").last().cloned() {
                return item;
            }
            assert!(
                Instant::now() < deadline,
                "no StatusNotifierItem registered with the watcher"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn item_property(&self, name: &str) -> OwnedValue {
        let (bus_name, path) = self.tray_item().await;
        let properties = zbus::fdo::PropertiesProxy::builder(&self.connection)
            .destination(bus_name)
            .expect("bus name")
            .path(path)
            .expect("item path")
            .build()
            .await
            .expect("properties proxy");
        properties
            .get(
                InterfaceName::from_static_str_unchecked("org.kde.StatusNotifierItem"),
                name,
            )
            .await
            .unwrap_or_else(|err| panic!("the tray item's {name}: {err}"))
    }

    /// The label the panel shows beside the icon (Ayatana's extension; empty when none).
    pub async fn tray_label(&self) -> String {
        String::try_from(self.item_property("XAyatanaLabel").await).unwrap_or_default()
    }

    async fn menu_proxy(&self) -> zbus::Proxy<'static> {
        let (bus_name, _) = self.tray_item().await;
        let menu = OwnedObjectPath::try_from(self.item_property("Menu").await)
            .expect("the item's Menu is an object path");
        zbus::proxy::Builder::new(&self.connection)
            .destination(bus_name)
            .expect("bus name")
            .path(menu)
            .expect("menu path")
            .interface("com.canonical.dbusmenu")
            .expect("interface")
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await
            .expect("menu proxy")
    }

    /// The menu's rows as a panel would draw them (separators left out).
    pub async fn tray_menu(&self) -> Vec<MenuRow> {
        type Layout = (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>);
        let proxy = self.menu_proxy().await;
        let (_revision, (_root, _properties, children)): (u32, Layout) = proxy
            .call("GetLayout", &(0i32, -1i32, Vec::<String>::new()))
            .await
            .expect("the tray menu's layout");
        let mut rows = Vec::new();
        for child in children {
            let Value::Structure(item) = &*child else {
                continue;
            };
            let fields = item.fields();
            let (Some(Value::I32(id)), Some(Value::Dict(properties))) =
                (fields.first(), fields.get(1))
            else {
                continue;
            };
            let properties =
                HashMap::<String, OwnedValue>::try_from(properties.try_clone().expect("clone"))
                    .expect("menu item properties");
            let Some(label) = properties
                .get("label")
                .and_then(|value| String::try_from(value.try_clone().ok()?).ok())
            else {
                continue;
            };
            let enabled = properties
                .get("enabled")
                .and_then(|value| bool::try_from(value).ok())
                .unwrap_or(true);
            rows.push(MenuRow {
                id: *id,
                // dbusmenu marks mnemonics with underscores, which a panel does not draw.
                label: label.replace('_', ""),
                enabled,
            });
        }
        rows
    }

    /// Waits until the menu has a row reading `label`, and returns it.
    pub async fn wait_for_menu_row(&self, label: &str) -> MenuRow {
        let deadline = Instant::now() + WAIT;
        loop {
            let rows = self.tray_menu().await;
            if let Some(row) = rows.iter().find(|row| row.label == label) {
                return row.clone();
            }
            assert!(
                Instant::now() < deadline,
                "the tray menu never read {label:?}: {rows:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Clicks a row of the tray's menu, as a panel does.
    pub async fn click_menu_row(&self, label: &str) {
        let row = self.wait_for_menu_row(label).await;
        assert!(row.enabled, "{label:?} is disabled");
        let proxy = self.menu_proxy().await;
        let _: () = proxy
            .call("Event", &(row.id, "clicked", Value::I32(0), 0u32))
            .await
            .unwrap_or_else(|err| panic!("click {label:?}: {err}"));
    }

    /// The tray as a panel draws it (the icon's label, then its open menu), as an SVG made
    /// from what the app published on the bus: Xvfb has no panel to photograph.
    pub async fn draw_tray(&self) -> String {
        let label = self.tray_label().await;
        let rows = self.tray_menu().await;
        let escape = |text: &str| {
            text.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let height = 44 + 30 * rows.len();
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"300\" height=\"{height}\" \
             font-family=\"sans-serif\" font-size=\"14\">\n\
             <rect width=\"300\" height=\"28\" fill=\"#2b2b2b\"/>\n\
             <rect x=\"8\" y=\"5\" width=\"18\" height=\"18\" rx=\"4\" fill=\"#0f6e5c\"/>\n\
             <text x=\"34\" y=\"19\" fill=\"#ffffff\">{}</text>\n\
             <rect x=\"0\" y=\"30\" width=\"300\" height=\"{}\" rx=\"6\" fill=\"#ffffff\" \
             stroke=\"#c8c8c8\"/>\n",
            escape(&label),
            height - 32
        );
        for (index, row) in rows.iter().enumerate() {
            let colour = if row.enabled { "#1d1d1d" } else { "#767676" };
            svg.push_str(&format!(
                "<text x=\"16\" y=\"{}\" fill=\"{colour}\">{}</text>\n",
                56 + 30 * index,
                escape(&row.label)
            ));
        }
        svg.push_str("</svg>\n");
        svg
    }

    /// Waits for a notification whose summary contains `summary`.
    pub async fn wait_for_notification(&self, summary: &str) -> Notification {
        let deadline = Instant::now() + WAIT;
        loop {
            let found = self
                .notifications
                .lock()
                .expect("notifications")
                .iter()
                .find(|n| n.summary.contains(summary))
                .cloned();
            if let Some(notification) = found {
                return notification;
            }
            assert!(
                Instant::now() < deadline,
                "no notification {summary:?}; received {:?}",
                self.notifications.lock().expect("notifications")
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The app's top-level X window, asked to close the way a window manager's close button does
/// (`WM_DELETE_WINDOW`), and whether it is on screen. Xlib is C, hence the unsafe blocks, which
/// only this test helper has: no crate in the app needs them.
#[allow(unsafe_code)]
pub mod x11 {
    use std::ffi::CStr;
    use std::os::raw::{c_char, c_long};
    use std::ptr;

    use x11_dl::xlib;

    unsafe extern "C" fn ignore_error(
        _display: *mut xlib::Display,
        _event: *mut xlib::XErrorEvent,
    ) -> std::os::raw::c_int {
        0
    }

    pub struct Display {
        xlib: xlib::Xlib,
        display: *mut xlib::Display,
    }

    impl Display {
        pub fn open() -> Self {
            let xlib = xlib::Xlib::open().expect("libX11");
            // SAFETY: a null name opens $DISPLAY; the pointer is checked before use. The error
            // handler only returns: a window that goes between listing and reading it (apps
            // start and stop beside us) is then skipped instead of Xlib ending the process.
            let display = unsafe {
                (xlib.XSetErrorHandler)(Some(ignore_error));
                (xlib.XOpenDisplay)(ptr::null())
            };
            assert!(!display.is_null(), "cannot open $DISPLAY");
            Self { xlib, display }
        }

        /// Top-level windows titled `title`.
        pub fn windows_titled(&self, title: &str) -> Vec<xlib::Window> {
            let mut found = Vec::new();
            // SAFETY: Xlib calls on an open display; every returned buffer is freed with XFree.
            unsafe {
                let root = (self.xlib.XDefaultRootWindow)(self.display);
                let (mut root_out, mut parent) = (0, 0);
                let mut children: *mut xlib::Window = ptr::null_mut();
                let mut count = 0u32;
                if (self.xlib.XQueryTree)(
                    self.display,
                    root,
                    &mut root_out,
                    &mut parent,
                    &mut children,
                    &mut count,
                ) == 0
                {
                    return found;
                }
                for index in 0..count as usize {
                    let window = *children.add(index);
                    let mut name: *mut c_char = ptr::null_mut();
                    if (self.xlib.XFetchName)(self.display, window, &mut name) != 0
                        && !name.is_null()
                    {
                        if CStr::from_ptr(name).to_string_lossy() == title {
                            found.push(window);
                        }
                        (self.xlib.XFree)(name.cast());
                    }
                }
                if !children.is_null() {
                    (self.xlib.XFree)(children.cast());
                }
            }
            found
        }

        pub fn is_viewable(&self, window: xlib::Window) -> bool {
            // SAFETY: XGetWindowAttributes fills the zeroed struct for a window of this display.
            unsafe {
                let mut attributes: xlib::XWindowAttributes = std::mem::zeroed();
                (self.xlib.XGetWindowAttributes)(self.display, window, &mut attributes) != 0
                    && attributes.map_state == xlib::IsViewable
            }
        }

        /// What a window manager sends when its close button is pressed.
        pub fn ask_to_close(&self, window: xlib::Window) {
            // SAFETY: an Xlib ClientMessage built in a zeroed event, sent to a window of this
            // display, then flushed.
            unsafe {
                let protocols = (self.xlib.XInternAtom)(self.display, c"WM_PROTOCOLS".as_ptr(), 0);
                let delete = (self.xlib.XInternAtom)(self.display, c"WM_DELETE_WINDOW".as_ptr(), 0);
                let mut event: xlib::XEvent = std::mem::zeroed();
                event.client_message.type_ = xlib::ClientMessage;
                event.client_message.window = window;
                event.client_message.message_type = protocols;
                event.client_message.format = 32;
                event.client_message.data.set_long(0, delete as c_long);
                event
                    .client_message
                    .data
                    .set_long(1, xlib::CurrentTime as c_long);
                (self.xlib.XSendEvent)(self.display, window, 0, xlib::NoEventMask, &mut event);
                (self.xlib.XFlush)(self.display);
            }
        }
    }

    impl Drop for Display {
        fn drop(&mut self) {
            // SAFETY: closes the display opened in `open`, once.
            unsafe { (self.xlib.XCloseDisplay)(self.display) };
        }
    }
}
