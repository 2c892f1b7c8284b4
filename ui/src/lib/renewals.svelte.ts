// "Renew all": the core keeps the batch (and resumes it after a restart); this store asks it
// for each step, and moves on by itself when a trip to a bank ends, well or badly.

import { ipc, type IpcError, type RenewAllView, type RenewStep } from '../ipc';
import { announcer } from './announcer.svelte';
import { dashboard } from './dashboard.svelte';

class Renewals {
  view = $state<RenewAllView | null>(null);
  busy = $state(false);
  error = $state<IpcError | null>(null);

  /** A batch is under way (something at a bank, or more to do and not stopped). */
  get running(): boolean {
    const batch = this.view?.batch;
    return !!batch && (batch.current !== null || (!batch.stopping && batch.queue.length > 0));
  }

  async load() {
    await this.#step({ step: 'status' });
  }

  start = () => this.#step({ step: 'start' });
  next = () => this.#step({ step: 'continue' });
  cancel = () => this.#step({ step: 'cancel' });
  dismiss = () => this.#step({ step: 'dismiss' });

  /** A trip to the bank ended well: if it was the batch's, the next bank opens. */
  async tripFinished() {
    if (!this.view?.batch?.current) return;
    await this.load();
    if (this.running) await this.next();
  }

  /** A trip to the bank failed or ran out. The core settled the batch itself (a failure at
   * another bank leaves it alone), so this reads where it stands and, if the batch's trip is
   * over, opens the next bank. */
  async tripEnded() {
    if (!this.view?.batch) return;
    await this.load();
    if (this.running && !this.view?.batch?.current) await this.next();
  }

  async #step(step: RenewStep) {
    this.busy = true;
    const outcome = await ipc.renewAll(step);
    this.busy = false;
    if (!outcome.ok) {
      this.error = outcome.error;
      announcer.say(`Renewing stopped: ${outcome.error.message}`);
      return;
    }
    this.error = null;
    this.view = outcome.value;
    const current = outcome.value.batch?.current;
    if (current && step.step !== 'status') {
      announcer.say(`Opened ${dashboard.nameOf(current) ?? 'the bank'} in your browser to renew its consent.`);
    }
  }
}

export const renewals = new Renewals();
