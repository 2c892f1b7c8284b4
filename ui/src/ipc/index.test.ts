import { describe, expect, it, vi } from 'vitest';

// The generated bindings import Tauri's runtime, which needs a webview; these tests only
// exercise the error normalisation around it.
const commands = vi.hoisted(() => ({
  beginAuthorization: vi.fn(async (request: unknown) => ({ status: 'ok', data: request === null ? 'x' : null })),
  syncNow: vi.fn(async () => ({
    status: 'error',
    error: { code: 'sync_not_yet', message: 'a manual sync is allowed from 14:05' },
  })),
  dashboard: vi.fn(async () => {
    throw 'command dashboard not allowed by ACL';
  }),
}));
vi.mock('./bindings.gen', () => ({ commands, events: {} }));

const { fromGenerated, ipc, toIpcError } = await import('./index');

describe('toIpcError', () => {
  it('keeps a typed error as it is', () => {
    const error = { code: 'keychain_locked', message: 'The keychain is locked' };
    expect(toIpcError(error)).toBe(error);
  });

  it('turns Tauri string rejections into internal errors', () => {
    expect(toIpcError('command keychain_status not allowed by ACL')).toEqual({
      code: 'internal',
      message: 'command keychain_status not allowed by ACL',
    });
  });

  it('turns thrown Errors and empty values into internal errors with a message', () => {
    expect(toIpcError(new Error('boom'))).toEqual({ code: 'internal', message: 'boom' });
    expect(toIpcError('').message).toMatch(/went wrong/);
  });
});

describe('fromGenerated', () => {
  it('maps ok and error results', () => {
    expect(fromGenerated({ status: 'ok', data: 3 })).toEqual({ ok: true, value: 3 });
    expect(fromGenerated({ status: 'error', error: 'denied' })).toEqual({
      ok: false,
      error: { code: 'internal', message: 'denied' },
    });
  });
});

describe('ipc wrappers', () => {
  it('pass arguments through and return the value', async () => {
    const request = { kind: 'reconsent', connectionId: 'a:b' } as const;
    expect(await ipc.beginAuthorization(request)).toEqual({ ok: true, value: null });
    expect(commands.beginAuthorization).toHaveBeenCalledWith(request);
  });

  it('keep typed errors for the UI to branch on', async () => {
    expect(await ipc.syncNow('a:b')).toEqual({
      ok: false,
      error: { code: 'sync_not_yet', message: 'a manual sync is allowed from 14:05' },
    });
    expect(commands.syncNow).toHaveBeenCalledWith('a:b');
  });

  it('turn a rejected call into an internal error instead of throwing', async () => {
    expect(await ipc.dashboard()).toEqual({
      ok: false,
      error: { code: 'internal', message: 'command dashboard not allowed by ACL' },
    });
  });
});
