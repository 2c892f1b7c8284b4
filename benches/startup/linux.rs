//! The start-up benchmark itself; see `benches/startup.rs`.

#[allow(dead_code)]
#[path = "../../tests/window/support.rs"]
mod support;

#[allow(dead_code)]
#[path = "../../tests/window/desktop_bus.rs"]
mod desktop_bus;

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use banklinks_core::keychain::OsKeychain;
use banklinks_core::workspace::Workspace;
use desktop_bus::x11;

const CONNECTIONS: usize = 50;
const ROUNDS: usize = 3;
const SETTLE: Duration = Duration::from_secs(3);
const MIB: f64 = 1024.0;

#[derive(Debug, Clone, Default)]
struct Sample {
    window_ms: f64,
    paint_ms: f64,
    cards: u32,
    pss_total_kib: u64,
    pss_app_kib: u64,
    /// The app process's PSS by what it is mapped from.
    breakdown: BTreeMap<&'static str, u64>,
    /// The app's anonymous memory (KiB) at each start-up stage it reported, in order, with
    /// when (ms since its start).
    stages: Vec<(String, u64, f64)>,
    /// The page's own start-up marks (ms since it began loading), in order.
    page: Vec<(String, f64)>,
}

fn binary(variable: &str, default: Option<&str>) -> PathBuf {
    let path = std::env::var_os(variable)
        .map(PathBuf::from)
        .or_else(|| default.map(PathBuf::from))
        .unwrap_or_else(|| panic!("{variable} is not set: run scripts/bench-app"));
    assert!(path.is_file(), "{path:?} is not built");
    path
}

/// Every process descended from `root`, `root` included.
fn process_tree(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The command name is in parentheses and may hold spaces: the parent follows the last ')'.
        let Some(parent) = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|ppid| ppid.parse::<u32>().ok())
        else {
            continue;
        };
        children.entry(parent).or_default().push(pid);
    }
    let mut tree = vec![root];
    let mut index = 0;
    while index < tree.len() {
        if let Some(kids) = children.get(&tree[index]) {
            tree.extend(kids);
        }
        index += 1;
    }
    tree
}

fn pss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("Pss:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The process's PSS grouped by what each mapping comes from.
fn breakdown(pid: u32, binary: &Path) -> BTreeMap<&'static str, u64> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let binary = binary.to_string_lossy();
    let mut groups = BTreeMap::new();
    let mut current = "other";
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or_default();
        if first.contains('-') && first.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            let path = fields.nth(4).unwrap_or_default();
            current = match path {
                "" | "[heap]" => "heap and anonymous (Rust, GLib, GTK)",
                p if p == binary => "the app's own binary",
                p if p.contains("libwebkit2gtk") => "WebKitGTK library",
                p if p.contains("libjavascriptcoregtk") => "JavaScriptCore library",
                p if p.contains(".so") => "other shared libraries",
                _ => "other (stacks, fonts, caches)",
            };
        } else if let Some(value) = line.strip_prefix("Pss:") {
            let kib: u64 = value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .unwrap_or(0);
            *groups.entry(current).or_insert(0) += kib;
        }
    }
    groups
}

