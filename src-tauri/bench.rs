//! The app's own start-up figure for `scripts/bench-app`: how long from the process starting to
//! the UI's first paint of real content (the dashboard's cards, or the first-run screen). The UI
//! reports the paint; this writes it to the file named by `BANKLINKS_BENCH_REPORT` and does
//! nothing otherwise, so the figure never includes a WebDriver session or a guess from outside.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

static STARTED: OnceLock<Instant> = OnceLock::new();
static PAINT_REPORTED: AtomicBool = AtomicBool::new(false);

/// The report file, in builds that take test and benchmark hooks (debug, or `bench-hooks`): a
/// release build appends to no path its environment names.
#[cfg(any(debug_assertions, feature = "bench-hooks"))]
fn report_path() -> Option<std::ffi::OsString> {
    std::env::var_os("BANKLINKS_BENCH_REPORT")
}

#[cfg(not(any(debug_assertions, feature = "bench-hooks")))]
fn report_path() -> Option<std::ffi::OsString> {
    None
}

/// Called first thing in `run`.
pub fn mark_start() {
    STARTED.get_or_init(Instant::now);
    heap_profile::start();
    stage("start");
}

/// Records the process's anonymous memory (its heaps: Rust's, GLib's, WebKit's in-process
/// part) and the time since start at a named point of start-up, so the benchmark can say which
/// step it grew in and when each step ended.
pub fn stage(name: &str) {
    let Some(path) = report_path() else {
        return;
    };
    let anonymous_kib = std::fs::read_to_string("/proc/self/smaps_rollup")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("Anonymous:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .unwrap_or(0);
    let at_ms = STARTED
        .get()
        .map_or(0.0, |started| started.elapsed().as_secs_f64() * 1000.0);
    append(
        &path,
        &format!("anonymous_kib={anonymous_kib} at_ms={at_ms:.0} stage={name}"),
    );
}

fn append(path: &std::ffi::OsStr, line: &str) {
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| writeln!(file, "{line}"));
    if let Err(err) = written {
        tracing::warn!(%err, "could not write the benchmark report");
    }
}

/// The first paint, once per run, with the page's own marks (ms since it began loading).
pub fn first_paint(cards: u32, marks: &[(String, f64)]) {
    let Some(path) = report_path() else {
        return;
    };
    if PAINT_REPORTED.swap(true, Ordering::SeqCst) {
        return;
    }
    let Some(started) = STARTED.get() else {
        return;
    };
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(millis, cards, "first paint");
    stage("first paint");
    for (step, at) in marks {
        // Only what the page sends: a name of plain words.
        let step: String = step
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ')
            .take(40)
            .collect();
        append(&path, &format!("page_ms={at:.1} step={step}"));
    }
    append(&path, &format!("first_paint_ms={millis:.1} cards={cards}"));
    heap_profile::finish_after_first_paint(*started);
}

/// Rust's heap by allocation site (`--features heap-profile`, with `BANKLINKS_HEAP_PROFILE`
/// naming the file): dhat records every allocation from the start, and the profile is written
/// 3 s after start (as the benchmark's memory figure is taken), or at the first paint if that
/// comes later, so it shows what is live then, site by site. It sees only what Rust allocates,
/// not GLib's or WebKit's own heaps.
#[cfg(feature = "heap-profile")]
mod heap_profile {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    static PROFILER: Mutex<Option<dhat::Profiler>> = Mutex::new(None);
    const AT: Duration = Duration::from_secs(3);

    pub fn start() {
        let Some(file) = std::env::var_os("BANKLINKS_HEAP_PROFILE") else {
            return;
        };
        // Untrimmed: the app's own frame can be far from the allocation (inside serde, say).
        let profiler = dhat::Profiler::builder()
            .file_name(file)
            .trim_backtraces(None)
            .build();
        *crate::state::lock(&PROFILER) = Some(profiler);
    }

    pub fn finish_after_first_paint(started: Instant) {
        std::thread::spawn(move || {
            if let Some(rest) = AT.checked_sub(started.elapsed()) {
                std::thread::sleep(rest);
            }
            // Dropping the profiler writes the file.
            drop(crate::state::lock(&PROFILER).take());
        });
    }
}

#[cfg(not(feature = "heap-profile"))]
mod heap_profile {
    pub fn start() {}
    pub fn finish_after_first_paint(_: std::time::Instant) {}
}
