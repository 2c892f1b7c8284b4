// The one door to the Rust side. Components import from here, never from @tauri-apps/* or the
// generated bindings directly, so every call returns the same Outcome shape and every error is
// an IpcError the UI can branch on by `code`.

import {
  commands as generated,
  events,
  type IpcError,
  type KeychainStatus,
  type ProbeDeleted,
  type ProbeRead,
  type ProbeWritten,
} from './bindings.gen';

export type * from './bindings.gen';
export { events };

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: IpcError };

type Generated = { status: 'ok'; data: unknown } | { status: 'error'; error: unknown };

export function isIpcError(value: unknown): value is IpcError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/** Tauri itself rejects with bare strings (unknown command, denied permission); those become
 * `internal` errors so no caller has to handle two shapes. */
export function toIpcError(value: unknown): IpcError {
  if (isIpcError(value)) return value;
  const message = value instanceof Error ? value.message : String(value);
  return { code: 'internal', message: message || 'Something went wrong in Banklinks.' };
}

export function fromGenerated<T>(result: Generated): Outcome<T> {
  return result.status === 'ok'
    ? { ok: true, value: result.data as T }
    : { ok: false, error: toIpcError(result.error) };
}

async function settle<T>(call: () => Promise<Generated>): Promise<Outcome<T>> {
  try {
    return fromGenerated<T>(await call());
  } catch (thrown) {
    return { ok: false, error: toIpcError(thrown) };
  }
}

async function plain<T>(call: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (thrown) {
    return { ok: false, error: toIpcError(thrown) };
  }
}

export const ipc = {
  keychainStatus: () => settle<KeychainStatus>(generated.keychainStatus),
  keychainProbeWrite: () => settle<ProbeWritten>(generated.keychainProbeWrite),
  keychainProbeRead: () => settle<ProbeRead>(generated.keychainProbeRead),
  keychainProbeDelete: () => settle<ProbeDeleted>(generated.keychainProbeDelete),
  deepLinkActivity: () => plain(generated.deepLinkActivity),
};
