// Helpers both sandbox kinds use around their pg_restore / psql runs.

/** Last lines of a text (a server log, a tool's stderr), for error messages. */
export function tail(text: string, lines = 25, maxChars = 4000): string {
  const kept = text.trimEnd().split('\n').slice(-lines).join('\n');
  return kept.length > maxChars ? `…${kept.slice(-maxChars)}` : kept;
}

/** Whether pg_restore arguments already name a database (then the sandbox's own is not added). */
export function hasDbnameArg(args: readonly string[]): boolean {
  return args.some((arg) => arg === '-d' || /^-d./.test(arg) || arg === '--dbname' || arg.startsWith('--dbname='));
}
