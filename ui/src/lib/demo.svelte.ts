// The presenter's side of Demo: a persona is a switch of user; every other control changes the
// sandbox's world, after which the overview and the connections are read again. (The core also
// says so with `overviewChanged`; reading here too makes the click's answer immediate.)

import { ipc } from '../ipc';
import { app } from './app.svelte';
import { clock } from './clock.svelte';

export const demo = {
  usePersona: (name: string) => app.switchTo(() => ipc.usePersona(name), `Loaded the ${name} demo.`),

  /** After a Demo control: the clock moved or the world changed under us. */
  async afterChange(now?: string) {
    if (now) clock.set(now);
    await app.overviewChanged();
  },
};
