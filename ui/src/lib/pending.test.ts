import { describe, expect, it } from 'vitest';
import type { PendingView } from '../ipc';
import { failureEndsWaiting, hasExpired, isDuplicateAnswer, lifetimeMs, pendingTitle, remainingMs } from './pending';

const pending = (state: string, expiresAt: string): PendingView => ({
  state,
  purpose: 'addConnection',
  connectionId: null,
  bankId: 'b',
  startedAt: '2025-11-21T14:00:00Z',
  expiresAt,
});

describe('pending authorizations', () => {
  const a = pending('a', '2025-11-21T14:10:00Z');
  const b = pending('b', '2025-11-21T14:20:00Z');

  it('counts down to expiry against the app’s now', () => {
    expect(remainingMs(a, '2025-11-21T14:09:00Z')).toBe(60_000);
    expect(hasExpired(a, '2025-11-21T14:09:00Z')).toBe(false);
    expect(hasExpired(a, '2025-11-21T14:10:00Z')).toBe(true);
  });

  it('takes the lifetime from what the core sent', () => {
    expect(lifetimeMs(a)).toBe(10 * 60_000);
    expect(lifetimeMs(b)).toBe(20 * 60_000);
  });

  it('titles the wait', () => {
    expect(pendingTitle('addConnection', 'Monzo')).toBe('Connecting Monzo');
    expect(pendingTitle('reconsent', 'Barclaycard')).toBe('Renewing consent for Barclaycard');
    expect(pendingTitle('addConnection', undefined)).toBe('Connecting a new bank');
  });

  it('keeps waiting when a forged or replayed link matched nothing', () => {
    expect(failureEndsWaiting({ code: 'no_such_authorization' })).toBe(false);
    expect(failureEndsWaiting({ code: 'authorization_failed' })).toBe(true);
    expect(failureEndsWaiting({ code: 'already_handled' })).toBe(false);
  });

  it('tells a duplicate answer from a failure', () => {
    expect(isDuplicateAnswer({ code: 'already_handled' })).toBe(true);
    expect(isDuplicateAnswer({ code: 'no_such_authorization' })).toBe(false);
  });
});
