# Type-checks the workspace for another platform's target on this Debian machine, with nothing
# but Debian's packages and crates.io: Debian 12's security updates carry rustc/cargo 1.96
# (`rustc-web`, `cargo-web`) and the standard library's source (`rust-web-src`), so the target's
# standard library is built from source (`-Zbuild-std`, which a release compiler accepts with
# RUSTC_BOOTSTRAP=1). It proves that every Rust line of the workspace, tests included, compiles
# for that target with warnings denied; it links nothing and runs nothing.

# shellcheck shell=bash

CROSS_PACKAGES=(rustc-web cargo-web rust-web-src)

ensure_cross_packages() {
  local missing=()
  for package in "${CROSS_PACKAGES[@]}" "$@"; do
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null)" != "installed" ]; then
      missing+=("$package")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return
  fi
  say "Installing for the cross-platform type-check: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# cross_check TARGET: the whole workspace, every target kind, in its own target folder (Debian's
# compiler is not the one the Linux build uses, so nothing could be shared anyway).
cross_check() {
  local target="$1" log
  log="$(mktemp)"
  # Debian's compiler and cargo by path: rustup's come first on PATH and are another version.
  if ! RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc /usr/bin/cargo check --locked \
      -Zbuild-std=std,panic_abort --target "$target" --workspace --all-targets \
      --target-dir target/cross 2>&1 | tee "$log"; then
    rm -f "$log"
    return 1
  fi
  # Only the workspace's own crates report warnings (dependencies' are capped): deny them.
  if sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -q '^warning'; then
    echo "warnings for $target: fix them as for Linux" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}
