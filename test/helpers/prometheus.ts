// A reader of the Prometheus text exposition (format 0.0.4) for tests: the TYPE of each family and
// every sample with its labels, label values unescaped.

export interface ExpositionSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  samples: ExpositionSample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;

function unescape(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: ExpositionSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`Not a line of the Prometheus text format: ${line}`);
    const labels: Record<string, string> = {};
    const body = match[2] ?? '';
    let parsed = 0;
    LABEL.lastIndex = 0;
    for (let label = LABEL.exec(body); label; label = LABEL.exec(body)) {
      labels[label[1]!] = unescape(label[2]!);
      parsed = LABEL.lastIndex;
    }
    if (parsed !== body.length) throw new Error(`Malformed labels: ${line}`);
    const value = parseValue(match[3]!);
    if (Number.isNaN(value)) throw new Error(`Not a sample value: ${line}`);
    samples.push({ name: match[1]!, labels, value });
  }
  return { types, samples };
}

/** The value of the one sample with exactly these labels; throws when there is none or several. */
export function sample(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  const found = exposition.samples.filter((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === wanted);
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name}${wanted}`);
  return found[0]!.value;
}
