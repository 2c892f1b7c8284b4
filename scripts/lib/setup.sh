# Shared by scripts/run and scripts/test: installs what a fresh Debian/Ubuntu machine lacks.
# Every step checks first, so a warm machine spends seconds here.

# shellcheck shell=bash

# Packages for building Tauri on Linux (webkit2gtk 4.1 & co), running the window under Xvfb,
# driving it with WebKitWebDriver, and a real Secret Service (gnome-keyring) on a session bus.
SYSTEM_PACKAGES=(
  build-essential pkg-config file libwebkit2gtk-4.1-dev libssl-dev libxdo-dev
  libayatana-appindicator3-dev librsvg2-dev libdbus-1-dev
  xvfb xauth webkit2gtk-driver dbus dbus-x11 gnome-keyring libsecret-tools
  xdg-utils desktop-file-utils libglib2.0-bin libarchive-tools
)

# These scripts set up Debian/Ubuntu machines; elsewhere they say what to run instead.
case "$(uname -s)" in
  Linux)
    if ! command -v apt-get >/dev/null 2>&1; then
      echo "These scripts install with apt (Debian/Ubuntu). Elsewhere install Tauri's Linux packages yourself, then: npm install && npx tauri dev (run), cargo test --workspace && npm --prefix ui run test (test). See the README's Platforms." >&2
      exit 1
    fi
    ;;
  Darwin)
    echo "On macOS: npm install && npx tauri dev (run); cargo test --workspace && npm --prefix ui run test (test); npx tauri build (the .app and .dmg). See the README's Platforms." >&2
    exit 1
    ;;
  *)
    echo "On Windows: npm install; npx tauri dev (run); cargo test --workspace; npm --prefix ui run test (test); npx tauri build (the installer). See the README's Platforms." >&2
    exit 1
    ;;
esac

# Each step says when it starts, from the script's start, so a slow CI run shows where.
say() { printf '\n\033[1m==> %s\033[0m (at %dm%02ds)\n' "$*" $((SECONDS / 60)) $((SECONDS % 60)); }

# On some machines /dev/null is a regular file (something replaced the device before we ran).
# Then whatever a program throws away lands in it and whatever reads it gets that back: cargo's
# target probe runs `rustc -` on its stdin, and clippy failed in CI reading a C compiler's
# error line that a build script had thrown away. Put the device back.
ensure_dev_null() {
  if [ -c /dev/null ]; then
    return
  fi
  say "/dev/null is a regular file here: making it the null device again"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  "${sudo[@]}" rm -f /dev/null
  "${sudo[@]}" mknod -m 666 /dev/null c 1 3
}

ensure_system_packages() {
  local missing=()
  for package in "${SYSTEM_PACKAGES[@]}"; do
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null)" != "installed" ]; then
      missing+=("$package")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return
  fi
  say "Installing system packages: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
      export PATH="$HOME/.cargo/bin:$PATH"
    else
      echo "Rust is missing: install it from https://rustup.rs, then run this again." >&2
      exit 1
    fi
  fi
  if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    say "Adding rustfmt and clippy"
    rustup component add rustfmt clippy
  fi
}

ensure_node() {
  if ! command -v npm >/dev/null 2>&1; then
    echo "Node.js 20.19+ and npm are missing: install them (e.g. from nodejs.org), then run this again." >&2
    exit 1
  fi
}

# Installs the locked versions when the lockfile changed since the last install. Not `npm ci`:
# it refuses a lockfile that lacks the Tauri CLI's binaries for other platforms, and a registry
# mirror that does not carry those (as on our CI machines) produces exactly such a lockfile.
ensure_npm_packages() {
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "Installing npm packages"
    npm install --no-audit --no-fund --loglevel=error
  fi
}

ensure_tauri_driver() {
  local cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
  export PATH="$cargo_bin:$PATH"
  if ! command -v tauri-driver >/dev/null 2>&1; then
    say "Installing tauri-driver"
    cargo install tauri-driver --version '^2' --locked --quiet
  fi
}

build_ui() {
  say "Building the UI"
  npm --prefix ui run build --silent
}

# Runs "$@" the way a desktop session would: an X display (Xvfb), a private session bus, and an
# unlocked GNOME Keyring, with XDG folders in a throwaway directory so nothing touches the real
# home. The keyring password is only for this throwaway keyring.
in_desktop_session() {
  local session_dir
  session_dir="$(mktemp -d)"
  mkdir -p "$session_dir/runtime" && chmod 700 "$session_dir/runtime"
  local status=0
  XDG_RUNTIME_DIR="$session_dir/runtime" XDG_DATA_HOME="$session_dir/data" \
    XDG_CONFIG_HOME="$session_dir/config" XDG_CACHE_HOME="$session_dir/cache" \
    xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" \
    dbus-run-session -- bash -c '
      printf "banklinks-test-keyring" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
      exec "$@"' _ "$@" \
    2> >(grep -vE "dbus-daemon|portal|pw.conf|RealtimeKit|PipeWire|max threads value|a11y|^$" >&2) ||
    status=$?
  # The session's document portal may leave a FUSE mount behind; unmount it, and never let
  # cleaning up a throwaway folder decide the result.
  fusermount -u "$session_dir/runtime/doc" 2>/dev/null || true
  rm -rf "$session_dir" 2>/dev/null || true
  return $status
}
