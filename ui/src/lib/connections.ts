// What a connection's state means in words: the status, the one fix and its button, when a sync
// is allowed, and the dashboard's one-line summary. Pure functions so every wording is tested.

import type {
  AccountFreshness,
  Action,
  ActionCheck,
  ActionReason,
  ConnectionKind,
  ConnectionView,
  Fix,
  Health,
  RenewAll,
  Severity,
} from '../ipc';
import {
  formatAt,
  formatClock,
  formatDate,
  formatDuration,
  formatUpcoming,
  plural,
  toMs,
  type Instant,
} from './format';

export type FixKind = Fix['kind'];

/** What pressing the fix button does. */
export type FixEffect =
  | { type: 'authorize'; kind: 'reauth' | 'reconsent' | 'refresh' }
  | { type: 'sync' }
  | { type: 'support' }
  | { type: 'remove' }
  | { type: 'nothing' };

export function fixEffect(fix: Fix): FixEffect {
  switch (fix.kind) {
    case 'reauth':
    case 'reconsent':
    case 'refresh':
      return { type: 'authorize', kind: fix.kind };
    case 'sync':
      return { type: 'sync' };
    case 'contactSupport':
      return { type: 'support' };
    case 'remove':
      return { type: 'remove' };
    case 'wait':
    case 'none':
      return { type: 'nothing' };
  }
}

/** The fix button's label, the core's words; null when there is nothing to do. A wait with a time
 * gets the time in the person's zone. */
export function fixLabel(health: Pick<Health, 'recommended' | 'fixLabel'>, now: Instant): string | null {
  const fix = health.recommended;
  if (fix.kind === 'wait' && fix.until) return `Wait until ${formatUpcoming(fix.until, now)}`;
  return health.fixLabel;
}

export const actionLabels: Record<Action, string> = {
  reauth: 'Reauthenticate',
  reconsent: 'Renew consent',
  refresh: 'Refresh',
  sync: 'Sync now',
  remove: 'Remove',
};

/** What each action is for, shown beside the buttons on the detail page. */
export const actionHelp: Record<Action, string> = {
  reauth: 'Log in to your bank again.',
  reconsent: 'Renew Banklinks’ access without logging in.',
  refresh: 'Let a screen-scraping connection update with you present.',
  sync: 'Ask Moneyhub to fetch the latest data now.',
  remove: 'Revoke consent and delete this connection’s data.',
};

export const severityLabels: Record<Severity, string> = {
  ok: 'Healthy',
  info: 'Good to know',
  warning: 'Needs attention soon',
  action: 'Needs your action',
};

export const severityRank: Record<Severity, number> = { action: 0, warning: 1, info: 2, ok: 3 };

/** Labels for the core's one kind enum; a new kind fails to compile until it has one. */
export const kindLabels: Record<ConnectionKind, string> = {
  openBanking: 'Open banking',
  screenScraping: 'Screen-scraping',
  valuation: 'Valuation',
  test: 'Test bank',
  other: 'Other',
};

/** The core's check for one action (every action is always listed). */
export function actionCheck(
  view: Pick<ConnectionView, 'health'>,
  action: Action,
): ActionCheck | undefined {
  return view.health.actions.find((check) => check.action === action);
}

/** Refused for time alone: "sync as soon as allowed" can wait for it. */
export function queueable(check: ActionCheck | undefined): boolean {
  return check !== undefined && !check.allowed && check.availableAt !== null;
}

/** Why an action is refused, in words; any time in the person's own time zone. */
export function reasonText(reason: ActionReason, availableAt: string | null, now: Instant): string {
  switch (reason.code) {
    case 'reconsentOnlyOpenBanking':
      return 'Renewing consent is only for open-banking connections.';
    case 'needsFullReauth':
      return 'This bank needs you to log in again to renew access.';
    case 'refreshOnlyScreenScraping':
      return 'Refresh is only for screen-scraping connections.';
    case 'consentEnded':
      return 'The consent has ended, so a sync cannot fetch anything. Renew it first.';
    case 'cooldown': {
      const wait = availableAt ? toMs(availableAt) - toMs(now) : 0;
      return wait > 0
        ? `Sync available in ${formatDuration(wait)} (Banklinks keeps manual syncs ${reason.minutes} minutes apart, as Moneyhub’s connection guide asks)`
        : 'Sync available in a moment';
    }
    case 'dailyCap':
      return availableAt
        ? `No syncs left today (${reason.cap} a day at this bank) — available from ${formatClock(availableAt)}`
        : `No syncs left today (${reason.cap} a day at this bank)`;
    case 'serverAsked':
      return availableAt
        ? `Moneyhub asked us to wait until ${formatUpcoming(availableAt, now)}`
        : 'Moneyhub asked us to wait';
    case 'removedAtMoneyhub':
      return 'Moneyhub no longer has this connection.';
    case 'syncInProgress':
      return 'Moneyhub is syncing it now';
    case 'singleSyncOnly':
      return 'Syncs only when you refresh it';
  }
}

/** "Sync available now · 1 of 4 left today", "Sync available in 23 min", or why not at all. */
export function syncAvailabilityText(
  check: ActionCheck | undefined,
  now: Instant,
  dailyCap: number | null = null,
): string {
  if (!check) return 'Sync is not available';
  if (check.allowed) {
    const left = check.leftToday;
    if (left === null) return 'Sync available now';
    const ofCap = dailyCap === null ? '' : ` of ${dailyCap}`;
    return `Sync available now · ${left}${ofCap} left today`;
  }
  return check.reason ? reasonText(check.reason, check.availableAt, now) : 'Sync is not available';
}

