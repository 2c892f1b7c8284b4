//! `moneyhub-sandbox`: runs the simulator until Ctrl-C. See the crate README.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use moneyhub_sandbox::{RunningSandbox, SandboxConfig, parse_duration};

const USAGE: &str = "usage: moneyhub-sandbox [--host 127.0.0.1] [--port 0] [--seed 42] [--clock real|manual] \
[--clock-start 2026-01-01T09:00:00Z] [--sync-window 30m] [--admin on|off] [--webhook-url URL] [--data-dir DIR]";

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<SandboxConfig, String> {
    let mut config = SandboxConfig::default();
    let mut host: IpAddr = [127, 0, 0, 1].into();
    let mut port = 0u16;
    let mut manual = false;
    let mut start: Option<DateTime<Utc>> = None;
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--host" => {
                host = value()?
                    .parse()
                    .map_err(|_| "--host must be an IP address".to_string())?
            }
            "--port" => {
                port = value()?
                    .parse()
                    .map_err(|_| "--port must be a number".to_string())?
            }
            "--seed" => {
                config.seed = value()?
                    .parse()
                    .map_err(|_| "--seed must be a number".to_string())?
            }
            "--clock" => {
                manual = match value()?.as_str() {
                    "real" => false,
                    "manual" => true,
                    _ => return Err("--clock is real or manual".into()),
                }
            }
            "--clock-start" => {
                start = Some(
                    DateTime::parse_from_rfc3339(&value()?)
                        .map_err(|_| "--clock-start must be ISO 8601".to_string())?
                        .with_timezone(&Utc),
                );
            }
            "--sync-window" => {
                config.sync_window = parse_duration(&serde_json::Value::String(value()?))
                    .ok_or("--sync-window is like 30m, 5s or 1h")?;
            }
            "--admin" => {
                config.admin = Some(match value()?.as_str() {
                    "on" => true,
                    "off" => false,
                    _ => return Err("--admin is on or off".into()),
                })
            }
            "--data-dir" => config.data_dir = Some(value()?.into()),
            "--webhook-url" => {
                let url = value()?;
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err("--webhook-url must be an http(s) URL".into());
                }
                config.webhook_url = Some(url);
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    config.bind = SocketAddr::new(host, port);
    // From the environment, not the command line, which other users can read in `ps`.
    if let Ok(token) = std::env::var("SANDBOX_ADMIN_TOKEN") {
        if token.len() < 16 {
            return Err("SANDBOX_ADMIN_TOKEN must be at least 16 characters".into());
        }
        config.admin_token = token;
    }
    if manual {
        config.manual_clock_start = Some(start.unwrap_or_else(Utc::now));
    } else if start.is_some() {
        return Err("--clock-start needs --clock manual".into());
    }
    Ok(config)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("could not start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let sandbox = match RunningSandbox::start(config).await {
            Ok(sandbox) => sandbox,
            Err(err) => {
                eprintln!("could not start the sandbox: {err}");
                return ExitCode::FAILURE;
            }
        };
        println!("identity: {}", sandbox.identity_url());
        println!("issuer:   {}/oidc", sandbox.identity_url());
        println!("api:      {}", sandbox.api_url());
        // As notebook servers do: whoever started it reads the token here; any other local
        // program, or another user of the machine, does not have it.
        if sandbox.shared.admin_enabled {
            println!("admin:    {}/__sandbox", sandbox.identity_url());
            println!(
                "          with the header  Authorization: Bearer {}",
                sandbox.shared.config.admin_token
            );
        }
        let _ = tokio::signal::ctrl_c().await;
        sandbox.stop().await;
        ExitCode::SUCCESS
    })
}
