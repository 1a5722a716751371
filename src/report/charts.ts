import type { DrillEvidence, HistoryEntry } from '../evidence/index.ts';
import { formatDate, formatMinutes } from '../format/index.ts';
import { escapeHtml } from './text.ts';

// Inline SVG charts, generated from the evidence alone (no scripts, no external requests).
// Each chart carries a <title> and <desc> so the PDF stays readable as text.

export const COLORS = {
  pass: '#1f8a4c',
  fail: '#c62828',
  warn: '#b26a00',
  empty: '#e3e8ee',
  emptyStroke: '#b8c2cc',
  ink: '#1f2937',
  muted: '#6b7280',
  grid: '#e5e7eb',
  target: '#8a1c1c',
} as const;

const MONTHS = ['J', 'F', 'M', 'A', 'M', 'J', 'J', 'A', 'S', 'O', 'N', 'D'];
const FONT = `font-family="DejaVu Sans, Helvetica, Arial, sans-serif"`;

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${round(x)}" y="${round(y)}" ${FONT} ${attrs}>${escapeHtml(content)}</text>`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function shortMonth(iso: string): string {
  const d = new Date(iso);
  return `${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()]} ${String(d.getUTCFullYear()).slice(2)}`;
}

/** Keeps the last `slots` entries and pads the front with nulls so the newest is always rightmost. */
function lastSlots(history: readonly HistoryEntry[], slots: number): (HistoryEntry | null)[] {
  const recent = history.slice(-slots);
  return [...Array<null>(slots - recent.length).fill(null), ...recent];
}

/** Bar chart of restore time (RTO) for up to the last 12 drills, with the RTO target as a dashed line. */
export function restoreTrendSvg(evidence: DrillEvidence): string {
  const width = 520;
  const height = 172;
  const left = 44;
  const right = 12;
  const top = 22;
  const bottom = 34;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const slots = lastSlots(evidence.history, 12);
  const targetMin = evidence.targets.rtoMinutes;
  const maxMeasured = Math.max(0, ...evidence.history.map((h) => (h.rtoMs ?? 0) / 60_000));
  const maxY = niceCeil(Math.max(targetMin * 1.25, maxMeasured * 1.1));
  const y = (minutes: number): number => top + plotH - (minutes / maxY) * plotH;
  const slotW = plotW / slots.length;
  const barW = Math.min(26, slotW * 0.62);
  const parts: string[] = [];

  for (const tick of ticks(maxY)) {
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${round(y(tick))}" y2="${round(y(tick))}" stroke="${COLORS.grid}" stroke-width="1"/>`);
    parts.push(text(left - 6, y(tick) + 3.5, String(tick), `font-size="9" fill="${COLORS.muted}" text-anchor="end"`));
  }
  parts.push(text(4, top - 6, 'minutes', `font-size="9" fill="${COLORS.muted}"`));

  slots.forEach((entry, i) => {
    const cx = left + slotW * i + slotW / 2;
    if (!entry) {
      parts.push(text(cx, height - bottom + 14, '–', `font-size="9" fill="${COLORS.emptyStroke}" text-anchor="middle"`));
      return;
    }
    const isCurrent = entry.drillId === evidence.drillId;
    const label = shortMonth(entry.startedAt);
    parts.push(
      text(cx, height - bottom + 14, label, `font-size="9" fill="${isCurrent ? COLORS.ink : COLORS.muted}" text-anchor="middle"${isCurrent ? ' font-weight="bold"' : ''}`),
    );
    if (entry.rtoMs === null) {
      // Never reached a restored database: a red cross on the baseline.
      const by = top + plotH - 8;
      parts.push(
        `<path d="M${round(cx - 5)} ${round(by - 5)} L${round(cx + 5)} ${round(by + 5)} M${round(cx + 5)} ${round(by - 5)} L${round(cx - 5)} ${round(by + 5)}" stroke="${COLORS.fail}" stroke-width="2.2"/>`,
      );
      parts.push(text(cx, by - 10, 'none', `font-size="8" fill="${COLORS.fail}" text-anchor="middle"`));
      return;
    }
    const minutes = entry.rtoMs / 60_000;
    const over = minutes > targetMin;
    const fill = entry.verdict === 'FAIL' ? COLORS.fail : over ? COLORS.warn : COLORS.pass;
    const barTop = y(minutes);
    const h = Math.max(1.5, top + plotH - barTop);
    parts.push(
      `<rect x="${round(cx - barW / 2)}" y="${round(top + plotH - h)}" width="${round(barW)}" height="${round(h)}" rx="2" fill="${fill}"${isCurrent ? ` stroke="${COLORS.ink}" stroke-width="1.5"` : ' fill-opacity="0.85"'}/>`,
    );
    parts.push(text(cx, top + plotH - h - 4, formatMinutes(entry.rtoMs).replace(' min', ''), `font-size="8.5" fill="${COLORS.ink}" text-anchor="middle"`));
  });

  const ty = round(y(targetMin));
  parts.push(`<line x1="${left}" x2="${width - right}" y1="${ty}" y2="${ty}" stroke="${COLORS.target}" stroke-width="1.4" stroke-dasharray="5 3"/>`);
  // Legend above the plot, so the label never collides with a tall bar.
  parts.push(`<line x1="${width - right - 118}" x2="${width - right - 96}" y1="${top - 9}" y2="${top - 9}" stroke="${COLORS.target}" stroke-width="1.4" stroke-dasharray="5 3"/>`);
  parts.push(text(width - right, top - 6, `RTO target ${targetMin} min`, `font-size="9" fill="${COLORS.target}" text-anchor="end" font-weight="bold"`));
  parts.push(`<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="${COLORS.muted}" stroke-width="1"/>`);

  const desc = evidence.history
    .map((h) => `${h.drillId}: ${h.verdict}, ${h.rtoMs === null ? 'no restore' : formatMinutes(h.rtoMs)}`)
    .join('; ');
  return svgRoot(width, height, 'Restore time of the last 12 drills against the RTO target', desc, parts);
}

