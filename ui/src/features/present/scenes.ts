// The presenter's tour of a bank link's life, one scene per step. Reorder, reword or add a scene
// here; nothing else needs to change. Captions are for a non-technical audience; `action` says
// what the presenter clicks. `setup` runs when the scene opens (through the Demo's own controls),
// and `focus` names the card the audience should look at.

import type { Breakage } from '../../ipc';

export type SceneSetup =
  /** A new, empty Demo user, so a connection can be added from nothing. */
  | { kind: 'freshUser' }
  /** A ready-made user with connections in several states. */
  | { kind: 'persona'; name: string }
  /** One connection put into a state (on the focused card). */
  | { kind: 'break'; how: Breakage }
  | { kind: 'online'; online: boolean }
  | { kind: 'none' };

export type SceneFocus =
  | { kind: 'none' }
  /** The most recently added connection. */
  | { kind: 'newest' }
  /** The first connection at this bank. */
  | { kind: 'bank'; name: string };

export interface Scene {
  id: string;
  title: string;
  caption: string;
  action: string;
  route: 'dashboard' | 'add' | 'journal';
  setup: SceneSetup[];
  focus: SceneFocus;
}

export const scenes: Scene[] = [
  {
    id: 'add',
    title: 'Connect a bank',
    caption:
      'Banklinks connects to a bank through the bank’s own website. You pick the bank, approve on its page, and the bank sends you back here.',
    action: 'Search for Monzo, choose it, then approve on the bank’s page that opens.',
    route: 'add',
    setup: [{ kind: 'freshUser' }],
    focus: { kind: 'none' },
  },
  {
    id: 'history',
    title: 'History arrives in the background',
    caption:
      'The bank sends the last few months straight away. The rest of the year follows in the background, and the card says how far it has got.',
    action: 'Point at the highlighted card’s note about the history still arriving.',
    route: 'dashboard',
    setup: [],
    focus: { kind: 'newest' },
  },
  {
    id: 'sync',
    title: 'Fresh data, within the bank’s limits',
    caption:
      'Sync now asks the bank for the latest transactions. Banklinks keeps manual syncs 30 minutes apart, as Moneyhub’s guide asks, and the card says when the next is allowed before anyone clicks.',
    action: 'Click “Sync now” on the highlighted card, then show the time of the next sync.',
    route: 'dashboard',
    setup: [],
    focus: { kind: 'newest' },
  },
  {
    id: 'consent',
    title: 'Consent runs for 90 days',
    caption:
      'A bank lets an app read your data for 90 days at a time. Banklinks warns you two weeks ahead, and renewing takes two clicks without logging in again.',
    action: 'Click “Renew consent” on the highlighted card and confirm on the bank’s page.',
    route: 'dashboard',
    setup: [{ kind: 'break', how: 'consentEndingSoon' }],
    focus: { kind: 'newest' },
  },
  {
    id: 'new-id',
    title: 'Logging in again, under a new name',
    caption:
      'Sometimes the bank needs you to log in again and hands the link back under a new name. Banklinks moves its history across; nothing is lost or counted twice.',
    action: 'Click “Reauthenticate” on the highlighted card and log in on the bank’s page.',
    route: 'dashboard',
    setup: [
      { kind: 'persona', name: 'needs-attention' },
      { kind: 'break', how: 'credentialsError' },
    ],
    focus: { kind: 'bank', name: 'Sandbox Bank (new id on reauth)' },
  },
  {
    id: 'security-question',
    title: 'The bank asks a security question',
    caption:
      'Some older connections read accounts through the bank’s website, and the bank may ask a security question now and then. The card says so, and its button takes you there.',
    action: 'Click the highlighted card’s button and answer the question on the bank’s page.',
    route: 'dashboard',
    setup: [{ kind: 'break', how: 'mfaRequired' }],
    focus: { kind: 'bank', name: 'Hargreaves Lansdown' },
  },
  {
    id: 'offline',
    title: 'When Moneyhub cannot be reached',
    caption:
      'If the connection to Moneyhub drops, Banklinks keeps showing what it saved on this computer and says how old it is. Nothing is lost.',
    action: 'Show the notice at the top and the saved balances on the cards.',
    route: 'dashboard',
    setup: [{ kind: 'online', online: false }],
    // The notice at the top is the point, not one card.
    focus: { kind: 'none' },
  },
  {
    id: 'remove',
    title: 'Removing a connection',
    caption:
      'Removing a connection withdraws the bank’s consent at Moneyhub and deletes its data here. A receipt says exactly what went.',
    action: 'Open the highlighted connection, click “Remove”, and show the receipt.',
    route: 'dashboard',
    setup: [{ kind: 'online', online: true }],
    focus: { kind: 'bank', name: 'Danske Bank' },
  },
  {
    id: 'journal',
    title: 'Everything written down',
    caption:
      'The journal records what happened in plain words: what you did, what the bank did, and what Banklinks did for you, with times.',
    action: 'Scroll through the journal, then press Esc to finish.',
    route: 'journal',
    setup: [],
    focus: { kind: 'none' },
  },
];

/** The card a scene is about, among the connections on the dashboard now. */
export function focusedConnection(
  focus: SceneFocus,
  connections: { connection: { id: string; name: string; connectedOn?: string | null } }[],
): string | undefined {
  switch (focus.kind) {
    case 'none':
      return undefined;
    case 'bank':
      return connections.find((c) => c.connection.name === focus.name)?.connection.id;
    case 'newest':
      return [...connections].sort((a, b) =>
        (b.connection.connectedOn ?? '').localeCompare(a.connection.connectedOn ?? ''),
      )[0]?.connection.id;
  }
}
