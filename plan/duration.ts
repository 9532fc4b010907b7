// Go-style durations ("30s", "10m", "1h30m", "500ms"): the notation Istio, Flagger and Argo
// Rollouts users already write. The workflow sandbox imports this file, so it imports nothing.

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** One or more `<number><unit>` terms (`1h30m`, `1.5s`); also published in the JSON schema. */
export const DURATION_PATTERN = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;

const TERM = /(\d+)(?:\.(\d+))?(ms|s|m|h)/g;

export interface DurationOptions {
  /** Accept `0s`; off by default because a zero soak, interval or timeout is almost always a mistake. */
  allowZero?: boolean;
}

/** Why `text` is not an acceptable duration, or undefined when it is. */
export function durationProblem(text: string, options: DurationOptions = {}): string | undefined {
  const parsed = parse(text);
  if (typeof parsed === 'string') return parsed;
  if (parsed === 0 && !options.allowZero) return 'must be greater than zero';
  return undefined;
}

/** Milliseconds in `text`; throws a RangeError naming the problem. */
export function parseDuration(text: string, options: DurationOptions = {}): number {
  const problem = durationProblem(text, options);
  if (problem !== undefined) throw new RangeError(`invalid duration "${text}": ${problem}`);
  return parse(text) as number;
}

/** The shortest Go-style spelling of `ms` that parseDuration reads back: 5400000 -> "1h30m". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`cannot format duration ${ms}`);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  let rest = Math.round(ms);
  if (rest === 0) return '0s';
  let text = '';
  for (const [unit, size] of Object.entries(UNIT_MS).reverse()) {
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  return text;
}

function parse(text: string): number | string {
  if (text === '') return 'must not be empty; write a duration such as 30s, 10m or 1h30m';
  if (text.startsWith('-')) return 'must not be negative';
  if (/^\d+(?:\.\d+)?$/.test(text)) return `needs a unit: write ${text}s, ${text}m or ${text}h, not a bare number`;
  if (!DURATION_PATTERN.test(text)) {
    const unknownUnit = (text.match(/[^\d.]+/g) ?? []).find((unit) => !(unit in UNIT_MS));
    if (unknownUnit !== undefined && /^[a-zA-Zµ]+$/.test(unknownUnit)) {
      return `unknown unit "${unknownUnit}" (use ms, s, m or h; 24h for a day)`;
    }
    return 'is not a duration such as 30s, 10m or 1h30m';
  }
  let total = 0;
  for (const [, whole, fraction = '', unit] of text.matchAll(TERM)) {
    // Integer arithmetic, so "1.1s" is exactly 1100 and "0.0001s" is refused rather than rounded.
    const scaled = Number(whole + fraction) * (UNIT_MS[unit as string] as number);
    const divisor = 10 ** fraction.length;
    if (!Number.isSafeInteger(scaled)) return 'is too large';
    if (scaled % divisor !== 0) return 'must be a whole number of milliseconds';
    total += scaled / divisor;
  }
  if (!Number.isSafeInteger(total)) return 'is too large';
  return total;
}
