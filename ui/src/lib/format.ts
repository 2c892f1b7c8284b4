// Money, counts and times in plain en-GB. Every time function takes "now" as an argument because
// in Demo the presenter moves the clock: Date.now() would disagree with the data on screen.

const LOCALE = 'en-GB';

/** Moneyhub is UK open banking: its schedules and daily caps run on UK days, so times are shown
 * in UK time whatever the machine's zone, and "available from 00:00" means UK midnight. */
export const TIME_ZONE = 'Europe/London';

export type Instant = string | number | Date;

export function toMs(value: Instant): number {
  if (typeof value === 'number') return value;
  if (value instanceof Date) return value.getTime();
  return Date.parse(value);
}

const moneyFormats = new Map<string, { digits: number; format: Intl.NumberFormat } | null>();

function moneyFormat(currency: string): { digits: number; format: Intl.NumberFormat } | null {
  if (moneyFormats.has(currency)) return moneyFormats.get(currency) ?? null;
  let made: { digits: number; format: Intl.NumberFormat } | null;
  try {
    const digits =
      new Intl.NumberFormat(LOCALE, { style: 'currency', currency }).resolvedOptions()
        .maximumFractionDigits ?? 2;
    const format = new Intl.NumberFormat(LOCALE, {
      style: 'currency',
      currency,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    made = { digits, format };
  } catch {
    made = null;
  }
  moneyFormats.set(currency, made);
  return made;
}

/** Amounts arrive as integer minor units; the decimal string is built by hand so no float ever
 * rounds a penny, then Intl adds the symbol, grouping and sign. */
export function formatMoney(minor: number | null | undefined, currency: string): string {
  if (minor === null || minor === undefined || !Number.isFinite(minor)) return 'Unknown';
  const money = moneyFormat(currency);
  const digits = money?.digits ?? 2;
  const negative = minor < 0;
  const units = Math.abs(Math.trunc(minor)).toString().padStart(digits + 1, '0');
  const whole = digits === 0 ? units : units.slice(0, -digits);
  const fraction = digits === 0 ? '' : `.${units.slice(-digits)}`;
  const decimal = `${negative ? '-' : ''}${whole}${fraction}`;
  if (!money) return `${decimal} ${currency}`.trim();
  // A string keeps the exact decimal where the engine supports it (Intl.NumberFormat v3).
  return money.format.format(decimal as unknown as number);
}

export function formatCount(count: number): string {
  return new Intl.NumberFormat(LOCALE).format(count);
}

/** "1 account", "2 accounts". */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${formatCount(count)} ${count === 1 ? one : many}`;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A span of time in words: "less than a minute", "23 min", "2 hours 5 min", "3 days". Rounds up,
 * so a countdown never claims something is ready before it is. */
export function formatDuration(ms: number): string {
  const span = Math.max(0, ms);
  if (span < MINUTE) return 'less than a minute';
  const minutes = Math.ceil(span / MINUTE);
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 24 * 60) {
    const hours = Math.floor(minutes / 60);
    const rest = minutes % 60;
    const hourText = `${hours} hour${hours === 1 ? '' : 's'}`;
    return rest === 0 ? hourText : `${hourText} ${rest} min`;
  }
  const days = Math.round(span / DAY);
  return `${days} day${days === 1 ? '' : 's'}`;
}

/** "just now", "23 min ago", "5 hours ago", "3 days ago", "in 2 hours". */
export function formatRelative(when: Instant, now: Instant): string {
  const diff = toMs(now) - toMs(when);
  if (Number.isNaN(diff)) return 'at an unknown time';
  const span = Math.abs(diff);
  if (span < 45_000) return 'just now';
  let text: string;
  if (span < HOUR) {
    text = `${Math.max(1, Math.round(span / MINUTE))} min`;
  } else if (span < DAY) {
    const hours = Math.round(span / HOUR);
    text = hours >= 24 ? '1 day' : `${hours} hour${hours === 1 ? '' : 's'}`;
  } else if (span < 45 * DAY) {
    const days = Math.round(span / DAY);
    text = `${days} day${days === 1 ? '' : 's'}`;
  } else if (span < 365 * DAY) {
    const months = Math.round(span / (30 * DAY));
    text = `${months} month${months === 1 ? '' : 's'}`;
  } else {
    const years = Math.round(span / (365 * DAY));
    text = `${years} year${years === 1 ? '' : 's'}`;
  }
  return diff > 0 ? `${text} ago` : `in ${text}`;
}

// Building an Intl formatter is far slower than using one, and relative times re-render every
// second, so formatters are made once per set of options.
const dateFormats = new Map<string, Intl.DateTimeFormat>();

function part(when: Instant, options: Intl.DateTimeFormatOptions): string {
  const ms = toMs(when);
  if (Number.isNaN(ms)) return '';
  const key = JSON.stringify(options);
  let format = dateFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(LOCALE, { timeZone: TIME_ZONE, ...options });
    dateFormats.set(key, format);
  }
  return format.format(ms);
}

/** For title attributes: the exact moment, e.g. "Friday 21 November 2025 at 14:05:32 GMT". */
export function formatExact(when: Instant): string {
  return part(when, { dateStyle: 'full', timeStyle: 'long' }) || 'Unknown time';
}

/** "14:05" */
export function formatClock(when: Instant): string {
  return part(when, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
}

/** "21 Nov" */
export function formatDay(when: Instant): string {
  return part(when, { day: 'numeric', month: 'short' });
}

/** "21 Nov 2025" */
export function formatDate(when: Instant): string {
  return part(when, { day: 'numeric', month: 'short', year: 'numeric' });
}

/** "21 Nov 14:05", the Demo clock in the top bar. */
export function formatDayTime(when: Instant): string {
  return `${formatDay(when)} ${formatClock(when)}`;
}

function ukDay(when: Instant): string {
  return part(when, { year: 'numeric', month: '2-digit', day: '2-digit' });
}

/** A moment soon after now, as briefly as is unambiguous: "14:05", "tomorrow 09:00",
 * "24 Nov 14:05". */
export function formatUpcoming(when: Instant, now: Instant): string {
  const at = toMs(when);
  const reference = toMs(now);
  if (ukDay(at) === ukDay(reference)) return formatClock(at);
  if (ukDay(at) === ukDay(reference + DAY)) return `tomorrow ${formatClock(at)}`;
  return formatDayTime(at);
}

/** The same moment as a phrase after a verb: "at 14:05", "tomorrow at 09:00",
 * "on 24 Nov at 09:00". */
export function formatAt(when: Instant, now: Instant): string {
  const at = toMs(when);
  const reference = toMs(now);
  if (ukDay(at) === ukDay(reference)) return `at ${formatClock(at)}`;
  if (ukDay(at) === ukDay(reference + DAY)) return `tomorrow at ${formatClock(at)}`;
  return `on ${formatDay(at)} at ${formatClock(at)}`;
}

/** "9:05" for a countdown of minutes and seconds. */
export function formatCountdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return `${minutes}:${seconds.toString().padStart(2, '0')}`;
}

/** "cash:current" → "Current account"; Moneyhub's account types are terse. */
export function accountTypeLabel(type: string): string {
  const known: Record<string, string> = {
    'cash:current': 'Current account',
    'cash:savings': 'Savings',
    card: 'Credit card',
    investment: 'Investment',
    pension: 'Pension',
    mortgage: 'Mortgage',
    'mortgage:repayment': 'Mortgage',
    'mortgage:interestOnly': 'Mortgage (interest only)',
    loan: 'Loan',
    'properties:residential': 'Property',
    'properties:buyToLet': 'Buy-to-let property',
    properties: 'Property',
    vehicles: 'Vehicle',
    vehicle: 'Vehicle',
    other: 'Other',
  };
  if (known[type]) return known[type];
  const [head] = type.split(':');
  if (head && known[head]) return known[head];
  const words = type.replace(/[:_-]+/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').trim();
  return words ? words.charAt(0).toUpperCase() + words.slice(1).toLowerCase() : 'Account';
}
