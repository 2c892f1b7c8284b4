// Plain words for each error code. The core's message keeps Moneyhub's or the bank's own words;
// these say what happened and what the person can do, without jargon.

import type { ErrorCode, IpcError } from '../ipc';

export type Explained = { title: string; help: string };

const explanations: Record<ErrorCode, Explained> = {
  keychain_unavailable: {
    title: 'No system keychain',
    help: 'Banklinks keeps secrets only in your system keychain and will not fall back to a file.',
  },
  keychain_locked: {
    title: 'Your keychain is locked',
    help: 'Unlock your keychain, then try again.',
  },
  keychain_failed: {
    title: 'The keychain did not answer',
    help: 'Try again; if it keeps failing, check Settings → Diagnostics.',
  },
  deep_link_rejected: {
    title: 'A link was turned away',
    help: 'Only links that Banklinks itself started are accepted.',
  },
  out_of_order: {
    title: 'That needs an earlier step first',
    help: 'Start again from the beginning.',
  },
  offline: {
    title: 'Can’t reach Moneyhub',
    help: 'This needs a connection to Moneyhub. What is saved on this device is still shown.',
  },
  moneyhub_error: {
    title: 'Moneyhub returned an error',
    help: 'Nothing was changed. Try again in a little while.',
  },
  sync_not_yet: {
    title: 'Too soon to sync',
    help: 'Banks and Moneyhub limit how often a connection can sync.',
  },
  consent_expired: {
    title: 'The consent has expired',
    help: 'Renew the consent or reauthenticate to get new data.',
  },
  busy: {
    title: 'Something is already running on this connection',
    help: 'Wait for it to finish, then try again.',
  },
  already_handled: {
    title: 'Your bank’s answer had already arrived',
    help: 'Nothing more to do: the first one was used.',
  },
  no_such_authorization: {
    title: 'Your bank sent you back, but we were no longer waiting',
    help: 'The request may have timed out (after 10 minutes) or been cancelled. Start again.',
  },
  authorization_failed: {
    title: 'Your bank or Moneyhub did not complete the authorisation',
    help: 'Nothing was changed. You can try again; if it keeps failing, your bank may be having problems.',
  },
  configuration_invalid: {
    title: 'The Moneyhub settings are incomplete or wrong',
    help: 'Check the client id, secret and redirect URI in Settings.',
  },
  database_damaged: {
    title: 'The saved data could not be opened',
    help: 'It was moved aside and Banklinks started afresh.',
  },
  no_profile: {
    title: 'No user chosen yet',
    help: 'Pick or create a user first.',
  },
  user_gone: {
    title: 'Moneyhub no longer has this user',
    help: 'It was deleted outside Banklinks. What was saved here stays as history. Create a new Moneyhub user in Settings → Users, or remove this profile.',
  },
  not_allowed: {
    title: 'Not possible right now',
    help: 'The reason is below.',
  },
  not_found: {
    title: 'Not found',
    help: 'It may have been removed or renamed.',
  },
  internal: {
    title: 'Something went wrong in Banklinks',
    help: 'Try again. If it keeps happening, the journal has the details.',
  },
};

export function explain(error: Pick<IpcError, 'code'>): Explained {
  return explanations[error.code] ?? explanations.internal;
}
