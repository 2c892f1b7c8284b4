import { describe, expect, it, vi } from 'vitest';

// The generated bindings import Tauri's runtime, which needs a webview; these tests only
// exercise the error normalisation around it.
vi.mock('./bindings.gen', () => ({ commands: {}, events: {} }));

const { fromGenerated, toIpcError } = await import('./index');

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
