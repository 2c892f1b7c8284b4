// Bank icons the core keeps on this device, by bank id. Read once at start and again after the
// bank chooser's list (which fetches the missing ones); a bank without one shows its initial.

import { ipc } from '../ipc';

class Icons {
  byBank = $state<Partial<Record<string, string>>>({});

  #fetchedList = false;

  async load() {
    const outcome = await ipc.bankIcons();
    if (outcome.ok) this.byBank = outcome.value;
  }

  /** Once a run, when a connection's bank has no icon on this device, the bank list (which
   * fetches the missing icons) is read in the background. */
  async fillIn(connectionIds: string[]) {
    if (this.#fetchedList || connectionIds.every((id) => this.forConnection(id))) return;
    this.#fetchedList = true;
    const listed = await ipc.institutions();
    if (listed.ok) await this.load();
  }

  /** A connection's bank icon: Moneyhub's connection ids start with the bank's id. */
  forConnection(connectionId: string): string | undefined {
    return this.byBank[connectionId.split(':')[0] ?? ''];
  }
}

export const icons = new Icons();
