// The Prometheus text exposition format (version 0.0.4), just what the
// simulator emits: counters, gauges and histograms with HELP and TYPE lines,
// one family after another. Pure.

export type LabelPairs = ReadonlyArray<readonly [string, string]>;

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function formatLabels(pairs: LabelPairs): string {
  return pairs.length === 0 ? '' : `{${labelList(pairs)}}`;
}

function labelList(pairs: LabelPairs): string {
  return pairs.map(([key, value]) => `${key}="${escapeLabelValue(value)}"`).join(',');
}

/** A sample value: integers as such, other numbers in JavaScript's shortest round-trip form (Go's ParseFloat reads both). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

export class MetricFamily {
  private readonly lines: string[] = [];

  constructor(
    readonly name: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    readonly help: string,
  ) {}

  sample(labels: LabelPairs, value: number, suffix = ''): void {
    this.lines.push(`${this.name}${suffix}${formatLabels(labels)} ${formatValue(value)}`);
  }

  /**
   * One histogram series: `perBucket` holds the observations of each bucket
   * (not cumulative), one per bound and a last one for +Inf.
   */
  histogram(labels: LabelPairs, bounds: readonly number[], perBucket: readonly number[], sum: number): void {
    // The series' labels are formatted once, not once per bucket: at 200 lab
    // namespaces a scrape is 70,000 lines, and formatting each line's 25 labels
    // afresh took longer than the 1 s scrape timeout.
    const list = labelList(labels);
    const bucketPrefix = `${this.name}_bucket{${list}${list ? ',' : ''}le="`;
    let cumulative = 0;
    bounds.forEach((le, i) => {
      cumulative += perBucket[i] ?? 0;
      this.lines.push(`${bucketPrefix}${formatValue(le)}"} ${formatValue(cumulative)}`);
    });
    cumulative += perBucket[bounds.length] ?? 0;
    this.lines.push(`${bucketPrefix}+Inf"} ${formatValue(cumulative)}`);
    const braces = list ? `{${list}}` : '';
    this.lines.push(`${this.name}_sum${braces} ${formatValue(sum)}`);
    this.lines.push(`${this.name}_count${braces} ${formatValue(cumulative)}`);
  }

  get empty(): boolean {
    return this.lines.length === 0;
  }

  render(): string {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`, ...this.lines].join('\n');
  }
}

/** The families in order, each once, ending with a newline. Families without samples are left out. */
export function renderFamilies(families: MetricFamily[]): string {
  const parts = families.filter((f) => !f.empty).map((f) => f.render());
  return parts.length ? `${parts.join('\n')}\n` : '';
}