/** Twelve cells, green for PASS and red for FAIL, oldest left; grey for drills not yet run. */
export function verdictStripSvg(evidence: DrillEvidence): string {
  const slots = lastSlots(evidence.history, 12);
  const cellW = 40;
  const gap = 3;
  const width = slots.length * (cellW + gap) - gap;
  const height = 40;
  const parts: string[] = [];
  slots.forEach((entry, i) => {
    const x = i * (cellW + gap);
    if (!entry) {
      parts.push(
        `<rect x="${x + 0.5}" y="0.5" width="${cellW - 1}" height="22" rx="3" fill="${COLORS.empty}" stroke="${COLORS.emptyStroke}" stroke-dasharray="2 2"/>`,
      );
      return;
    }
    const isCurrent = entry.drillId === evidence.drillId;
    const fill = entry.verdict === 'PASS' ? COLORS.pass : COLORS.fail;
    parts.push(
      `<rect x="${x + 0.75}" y="0.75" width="${cellW - 1.5}" height="21.5" rx="3" fill="${fill}"${isCurrent ? ` stroke="${COLORS.ink}" stroke-width="1.5"` : ''}/>`,
    );
    parts.push(text(x + cellW / 2, 15, entry.verdict, `font-size="9" font-weight="bold" fill="#ffffff" text-anchor="middle"`));
    parts.push(
      text(x + cellW / 2, 34, shortMonth(entry.startedAt), `font-size="8.5" fill="${isCurrent ? COLORS.ink : COLORS.muted}" text-anchor="middle"${isCurrent ? ' font-weight="bold"' : ''}`),
    );
  });
  const passed = evidence.history.filter((h) => h.verdict === 'PASS').length;
  return svgRoot(width, height, 'Verdicts of the last 12 drills', `${passed} of ${evidence.history.length} passed`, parts);
}

/** How the grid labels a tier's row of slots. */
const TIER_LABELS: Record<'hourly' | 'weekly' | 'quarterly' | 'yearly', (n: number) => string> = {
  hourly: (n) => `Last ${n} hours`,
  weekly: (n) => `Last ${n} weeks`,
  quarterly: (n) => `Last ${n} quarters`,
  yearly: (n) => `Last ${n} years`,
};

/**
 * The monthly slots as a year × month grid, the last dailies as a column beside it, and every other
 * enabled tier (hourly, weekly, quarterly, yearly) as a labelled row of slots below.
 */
