// Text safety for what checks wrote: personal-data masking, truncation, HTML escaping.
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
// International numbers (+234 803 123 4567) and Nigerian local mobiles (0803 123 4567, 08031234567).
const PHONE = /(?:\+\d{1,3}[\s-]?\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}|\b0[789][01]\d[\s-]?\d{3}[\s-]?\d{4}\b)/g;
// 11-digit runs: NIN and BVN numbers are 11 digits.
const ELEVEN_DIGITS = /\b\d{11}\b/g;

/**
 * Masks values that look like personal data (emails, phone numbers, 11-digit NIN/BVN) in free
 * text that a check produced, e.g. an assertion message quoting a restored row. Defence in depth:
 * checks should not put row data in their messages at all.
 */
export function redactPersonalData(text: string): string {
  return text.replace(EMAIL, '[redacted email]').replace(PHONE, '[redacted phone]').replace(ELEVEN_DIGITS, '[redacted id number]');
}

/** Cuts text to `max` characters on a word boundary, with an ellipsis. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return `${(space > max * 0.6 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}
