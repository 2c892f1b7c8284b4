// The UI words what the core decided and decides nothing itself: it reads none of Moneyhub's raw
// connection values and counts no consent days. Every source file is read as text, so a new
// component that starts deciding again fails here.
import { describe, expect, it } from 'vitest';

const sources = import.meta.glob(['../**/*.ts', '../**/*.svelte', '!../**/*.test.ts', '!../ipc/bindings.gen.ts'], {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

const forbidden: [RegExp, string][] = [
  [/connection\??\.error\b/, 'Moneyhub’s raw `error` (the core types it into the verdict)'],
  [/connection\??\.status\b/, 'Moneyhub’s raw `status`'],
  [/connection\??\.extendedStatus\b/, 'Moneyhub’s raw `extendedStatus`'],
  [/connection\??\.expiresAt\b/, 'the consent’s raw end (the core counts and words it: `health.consent`)'],
  [/consentDaysLeft/, 'a consent day count of the UI’s own'],
  [/fetchStatus/, 'Moneyhub’s raw `fetchStatus` (the core words how a sync ended)'],
  [/['"](mfa_required|sync_error|credentials_error|resync|sync_partial|stoppedSyncing)['"]/, 'a Moneyhub code'],
];

describe('the UI decides nothing the core decides', () => {
  it('reads the files it checks', () => {
    expect(Object.keys(sources).length).toBeGreaterThan(20);
    expect(Object.keys(sources).some((path) => path.endsWith('ConnectionCard.svelte'))).toBe(true);
  });

  it.each(forbidden)('no source reads %s', (pattern, what) => {
    const offenders = Object.entries(sources)
      .filter(([, text]) => pattern.test(text))
      .map(([path]) => path);
    expect(offenders, `${what} is read in`).toEqual([]);
  });
});
