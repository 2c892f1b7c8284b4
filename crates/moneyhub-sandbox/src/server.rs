//! Starting and stopping the sandbox, and the router that puts the handlers together over the
//! shared state (which lives in `state`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::state::{SandboxConfig, Shared};

/// A running sandbox. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningSandbox {
    pub shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningSandbox {
    /// Binds and serves in the background on the current tokio runtime. A saved world is read
    /// in the background when its clock is saved apart (see `persistence`): the clock is there
    /// at once, and requests wait for the world.
    pub async fn start(config: SandboxConfig) -> std::io::Result<Self> {
        let restore = match &config.data_dir {
            Some(dir) => crate::persistence::restore(dir)?,
            None => crate::persistence::Restore::Nothing,
        };
        let listener = TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let shared = match restore {
            crate::persistence::Restore::Nothing => Arc::new(Shared::new(base_url, config, None)),
            crate::persistence::Restore::Now(saved) => {
                Arc::new(Shared::new(base_url, config, Some(*saved)))
            }
            crate::persistence::Restore::InBackground { clock_now } => {
                let dir = config.data_dir.clone().unwrap_or_default();
                let shared = Arc::new(Shared::restoring(base_url, config, Some(clock_now)));
                let restoring = shared.clone();
                tokio::task::spawn_blocking(move || {
                    // Whatever happens, the gate opens: a panic here must not hang every
                    // request (and the stop) behind it.
                    let loaded = std::panic::catch_unwind(|| crate::persistence::load(&dir))
                        .unwrap_or_else(|_| {
                            Err(std::io::Error::other("reading the saved world panicked"))
                        });
                    match loaded {
                        Ok(saved) => restoring.finish_restoring(saved),
                        Err(err) => restoring.restoring_failed(&err),
                    }
                });
                shared
            }
        };
        if shared.clock.mode() == crate::clock::ClockMode::Real {
            // With the real clock, time passes without requests: scheduled syncs, expiry and
            // reminders (and their webhooks) must happen anyway.
            let driver = Arc::downgrade(&shared);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(std::time::Duration::from_secs(15)).await;
                    let Some(shared) = driver.upgrade().filter(|s| !s.has_stopped()) else {
                        break;
                    };
                    let caught_up = shared.clone();
                    let _ = tokio::task::spawn_blocking(move || drop(caught_up.world())).await;
                    crate::webhooks::flush(&shared);
                }
            });
        }
        if shared.config.data_dir.is_some() {
            let saver = Arc::downgrade(&shared);
            tokio::spawn(async move {
                loop {
                    let Some(shared) = saver.upgrade().filter(|s| !s.has_stopped()) else {
                        break;
                    };
                    // Soon after an answer (a burst of requests becomes one save), and every
                    // few seconds for changes time alone makes.
                    tokio::select! {
                        () = shared.answered.notified() => {}
                        () = tokio::time::sleep(std::time::Duration::from_secs(3)) => {}
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    let _ = tokio::task::spawn_blocking(move || shared.save_if_changed()).await;
                }
            });
        }
        let app = router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(err) = serve.await {
                tracing::error!(%err, "the sandbox server failed");
            }
        });
        Ok(Self {
            shared,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The identity service's base URL (the issuer is this plus `/oidc`).
    pub fn identity_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The Data API's base URL (v3).
    pub fn api_url(&self) -> String {
        format!("{}/v3", self.shared.base_url)
    }

    /// Fills the world with `users` users of `client_id`, each with `connections_per_user`
    /// connections (a current account, a second current account and a card) and their full
    /// history, for benchmarks and large demos. Returns the user ids.
    pub fn populate(
        &self,
        client_id: &str,
        users: usize,
        connections_per_user: usize,
    ) -> Vec<String> {
        self.populate_with(client_id, users, connections_per_user, false)
    }

    /// Like [`RunningSandbox::populate`]; with `business`, every connection is to a business
    /// bank with three busy trading accounts (about 2,000 transactions a year each).
    pub fn populate_with(
        &self,
        client_id: &str,
        users: usize,
        connections_per_user: usize,
        business: bool,
    ) -> Vec<String> {
        crate::admin::populate(
            &self.shared,
            client_id,
            users,
            connections_per_user,
            business,
        )
    }

    /// Creates a persona (`everyday`, `needs-attention`, `expired`) for `client_id`: its user id
    /// and connection ids, or `None` for an unknown name.
    pub fn load_persona(&self, name: &str, client_id: &str) -> Option<(String, Vec<String>)> {
        let found = crate::admin::load_persona(&self.shared, name, client_id);
        crate::webhooks::flush(&self.shared);
        found
    }

    /// Stops accepting connections, waits (briefly) for in-flight requests, and saves the world
    /// when a data dir is set.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            // A client holding a connection open must not keep the world unsaved.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), task).await;
        }
        // Files, and perhaps a wait for the world still loading: off the async workers.
        let shared = self.shared.clone();
        let _ = tokio::task::spawn_blocking(move || shared.save_at_stop()).await;
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn router(shared: Arc<Shared>) -> Router {
    let mut app = Router::new()
        .merge(crate::identity::routes())
        .merge(crate::rest::routes())
        .nest("/v3", crate::data_api::routes())
        .nest("/v2.0", crate::data_api::routes());
    if shared.admin_enabled {
        app = app.nest(
            "/__sandbox",
            crate::admin::routes().layer(axum::middleware::from_fn_with_state(
                shared.clone(),
                crate::admin::guard,
            )),
        );
    }
    app.layer(axum::middleware::from_fn_with_state(
        shared.clone(),
        crate::faults::inject,
    ))
    .layer(axum::middleware::from_fn_with_state(
        shared.clone(),
        wait_for_the_world,
    ))
    .layer(axum::middleware::from_fn_with_state(
        shared.clone(),
        crate::webhooks::deliver_after,
    ))
    .layer(axum::middleware::from_fn_with_state(
        shared.clone(),
        crate::admin::host_guard,
    ))
    .with_state(shared)
}

/// Holds every request until the saved world is in place (a moment after a start), so no
/// handler sees the stand-in and no worker thread blocks on it.
async fn wait_for_the_world(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    shared.restored().await;
    next.run(request).await
}
