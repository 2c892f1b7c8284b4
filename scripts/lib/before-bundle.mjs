// Runs before `npx tauri build` bundles. The AppImage is left out of the default targets (the
// .deb and the .rpm): the bundler downloads linuxdeploy from GitHub to make one, so a build
// without that network would fail at its last step. Say so where the person building looks.
if (process.platform === 'linux') {
  console.log(
    'Banklinks: the AppImage is not a default bundle, because the bundler fetches linuxdeploy ' +
      'from GitHub for it; with that network, run `npx tauri build --bundles appimage`.',
  );
}
