// The one door to the Rust side. Components import from here, never from @tauri-apps/* or the
// generated bindings directly, so every call returns the same Outcome shape and every error is
// an IpcError the UI can branch on by `code`.

import {
  commands as generated,
  events,
  type AuthorizationRequest,
  type Breakage,
  type ConnectionDetail_Serialize,
  type ConnectionView_Serialize,
  type EnvironmentSettings,
  type Export,
  type ExportFormat,
  type FaultPreset,
  type InstitutionView_Serialize,
  type IpcError,
  type JournalEntry_Serialize,
  type KeychainStatus,
  type LinkActivity_Serialize,
  type Overview_Serialize,
  type PendingView_Serialize,
  type ProbeDeleted,
  type ProbeRead,
  type ProbeWritten,
  type RemovalReceipt,
  type RenewAllView_Serialize,
  type RenewStep,
  type SyncRun_Serialize,
  type TransactionPage_Serialize,
} from './bindings.gen';

export type * from './bindings.gen';

// What Rust sends, under clean names. The generated names without a suffix are unions with the
// shape Rust would accept back, which the UI never sends; these local exports take precedence
// over the star export above, so components never see `_Serialize`.
import type * as generated_types from './bindings.gen';
export type ActionCheck = generated_types.ActionCheck_Serialize;
export type AuthorizationFinished = generated_types.AuthorizationFinished_Serialize;
export type ConnectionDetail = generated_types.ConnectionDetail_Serialize;
export type ConnectionView = generated_types.ConnectionView_Serialize;
export type Fix = generated_types.Fix_Serialize;
export type FlowActivity = generated_types.FlowActivity_Serialize;
export type FlowEvent = generated_types.FlowEvent_Serialize;
export type Health = generated_types.Health_Serialize;
export type SyncRun = generated_types.SyncRun_Serialize;
export type InstitutionView = generated_types.InstitutionView_Serialize;
export type JournalEntry = generated_types.JournalEntry_Serialize;
export type JournalEvent = generated_types.JournalEvent_Serialize;
export type LinkActivity = generated_types.LinkActivity_Serialize;
export type Overview = generated_types.Overview_Serialize;
export type PendingView = generated_types.PendingView_Serialize;
export type RenewAll = generated_types.RenewAll_Serialize;
export type RenewAllView = generated_types.RenewAllView_Serialize;
export type StoredAccount = generated_types.StoredAccount_Serialize;
export type StoredConnection = generated_types.StoredConnection_Serialize;
export type StoredTransaction = generated_types.StoredTransaction_Serialize;
export type TransactionPage = generated_types.TransactionPage_Serialize;
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

export const ipc = {
  keychainStatus: () => settle<KeychainStatus>(generated.keychainStatus),
  keychainProbeWrite: () => settle<ProbeWritten>(generated.keychainProbeWrite),
  keychainProbeRead: () => settle<ProbeRead>(generated.keychainProbeRead),
  keychainProbeDelete: () => settle<ProbeDeleted>(generated.keychainProbeDelete),
  deepLinkActivity: () => settle<LinkActivity_Serialize>(generated.deepLinkActivity),
  // Only the benchmark reads it; a failure has nobody to tell.
  reportFirstPaint: (cards: number, marks: [string, number][]) =>
    generated.reportFirstPaint(cards, marks).catch(() => null),

  // Session: environments, profiles and app settings.
  appOverview: () => settle<Overview_Serialize>(generated.appOverview),
  usePersona: (persona: string) => settle<string>(() => generated.usePersona(persona)),
  createProfile: (name: string, existingUserId: string | null) =>
    settle<string>(() => generated.createProfile(name, existingUserId)),
  selectProfile: (profile: string) => settle<null>(() => generated.selectProfile(profile)),
  activateEnvironment: (environment: string) =>
    settle<null>(() => generated.activateEnvironment(environment)),
  saveEnvironment: (settings: EnvironmentSettings, secret: string | null) =>
    settle<null>(() => generated.saveEnvironment(settings, secret)),
  removeEnvironment: (environment: string) =>
    settle<null>(() => generated.removeEnvironment(environment)),
  setNotifications: (on: boolean) => settle<null>(() => generated.setNotifications(on)),
  setKeepGoneData: (keep: boolean) => settle<null>(() => generated.setKeepGoneData(keep)),
  setCloseToTray: (on: boolean) => settle<null>(() => generated.setCloseToTray(on)),
  startAtLogin: () => settle<boolean>(() => generated.startAtLogin()),
  setStartAtLogin: (on: boolean) => settle<boolean>(() => generated.setStartAtLogin(on)),
  setCustomerIp: (ip: string) => settle<null>(() => generated.setCustomerIp(ip)),

  // Connections.
  dashboard: () => settle<ConnectionView_Serialize[]>(generated.dashboard),
  refresh: () => settle<null>(generated.refresh),
  institutions: () => settle<InstitutionView_Serialize[]>(generated.institutions),
  beginAuthorization: (request: AuthorizationRequest) =>
    settle<null>(() => generated.beginAuthorization(request)),
  pendingAuthorizations: () => settle<PendingView_Serialize[]>(generated.pendingAuthorizations),
  cancelAuthorization: (stateId: string) =>
    settle<boolean>(() => generated.cancelAuthorization(stateId)),
  syncNow: (connectionId: string) => settle<null>(() => generated.syncNow(connectionId)),
  syncWhenAllowed: (connectionId: string) =>
    settle<string | null>(() => generated.syncWhenAllowed(connectionId)),
  connectionDetail: (connectionId: string) =>
    settle<ConnectionDetail_Serialize>(() => generated.connectionDetail(connectionId)),
  connectionSyncHistory: (connectionId: string) =>
    settle<SyncRun_Serialize[]>(() => generated.connectionSyncHistory(connectionId)),
  transactions: (connectionId: string, search: string, limit: number, offset: number) =>
    settle<TransactionPage_Serialize>(() =>
      generated.transactions(connectionId, search, limit, offset),
    ),
  journal: () => settle<JournalEntry_Serialize[]>(generated.journal),
  exportData: (what: Export, format: ExportFormat) =>
    settle<string>(() => generated.exportData(what, format)),
  showExport: (path: string) => settle<null>(() => generated.showExport(path)),
  bankIcons: () => settle<Partial<Record<string, string>>>(generated.bankIcons),
  renewAll: (step: RenewStep) => settle<RenewAllView_Serialize>(() => generated.renewAll(step)),
  removeConnection: (connectionId: string) =>
    settle<RemovalReceipt>(() => generated.removeConnection(connectionId)),

  // The presenter's Demo controls.
  demoAdvanceClock: (by: string) => settle<string>(() => generated.demoAdvanceClock(by)),
  demoBreakConnection: (connectionId: string, how: Breakage) =>
    settle<null>(() => generated.demoBreakConnection(connectionId, how)),
  demoSetFaults: (preset: FaultPreset) => settle<null>(() => generated.demoSetFaults(preset)),
  demoReset: () => settle<null>(generated.demoReset),
  demoSetOnline: (online: boolean) => settle<null>(() => generated.demoSetOnline(online)),
};
