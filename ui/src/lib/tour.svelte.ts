// Present mode: the guided tour of a bank link's life (scenes in features/present/scenes.ts).
// Each scene sets its state up through the Demo's own controls, routes to its page and names
// the card the audience should look at; the card scrolls into view and is highlighted. The
// scene reached is remembered, so a presenter can leave and resume where they were.

import { ipc, type Outcome } from '../ipc';
import {
  focusedConnection,
  scenes,
  type Scene,
  type SceneFocus,
  type SceneSetup,
} from '../features/present/scenes';
import { app } from './app.svelte';
import { authorizations } from './authorizations.svelte';
import { announcer } from './announcer.svelte';
import { dashboard } from './dashboard.svelte';
import { demo } from './demo.svelte';
import { explain } from './errors';
import { navigate } from './router.svelte';

const SAVED_SCENE = 'banklinks.tour.scene';

function savedScene(): number | undefined {
  const text = globalThis.localStorage?.getItem(SAVED_SCENE);
  const index = text === null || text === undefined ? NaN : Number(text);
  return Number.isInteger(index) && index >= 0 && index < scenes.length ? index : undefined;
}

class Tour {
  active = $state(false);
  index = $state(0);
  /** The connection the scene is about: its card is highlighted and scrolled into view. */
  highlight = $state<string | undefined>();
  preparing = $state(false);
  problem = $state<string | undefined>();
  /** Where a presenter left off, for "Resume". */
  resumeAt = $state<number | undefined>(savedScene());

  get scene(): Scene {
    return scenes[this.index] ?? scenes[0]!;
  }
  get count(): number {
    return scenes.length;
  }

  async start(at = 0) {
    this.active = true;
    document.documentElement.classList.add('presenting');
    await this.go(at);
  }

  async resume() {
    await this.start(this.resumeAt ?? 0);
  }

  leave() {
    this.active = false;
    this.highlight = undefined;
    this.problem = undefined;
    document.documentElement.classList.remove('presenting');
    announcer.say(`Left the tour at scene ${this.index + 1} of ${this.count}. Resume from the Demo controls.`);
  }

  async next() {
    if (this.index + 1 < this.count) await this.go(this.index + 1);
    else this.leave();
  }

  async back() {
    if (this.index > 0) await this.go(this.index - 1);
  }

  async go(index: number) {
    if (this.preparing) return;
    this.index = index;
    this.resumeAt = index;
    globalThis.localStorage?.setItem(SAVED_SCENE, String(index));
    this.preparing = true;
    this.problem = undefined;
    this.highlight = undefined;
    // A new scene is a new moment: what the last one's notices said is over.
    dashboard.clearNews();
    authorizations.clearOutcome();
    const scene = this.scene;
    try {
      for (const step of scene.setup) {
        const failed = await this.run(step, scene.focus);
        if (failed) {
          this.problem = failed;
          break;
        }
      }
      navigate(scene.route);
      this.highlight = focusedConnection(scene.focus, dashboard.connections);
      // A scene about no card in particular starts at the top of its page.
      if (this.highlight === undefined) document.querySelector('main')?.scrollTo({ top: 0 });
      announcer.say(`Scene ${index + 1} of ${this.count}: ${scene.title}. ${scene.caption}`);
    } finally {
      this.preparing = false;
    }
  }

  /** One setup step; a failure is returned in words (the tour goes on, the presenter sees it). */
  private async run(step: SceneSetup, focus: SceneFocus): Promise<string | undefined> {
    const words = (outcome: Outcome<unknown>) =>
      outcome.ok ? undefined : `${explain(outcome.error).title}. ${outcome.error.message}`;
    switch (step.kind) {
      case 'none':
        return undefined;
      case 'freshUser':
        return words(await app.switchTo(() => ipc.createProfile('Presenter', null), 'A new Demo user, with no connections yet.'));
      case 'persona':
        return words(await demo.usePersona(step.name));
      case 'online': {
        const outcome = await ipc.demoSetOnline(step.online);
        await demo.afterChange();
        await dashboard.refresh();
        return words(outcome);
      }
      case 'break': {
        const target = focusedConnection(focus, dashboard.connections);
        if (!target) return 'There is no connection for this scene yet: add one first.';
        const outcome = await ipc.demoBreakConnection(target, step.how);
        await demo.afterChange();
        return words(outcome);
      }
    }
  }
}

export const tour = new Tour();