/// Launches `binary`, measures it, and stops it (and everything it started).
fn measure(binary: &Path, title: &str, env: &[(&str, OsString)]) -> Sample {
    let report_dir = tempfile::tempdir().expect("report folder");
    let report = report_dir.path().join("report.txt");
    let display = x11::Display::open();
    let started = Instant::now();
    let mut child = launch(binary, env, &report);
    let pid = child.id();
    let deadline = started + Duration::from_secs(60);
    let mut sample = Sample::default();
    while sample.window_ms == 0.0 {
        assert!(Instant::now() < deadline, "{title}: no window within 60 s");
        if display
            .windows_titled(title)
            .into_iter()
            .any(|window| display.is_viewable(window))
        {
            sample.window_ms = started.elapsed().as_secs_f64() * 1000.0;
        } else {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    while sample.paint_ms == 0.0 {
        assert!(
            Instant::now() < deadline,
            "{title}: no first paint within 60 s"
        );
        let text = std::fs::read_to_string(&report).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.starts_with("first_paint_ms=")) {
            for part in line.split_whitespace() {
                if let Some(ms) = part.strip_prefix("first_paint_ms=") {
                    sample.paint_ms = ms.parse().expect("a number");
                }
                if let Some(cards) = part.strip_prefix("cards=") {
                    sample.cards = cards.parse().expect("a count");
                }
            }
        } else {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    if let Some(rest) = SETTLE.checked_sub(started.elapsed()) {
        std::thread::sleep(rest);
    }
    for line in std::fs::read_to_string(&report).unwrap_or_default().lines() {
        if let Some((kib, (at, stage))) = line
            .strip_prefix("anonymous_kib=")
            .and_then(|rest| rest.split_once(" at_ms="))
            .and_then(|(kib, rest)| Some((kib, rest.split_once(" stage=")?)))
        {
            sample.stages.push((
                stage.to_string(),
                kib.parse().expect("a number"),
                at.parse().expect("a number"),
            ));
        }
        if let Some((ms, step)) = line
            .strip_prefix("page_ms=")
            .and_then(|rest| rest.split_once(" step="))
        {
            sample
                .page
                .push((step.to_string(), ms.parse().expect("a number")));
        }
    }
    let tree = process_tree(pid);
    sample.pss_total_kib = tree.iter().map(|pid| pss_kib(*pid)).sum();
    sample.pss_app_kib = pss_kib(pid);
    sample.breakdown = breakdown(pid, binary);
    stop(&mut child);
    sample
}

/// Starts `binary` in its own process group, quiet, reporting to `report`.
fn launch(binary: &Path, env: &[(&str, OsString)], report: &Path) -> std::process::Child {
    Command::new(binary)
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .env("BANKLINKS_BENCH_REPORT", report)
        .env("BANKLINKS_LOG", "warn")
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|err| panic!("launch {binary:?}: {err}"))
}

/// Stops the app and everything it started (its WebKit processes share its group).
fn stop(child: &mut std::process::Child) {
    let _ = Command::new("kill")
        .args(["-TERM", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.wait();
}

/// The growth of anonymous memory between the stages the app reported (a start-up heap profile
/// by step), median over the runs.
fn print_stages(samples: &[Sample]) {
    let Some(first) = samples.first() else { return };
    let mut previous = 0.0;
    for (index, (stage, _, _)) in first.stages.iter().enumerate() {
        let of = |pick: fn(&(String, u64, f64)) -> f64| {
            median(samples.iter().filter_map(|s| s.stages.get(index).map(pick)))
        };
        let kib = of(|(_, kib, _)| *kib as f64);
        let at = of(|(_, _, at)| *at);
        let growth = if index == 0 { 0.0 } else { kib - previous };
        println!(
            "  {stage:<40} at {at:>5.0} ms {:>6.1} MiB anonymous{}",
            kib / MIB,
            if index == 0 {
                String::new()
            } else {
                format!(" (+{:.1})", growth / MIB)
            }
        );
        previous = kib;
    }
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("folder");
    for entry in std::fs::read_dir(from).expect("folder").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A Banklinks data folder and keychain service with a Demo user of 50 connections.
fn prepared_store(runtime: &tokio::runtime::Runtime, name: &str) -> tempfile::TempDir {
    let prepared = tempfile::tempdir().expect("data folder");
    runtime.block_on(async {
        let keychain = Arc::new(OsKeychain::new(support::keychain_service(name)));
        let workspace = Workspace::open(prepared.path().to_path_buf(), keychain)
            .await
            .expect("prepare the store");
        workspace
            .demo_busy_user(CONNECTIONS)
            .await
            .expect("a user with 50 connections");
        assert_eq!(workspace.dashboard().expect("dashboard").len(), CONNECTIONS);
        workspace.close().await;
    });
    prepared
}

/// Where Rust's heap goes 3 s after a launch with 50 connections, by allocation site: the
/// app's own function nearest each allocation (or, when none of ours is on the stack, the
/// library that allocated), from the dhat profile the heap-profile build writes.
fn heap_profile(app: &Path, runtime: &tokio::runtime::Runtime) {
    let prepared = prepared_store(runtime, "bench-heap");
    let folder = tempfile::tempdir().expect("profile folder");
    let file = folder.path().join("dhat-heap.json");
    let mut child = launch(
        app,
        &[
            ("BANKLINKS_DATA_DIR", prepared.path().as_os_str().to_owned()),
            (
                "BANKLINKS_KEYCHAIN_SERVICE",
                support::keychain_service("bench-heap").into(),
            ),
            ("BANKLINKS_HEAP_PROFILE", file.as_os_str().to_owned()),
        ],
        &folder.path().join("report.txt"),
    );
    // Every allocation is recorded with its stack, so this build is slow: give it time.
    let deadline = Instant::now() + Duration::from_secs(300);
    let profile: serde_json::Value = loop {
        if Instant::now() >= deadline {
            stop(&mut child);
            panic!("no heap profile within 300 s");
        }
        if let Ok(value) = std::fs::read(&file)
            .map_err(|err| err.to_string())
            .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|err| err.to_string()))
        {
            break value;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    stop(&mut child);

    let frames: Vec<&str> = profile["ftbl"]
        .as_array()
        .expect("a frame table")
        .iter()
        .map(|frame| frame.as_str().unwrap_or_default())
        .collect();
    let points = profile["pps"].as_array().expect("program points");
    let stacks: Vec<Vec<Frame<'_>>> = points
        .iter()
        .map(|point| {
            point["fs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|index| frames.get(index.as_u64()? as usize).copied())
                .map(frame_of)
                .collect()
        })
        .collect();
    let micros = |key: &str| profile[key].as_f64().unwrap_or(0.0) / 1000.0;
    // "eb": live when the profile was written (3 s); "gb": live at the heap's peak.
    for (key, when) in [
        (
            "eb",
            format!("at {:.0} ms, as the memory figure is taken", micros("te")),
        ),
        (
            "gb",
            format!("at its peak, {:.0} ms after start", micros("tg")),
        ),
    ] {
        let mut by_site: HashMap<String, u64> = HashMap::new();
        let mut by_part: HashMap<String, u64> = HashMap::new();
        let mut total = 0;
        for (point, stack) in points.iter().zip(&stacks) {
            let live = point[key].as_u64().unwrap_or(0);
            if live == 0 {
                continue;
            }
            total += live;
            let (site, part) = attribute(stack);
            *by_site.entry(site).or_insert(0) += live;
            *by_part.entry(part).or_insert(0) += live;
        }
        print_heap(&when, total, by_part, by_site);
    }
}

fn print_heap(
    when: &str,
    total: u64,
    by_part: HashMap<String, u64>,
    by_site: HashMap<String, u64>,
) {
    let mib = |bytes: u64| bytes as f64 / 1024.0 / 1024.0;
    println!();
    println!(
        "Rust's heap {when}, {CONNECTIONS} connections (dhat, one launch of the heap-profile build): {:.1} MiB live",
        mib(total)
    );
    println!("  by file of the app (its own code nearest the allocation):");
    let mut parts: Vec<_> = by_part.into_iter().collect();
    parts.sort_by_key(|part| std::cmp::Reverse(part.1));
    for (part, bytes) in parts.iter().take(10) {
        println!("    {part:<56} {:>6.1} MiB", mib(*bytes));
    }
    println!("  the largest sites:");
    let mut sites: Vec<_> = by_site.into_iter().collect();
    sites.sort_by_key(|site| std::cmp::Reverse(site.1));
    for (site, bytes) in sites.iter().take(12) {
        println!("    {site:<90} {:>6.1} MiB", mib(*bytes));
    }
}

/// One frame of a dhat backtrace: "0x…: function (path/to/file.rs:line:column)". The function
/// is its bare name; the path starts with the crate's folder for the app's own crates.
struct Frame<'a> {
    function: &'a str,
    place: &'a str,
}

fn frame_of(text: &str) -> Frame<'_> {
    let text = text.split_once(": ").map_or(text, |(_, rest)| rest);
    match text.rsplit_once(" (") {
        Some((function, place)) => Frame {
            function,
            place: place.trim_end_matches(')'),
        },
        None => Frame {
            function: text,
            place: "",
        },
    }
}

/// The site (file, line and function) and the part (the file) an allocation is charged to:
/// the innermost frame in the app's own crates; when none is on the stack, the innermost frame
/// outside the allocator and the standard library, charged to "libraries".
fn attribute(stack: &[Frame<'_>]) -> (String, String) {
    const OURS: [&str; 4] = [
        "banklinks-core/src/",
        "moneyhub-sandbox/src/",
        "moneyhub/src/",
        "src-tauri/",
    ];
    // The allocator hook itself sits in the app's main.rs.
    const PLUMBING: [&str; 7] = [
        "src-tauri/main.rs",
        "alloc/src/",
        "core/src/",
        "std/src/",
        "dhat-",
        "src/backtrace/",
        "hashbrown",
    ];
    let file_line = |place: &str| {
        place
            .rsplit_once(':')
            .map_or(place, |(rest, _)| rest)
            .to_string()
    };
    let ours = stack.iter().find(|frame| {
        !PLUMBING.iter().any(|p| frame.place.contains(p))
            && OURS.iter().any(|o| frame.place.contains(o))
    });
    if let Some(frame) = ours {
        let start = OURS
            .iter()
            .filter_map(|o| frame.place.find(o))
            .min()
            .unwrap_or(0);
        let place = &frame.place[start..];
        let file = place.split(':').next().unwrap_or(place).to_string();
        return (format!("{} {}", file_line(place), frame.function), file);
    }
    let library = stack
        .iter()
        .find(|frame| !frame.place.is_empty() && !PLUMBING.iter().any(|p| frame.place.contains(p)));
    match library {
        Some(frame) => (
            format!("{} ({})", frame.function, file_line(frame.place)),
            "libraries, no app code on the stack".into(),
        ),
        None => ("unresolved".into(), "unresolved".into()),
    }
}

pub fn main() {
    // This package's binary, built by `cargo bench` in its release-based profile.
    let app = binary("BANKLINKS_BENCH_APP", Some(env!("CARGO_BIN_EXE_banklinks")));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // `scripts/bench-app prepare <folder>`: a 50-connection data folder to profile by hand
    // (keychain service `bench-by-hand`).
    let args: Vec<String> = std::env::args().collect();
    if let Some(folder) = args
        .iter()
        .position(|arg| arg == "prepare")
        .and_then(|at| args.get(at + 1))
    {
        let prepared = prepared_store(&runtime, "bench-by-hand");
        copy_folder(prepared.path(), Path::new(folder));
        println!(
            "prepared {folder} (BANKLINKS_KEYCHAIN_SERVICE={})",
            support::keychain_service("bench-by-hand")
        );
        return;
    }
    // `scripts/bench-app heap`: the heap profile alone.
    if std::env::args().any(|arg| arg == "heap") {
        heap_profile(&binary("BANKLINKS_BENCH_HEAP_APP", None), &runtime);
        return;
    }
    let bare = binary("BANKLINKS_BENCH_BARE", None);
    let (mut bares, mut empties, mut busies) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        bares.push(measure(&bare, "Bare window", &[]));

        let fresh = tempfile::tempdir().expect("data folder");
        let name = ["bench-empty-1", "bench-empty-2", "bench-empty-3"][round];
        empties.push(measure(
            &app,
            "Banklinks",
            &[
                ("BANKLINKS_DATA_DIR", fresh.path().as_os_str().to_owned()),
                (
                    "BANKLINKS_KEYCHAIN_SERVICE",
                    support::keychain_service(name).into(),
                ),
            ],
        ));

        let name = ["bench-busy-1", "bench-busy-2", "bench-busy-3"][round];
        let prepared = prepared_store(&runtime, name);
        let busy = measure(
            &app,
            "Banklinks",
            &[
                ("BANKLINKS_DATA_DIR", prepared.path().as_os_str().to_owned()),
                (
                    "BANKLINKS_KEYCHAIN_SERVICE",
                    support::keychain_service(name).into(),
                ),
            ],
        );
        assert_eq!(
            busy.cards, CONNECTIONS as u32,
            "the first paint had {} cards, not {CONNECTIONS}",
            busy.cards
        );
        busies.push(busy);
    }

    let window = |s: &[Sample]| median(s.iter().map(|x| x.window_ms));
    let paint = |s: &[Sample]| median(s.iter().map(|x| x.paint_ms));
    let total = |s: &[Sample]| median(s.iter().map(|x| x.pss_total_kib as f64)) / MIB;
    let own = |s: &[Sample]| median(s.iter().map(|x| x.pss_app_kib as f64)) / MIB;
    let (bw, bp, bt) = (window(&bares), paint(&bares), total(&bares));
    println!("Release builds, {ROUNDS} rounds, medians; launched directly (no WebDriver).");
    println!();
    println!(
        "| | Bare Tauri window | Banklinks, first run | Banklinks, 50 connections | Target | Met |"
    );
    println!("|---|---|---|---|---|---|");
    let busy_paint_ratio = paint(&busies) / bw;
    println!(
        "| Window mapped | {bw:.0} ms | {:.0} ms | {:.0} ms | | |",
        window(&empties),
        window(&busies)
    );
    println!(
        "| First paint (the app's own figure) | {bp:.0} ms | {:.0} ms | {:.0} ms ({CONNECTIONS} cards), {busy_paint_ratio:.2}× the bare window's mapping, {:.2}× its first paint | ≤ 1.5× | {} |",
        paint(&empties),
        paint(&busies),
        paint(&busies) / bp,
        if busy_paint_ratio <= 1.5 { "yes" } else { "no" }
    );
    let extra = total(&busies) - bt;
    println!(
        "| PSS, all processes, 3 s after launch | {bt:.0} MiB | {:.0} MiB (+{:.0}) | {:.0} MiB (+{extra:.0}) | ≤ +40 MB | {} |",
        total(&empties),
        total(&empties) - bt,
        total(&busies),
        if extra * 1.048_576 <= 40.0 {
            "yes"
        } else {
            "no"
        }
    );
    println!(
        "| PSS, the app process alone | {:.0} MiB | {:.0} MiB | {:.0} MiB | | |",
        own(&bares),
        own(&empties),
        own(&busies)
    );
    println!();
    println!("Where the app process's PSS goes (median MiB; bare / first run / 50 connections):");
    let mut groups: Vec<&'static str> = busies
        .iter()
        .chain(&bares)
        .flat_map(|s| s.breakdown.keys().copied())
        .collect();
    groups.sort_unstable();
    groups.dedup();
    for group in groups {
        let of = |s: &[Sample]| {
            median(
                s.iter()
                    .map(|x| *x.breakdown.get(group).unwrap_or(&0) as f64),
            ) / MIB
        };
        println!(
            "  {group:<40} {:>6.1} {:>6.1} {:>6.1}",
            of(&bares),
            of(&empties),
            of(&busies)
        );
    }
    println!();
    println!("The app process's anonymous memory (heaps) at each start-up step, 50 connections:");
    print_stages(&busies);
    println!();
    println!("The page's start-up (ms since it began loading; first run / 50 connections):");
    let steps = busies.first().map(|s| s.page.clone()).unwrap_or_default();
    for (step, _) in &steps {
        let at = |samples: &[Sample]| {
            let found: Vec<f64> = samples
                .iter()
                .filter_map(|x| x.page.iter().find(|(name, _)| name == step))
                .map(|(_, ms)| *ms)
                .collect();
            if found.is_empty() {
                "–".to_string()
            } else {
                format!("{:.0}", median(found.into_iter()))
            }
        };
        println!("  {step:<40} {:>7} {:>7}", at(&empties), at(&busies));
    }
    if std::env::var_os("BANKLINKS_BENCH_HEAP_APP").is_some() {
        heap_profile(&binary("BANKLINKS_BENCH_HEAP_APP", None), &runtime);
    }
}
