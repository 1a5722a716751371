import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { TemplateDelegate } from 'handlebars';
import { PACKAGE_ROOT } from '../config/index.ts';
import { PgdrillError } from '../errors/index.ts';
import type { Notification } from './types.ts';
import { buildView, type ViewOptions } from './view.ts';

// Subject, plain text and HTML of a notification from the handlebars templates in
// templates/notify/: `{kind}.subject.hbs`, `{kind}.text.hbs`, `{kind}.html.hbs`, partials in
// `partials/`. Handlebars loads on the first message, so importing src/notify stays light.

/** pgdrill's own notification templates (in the repository and in the installed package). */
export const DEFAULT_NOTIFY_TEMPLATES_DIR = path.join(PACKAGE_ROOT, 'templates', 'notify');

export const NOTIFICATION_KINDS: ReadonlyArray<Notification['kind']> = ['backup-succeeded', 'job-failed', 'drill-finished', 'escalation', 'monitor'];

export interface RenderedMessage {
  /** One line. */
  subject: string;
  text: string;
  html: string;
}

type Compiled = Record<Notification['kind'], { subject: TemplateDelegate; text: TemplateDelegate; html: TemplateDelegate }>;

const compiledByDir = new Map<string, Promise<Compiled>>();

async function compileTemplates(dir: string): Promise<Compiled> {
  const { default: Handlebars } = await import('handlebars');
  const read = (file: string) =>
    readFile(path.join(dir, file), 'utf8').catch((error: unknown) => {
      throw new PgdrillError(`notification template ${path.join(dir, file)} cannot be read: ${(error as Error).message}`, {
        hint: 'Reinstall pgdrill, or point templatesDir at a folder with {kind}.subject.hbs, {kind}.text.hbs, {kind}.html.hbs and partials/',
      });
    });
  // Plain text (subject, text body) is not HTML-escaped; the HTML body is. Both strict: a field a
  // template names that the view lacks is an error, never a silent blank.
  const text = Handlebars.create();
  const html = Handlebars.create();
  for (const file of (await readdir(path.join(dir, 'partials')).catch(() => [] as string[])).filter((f) => f.endsWith('.hbs'))) {
    const source = await read(path.join('partials', file));
    text.registerPartial(file.slice(0, -4), source);
    html.registerPartial(file.slice(0, -4), source);
  }
  const entries = await Promise.all(
    NOTIFICATION_KINDS.map(async (kind) => {
      const [subject, body, page] = await Promise.all([read(`${kind}.subject.hbs`), read(`${kind}.text.hbs`), read(`${kind}.html.hbs`)]);
      return [
        kind,
        {
          subject: text.compile(subject, { noEscape: true, strict: true }),
          text: text.compile(body, { noEscape: true, strict: true }),
          html: html.compile(page, { strict: true }),
        },
      ] as const;
    }),
  );
  return Object.fromEntries(entries) as Compiled;
}

function templatesFor(dir: string): Promise<Compiled> {
  let compiled = compiledByDir.get(dir);
  if (!compiled) {
    compiled = compileTemplates(dir);
    // A failed load is not cached: the next message tries again (a fixed template, a remounted disk).
    compiled.catch(() => compiledByDir.delete(dir));
    compiledByDir.set(dir, compiled);
  }
  return compiled;
}

/**
 * Renders one notification. `message` must already be scrubbed (sanitizeNotification): templates
 * print what they are given.
 */
export async function renderMessage(message: Notification, options: ViewOptions & { templatesDir?: string } = {}): Promise<RenderedMessage> {
  const dir = options.templatesDir ?? DEFAULT_NOTIFY_TEMPLATES_DIR;
  const templates = (await templatesFor(dir))[message.kind];
  const view = buildView(message, options);
  try {
    // One line: a header never carries a line break from a field.
    const subject = templates.subject(view).replace(/\s+/g, ' ').trim();
    const withSubject = { ...view, subject };
    return { subject, text: templates.text(withSubject), html: templates.html(withSubject) };
  } catch (error) {
    throw new PgdrillError(`notification template for ${message.kind} in ${dir} failed: ${(error as Error).message}`, {
      hint: 'Check the templates against the view built in src/notify/view.ts',
      cause: error,
    });
  }
}