/** The sync button's label: "Sync now", or the time it becomes possible. */
export function syncButtonLabel(check: ActionCheck | undefined, now: Instant): string {
  return check?.availableAt ? `Sync ${formatAt(check.availableAt, now)}` : 'Sync now';
}

/** The soonest moment any shown check or wording changes by itself, so the page asks the core
 * again then. */
export function nextChange(views: Pick<ConnectionView, 'health'>[]): number | null {
  let soonest: number | null = null;
  const consider = (when: string | null) => {
    if (!when) return;
    const at = toMs(when);
    if (soonest === null || at < soonest) soonest = at;
  };
  for (const view of views) {
    consider(view.health.wordsChangeAt);
    for (const check of view.health.actions) consider(check.availableAt);
  }
  return soonest;
}

export function queuedText(at: string, now: Instant): string {
  return `Queued for ${formatUpcoming(at, now)}`;
}

/** The core's one "needs you" rule, which the tray and notifications count too. */
export function needsAttention(view: Pick<ConnectionView, 'health'>): boolean {
  return view.health.needsYou;
}

/** The dashboard's headline: "All 4 connections are healthy", "2 need your attention". */
export function dashboardSummary(views: Pick<ConnectionView, 'health'>[]): string {
  if (views.length === 0) return 'No connections yet';
  const attention = views.filter(needsAttention).length;
  if (attention === 0) {
    return views.length === 1
      ? 'Your connection is healthy'
      : `All ${views.length} connections are healthy`;
  }
  return `${attention} ${attention === 1 ? 'needs' : 'need'} your attention`;
}

/** Most urgent first, then by name, so what needs the user is at the top. */
export function sortByUrgency<T extends Pick<ConnectionView, 'health' | 'connection'>>(
  views: T[],
): T[] {
  return [...views].sort(
    (a, b) =>
      severityRank[a.health.severity] - severityRank[b.health.severity] ||
      a.connection.name.localeCompare(b.connection.name, 'en-GB'),
  );
}

/** The core's word on how fresh one account's balance is (the card and the page show the same). */
export function freshnessOf(view: Pick<ConnectionView, 'freshness'>, accountId: string): AccountFreshness | undefined {
  return view.freshness.find((f) => f.accountId === accountId);
}

/** "needs-attention" → "Needs attention". */
export function personaTitle(name: string): string {
  const words = name.replace(/[-_]+/g, ' ').trim();
  return words ? words.charAt(0).toUpperCase() + words.slice(1) : name;
}

/** The letter shown in a bank's badge. */
export function bankInitial(name: string): string {
  const letter = name.trim().match(/[\p{L}\p{N}]/u)?.[0];
  return letter ? letter.toUpperCase() : '?';
}

export type Receipt = { text: string };

/** "2 of 4 renewed", and what became of the rest once the batch is over or stopped. */
export function renewProgressText(batch: Pick<RenewAll, 'queue' | 'current' | 'renewed' | 'failed' | 'stopping'>): string {
  const total = batch.queue.length + (batch.current ? 1 : 0) + batch.renewed.length + batch.failed.length;
  const progress = `${batch.renewed.length} of ${total} renewed`;
  const parts = [progress];
  if (batch.failed.length > 0) parts.push(`${batch.failed.length} not`);
  if (batch.stopping && batch.queue.length > 0) parts.push(`${batch.queue.length} left for later`);
  return parts.join(', ');
}

/** What a reauth, reconsent or refresh changed, one sentence per change. */
export function changesText(changes: {
  accountsAdded?: string[];
  accountsGone?: string[];
  previousId?: string | null;
  consentUntil?: string | null;
}): string[] {
  const lines: string[] = [];
  const added = changes.accountsAdded ?? [];
  const gone = changes.accountsGone ?? [];
  if (added.length > 0) lines.push(`Now shared: ${added.join(', ')}.`);
  if (gone.length > 0) lines.push(`No longer shared, kept here as history: ${gone.join(', ')}.`);
  if (changes.previousId) lines.push('The bank gave the connection a new identity; its history was kept.');
  if (changes.consentUntil) lines.push(`Consent now runs until ${formatDate(changes.consentUntil)}.`);
  return lines;
}

/** The core's receipt, which says only what happened (no consent to revoke for a connection
 * Moneyhub no longer had). */
export function removalText(receipt: Receipt): string {
  return receipt.text;
}

/** "3 months of history so far", from the oldest transaction here. */
/** A new connection's history coming in: "Fetching history…", then "… 1 transaction so far". */
export function historyProgressText(transactions: number): string {
  return transactions > 0 ? `Fetching history… ${plural(transactions, 'transaction')} so far` : 'Fetching history…';
}

export function historySoFarText(from: string | null, now: Instant): string {
  if (!from) return 'No history yet';
  const days = Math.max(0, Math.round((toMs(now) - Date.parse(from)) / 86_400_000));
  if (days < 45) return `${days} day${days === 1 ? '' : 's'} of history so far`;
  const months = Math.round(days / 30.44);
  return `${months} months of history so far`;
}