export function retentionGridSvg(evidence: DrillEvidence): string {
  const { monthly, daily } = evidence.retention;
  const tiers = evidence.retention.tiers ?? [];
  const cell = 15;
  const gap = 3;
  const labelW = 40;
  const parts: string[] = [];
  const years = [...new Set(monthly.map((m) => Number(m.month.slice(0, 4))))].sort((a, b) => a - b);
  const byMonth = new Map(monthly.map((m) => [m.month, m.state] as const));

  const gridTop = 15;
  if (monthly.length > 0) {
    MONTHS.forEach((initial, i) => {
      parts.push(text(labelW + i * (cell + gap) + cell / 2, 10, initial, `font-size="9" fill="${COLORS.muted}" text-anchor="middle"`));
    });
  }
  years.forEach((year, row) => {
    const y = gridTop + row * (cell + gap);
    parts.push(text(labelW - 6, y + cell / 2 + 3.5, String(year), `font-size="9.5" fill="${COLORS.ink}" text-anchor="end"`));
    for (let m = 0; m < 12; m += 1) {
      const key = `${year}-${String(m + 1).padStart(2, '0')}`;
      const state = byMonth.get(key);
      const x = labelW + m * (cell + gap);
      if (state) parts.push(slotRect(x, y, cell, state));
    }
  });
  const gridBottom = gridTop + Math.max(1, years.length) * (cell + gap);

  // Dailies to the right of the grid.
  const dailyLeft = labelW + 12 * (cell + gap) + 28;
  parts.push(text(dailyLeft, 10, `Last ${daily.length} dailies`, `font-size="9" fill="${COLORS.muted}"`));
  daily.forEach((d, i) => {
    const y = gridTop + i * (cell + gap);
    parts.push(slotRect(dailyLeft, y, cell, d.state));
    parts.push(text(dailyLeft + cell + 6, y + cell / 2 + 3.5, formatDate(d.day), `font-size="9" fill="${COLORS.ink}"`));
  });
  const width = dailyLeft + cell + 80;

  // Other tiers below, each a caption and rows of slots as wide as the month grid (oldest first).
  const perRow = 12;
  let y = Math.max(gridBottom, gridTop + daily.length * (cell + gap)) + 8;
  for (const tier of tiers) {
    parts.push(text(labelW, y + 9, `${TIER_LABELS[tier.tier](tier.slots.length)}: ${tier.slots[0]?.period ?? ''} – ${tier.slots.at(-1)?.period ?? ''}`, `font-size="9" fill="${COLORS.muted}"`));
    y += 14;
    tier.slots.forEach((slot, i) => {
      parts.push(slotRect(labelW + (i % perRow) * (cell + gap), y + Math.floor(i / perRow) * (cell + gap), cell, slot.state));
    });
    y += Math.ceil(tier.slots.length / perRow) * (cell + gap) + 4;
  }
  const height = y + 2;

  const counts = { present: 0, missing: 0, 'not-due': 0 };
  for (const m of monthly) counts[m.state] += 1;
  const others = tiers.map((t) => `; ${t.tier}: ${t.slots.filter((s) => s.state === 'present').length} of ${t.slots.length} present`).join('');
  const desc = `${monthly.length} monthly slots: ${counts.present} present, ${counts.missing} missing, ${counts['not-due']} not yet due; dailies: ${daily.filter((d) => d.state === 'present').length} of ${daily.length} present${others}`;
  return svgRoot(width, height, 'Retention inventory', desc, parts);
}

function slotRect(x: number, y: number, size: number, state: 'present' | 'missing' | 'not-due'): string {
  if (state === 'present') return `<rect x="${x}" y="${y}" width="${size}" height="${size}" rx="2.5" fill="${COLORS.pass}"/>`;
  if (state === 'missing') {
    return (
      `<rect x="${x}" y="${y}" width="${size}" height="${size}" rx="2.5" fill="${COLORS.fail}"/>` +
      `<path d="M${x + 5} ${y + 5} L${x + size - 5} ${y + size - 5} M${x + size - 5} ${y + 5} L${x + 5} ${y + size - 5}" stroke="#fff" stroke-width="1.8"/>`
    );
  }
  return `<rect x="${x + 0.5}" y="${y + 0.5}" width="${size - 1}" height="${size - 1}" rx="2.5" fill="#ffffff" stroke="${COLORS.emptyStroke}" stroke-dasharray="2 2"/>`;
}

/** Small legend swatch for the templates (same shapes as the grid). */
export function legendSwatchSvg(state: 'present' | 'missing' | 'not-due'): string {
  return `<svg class="swatch" width="12" height="12" viewBox="0 0 17 17" aria-hidden="true">${slotRect(0, 0, 17, state)}</svg>`;
}

function svgRoot(width: number, height: number, title: string, desc: string, parts: string[]): string {
  return (
    `<svg viewBox="0 0 ${round(width)} ${round(height)}" width="${round(width)}" height="${round(height)}" role="img">` +
    `<title>${escapeHtml(title)}</title><desc>${escapeHtml(desc)}</desc>${parts.join('')}</svg>`
  );
}

function niceCeil(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return 10 * magnitude;
}

function ticks(max: number): number[] {
  const step = niceCeil(max / 4);
  const out: number[] = [];
  for (let t = 0; t <= max + 1e-9; t += step) out.push(Math.round(t * 100) / 100);
  return out;
}
