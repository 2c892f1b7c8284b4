// The person's own changes of who and where: environments and profiles. Each is a switch: the
// old world's state goes and the new one is read (app.switchTo).

import { ipc, type EnvironmentSettings } from '../ipc';
import { app } from './app.svelte';

export const settings = {
  activateEnvironment: (id: string) => app.switchTo(() => ipc.activateEnvironment(id), 'Switched environment.'),
  saveEnvironment: (environment: EnvironmentSettings, secret: string | null) =>
    app.switchTo(() => ipc.saveEnvironment(environment, secret), `Saved and switched to ${environment.name}.`),
  removeEnvironment: (id: string) => app.switchTo(() => ipc.removeEnvironment(id), 'Environment removed.'),
  createProfile: (name: string, existingUserId: string | null) =>
    app.switchTo(() => ipc.createProfile(name, existingUserId), `Created ${name}.`),
  selectProfile: (id: string) => app.switchTo(() => ipc.selectProfile(id), 'Switched user.'),
};
