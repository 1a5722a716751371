// Pure formatters of numbers, sizes, durations and dates, shared by the CLI, notifications and the
// report, so one quantity reads the same everywhere. Plain text; templates escape it.

const LOCALE = 'en-NG';

export function formatNumber(value: number): string {
  return new Intl.NumberFormat('en-GB', { maximumFractionDigits: 0 }).format(value);
}

/** 850 ms · 12.4 s · 4 min 12 s · 1 h 05 min */
export function formatDuration(ms: number | null): string {
  if (ms === null) return 'not reached';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 3600) {
    const m = Math.floor(totalSeconds / 60);
    const s = totalSeconds % 60;
    return s ? `${m} min ${s} s` : `${m} min`;
  }
  const totalMinutes = Math.round(totalSeconds / 60);
  const h = Math.floor(totalMinutes / 60);
  const m = totalMinutes % 60;
  return `${h} h ${String(m).padStart(2, '0')} min`;
}

/** Minutes with one decimal below 100 (so they agree with "20 min 30 s" elsewhere): "4.2 min", "20.5 min", "128 min". */
export function formatMinutes(ms: number): string {
  const minutes = ms / 60_000;
  if (minutes >= 100) return `${Math.round(minutes)} min`;
  const fixed = minutes.toFixed(1);
  return `${fixed.endsWith('.0') ? fixed.slice(0, -2) : fixed} min`;
}

export function formatHours(hours: number): string {
  if (hours < 48) return `${hours < 10 ? hours.toFixed(1) : Math.round(hours)} h`;
  return `${(hours / 24).toFixed(1)} days`;
}

/** Decimal units, as storage consoles show them. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** `2026-11-23 01:00:00 UTC` */
export function formatUtc(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** `23 Nov 2026, 02:00 WAT` in the given IANA zone. */
export function formatLocal(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat(LOCALE, {
    timeZone,
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).format(new Date(iso));
}

/** `02:00:14` in the given zone (timeline rows). */
export function formatLocalTime(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat(LOCALE, { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(
    new Date(iso),
  );
}

/** Abbreviation of a zone at an instant, e.g. `WAT`. */
export function zoneAbbreviation(iso: string, timeZone: string): string {
  const part = new Intl.DateTimeFormat(LOCALE, { timeZone, timeZoneName: 'short' })
    .formatToParts(new Date(iso))
    .find((p) => p.type === 'timeZoneName');
  return part?.value ?? timeZone;
}

/** `23 Nov 2026` from `2026-11-23`. */
export function formatDate(isoDate: string): string {
  return new Intl.DateTimeFormat(LOCALE, { timeZone: 'UTC', year: 'numeric', month: 'short', day: 'numeric' }).format(
    new Date(`${isoDate.slice(0, 10)}T00:00:00Z`),
  );
}

/** Age of something: `3 h 20 min`, `5 days`, `6.2 years (2,263 days)`. */
export function formatAge(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  const days = Math.floor(hours / 24);
  if (days < 730) return `${days} days`;
  return `${(days / 365.25).toFixed(1)} years (${days} days)`;
}
