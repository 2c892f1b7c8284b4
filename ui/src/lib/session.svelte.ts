// Who and where: the app overview (environment, profiles, the active one, Demo state). It is
// read again only when the core says it changed (`overviewChanged`) or after the person
// changes it; the events and the timer are wired in app.svelte.ts.

import { ipc, type IpcError, type Overview } from '../ipc';
import { clock } from './clock.svelte';

class Session {
  overview = $state<Overview | undefined>();
  overviewError = $state<IpcError | undefined>();
  /** A call said there is no profile even if the overview has not caught up yet. */
  noProfile = $state(false);
  startupNoticeDismissed = $state(false);

  get hasProfile(): boolean {
    return !this.noProfile && !!this.overview?.activeProfile;
  }

  get isDemo(): boolean {
    return this.overview?.environment.kind === 'demo';
  }

  get profileName(): string | undefined {
    const id = this.overview?.activeProfile;
    return this.overview?.profiles.find((p) => p.id === id)?.name;
  }

  /** When the profile last heard from Moneyhub (the core keeps it). */
  get lastRefresh(): string | null {
    return this.overview?.lastRefresh ?? null;
  }

  async loadOverview() {
    const outcome = await ipc.appOverview();
    if (!outcome.ok) {
      if (outcome.error.code === 'no_profile') this.noProfile = true;
      else this.overviewError = outcome.error;
      return;
    }
    this.overview = outcome.value;
    this.overviewError = undefined;
    if (outcome.value.activeProfile) this.noProfile = false;
    clock.set(outcome.value.now);
  }

  /** A call's error said something about the session. */
  noted(error: IpcError) {
    if (error.code === 'no_profile') this.noProfile = true;
  }
}

export const session = new Session();
