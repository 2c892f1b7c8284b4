# Shared by check-linux-package and package-linux.

# shellcheck shell=bash

# Tauri's bundler compresses the .deb's payload with gzip and offers no other; Debian's own
# packages use xz, which takes the release .deb from 10.5 MB to 6.9 MB (measured). Same files,
# same control data: dpkg-deb unpacks it and builds it again.
repack_deb_with_xz() {
  local deb="$1" work
  work="$(mktemp -d)"
  dpkg-deb -R "$deb" "$work/root"
  dpkg-deb --root-owner-group -Zxz -z9 -b "$work/root" "$work/repacked.deb" >/dev/null
  mv "$work/repacked.deb" "$deb"
  rm -rf "$work"
}
