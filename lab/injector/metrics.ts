// Counters the injector exposes on /metrics (Prometheus text format). The
// names of istiod's own injector and validation metrics are kept
// (pkg/kube/inject/monitoring.go, pkg/webhooks/validation/server/monitoring.go),
// with a `revision` label where the lab adds one.

type LabelSet = Record<string, string>;

class Counter {
  private readonly values = new Map<string, { labels: LabelSet; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: LabelSet = {}, by = 1): void {
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
    const entry = this.values.get(key);
    if (entry) entry.value += by;
    else this.values.set(key, { labels, value: by });
  }

  get(labels: LabelSet = {}): number {
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
    return this.values.get(key)?.value ?? 0;
  }

  total(): number {
    let sum = 0;
    for (const { value } of this.values.values()) sum += value;
    return sum;
  }

  /** Values by one label, e.g. injections per revision. */
  by(label: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const { labels, value } of this.values.values()) {
      const key = labels[label] ?? '';
      out[key] = (out[key] ?? 0) + value;
    }
    return out;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.values.size === 0) lines.push(`${this.name} 0`);
    for (const { labels, value } of this.values.values()) {
      const rendered = Object.entries(labels)
        .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
        .join(',');
      lines.push(`${this.name}${rendered ? `{${rendered}}` : ''} ${value}`);
    }
    return lines.join('\n');
  }
}

export class InjectorMetrics {
  readonly requests = new Counter('sidecar_injection_requests_total', 'Total number of sidecar injection requests.');
  readonly injections = new Counter('sidecar_injection_success_total', 'Successful sidecar injections, by revision and template.');
  readonly skips = new Counter('sidecar_injection_skip_total', 'Injection requests answered without a patch, by reason.');
  readonly refusals = new Counter(
    'sidecar_injection_failure_total',
    'Injection requests refused (pod not admitted), by revision and reason.',
  );
  readonly mismatches = new Counter(
    'lab_injector_revision_mismatch_total',
    'Per-revision webhook calls where the lab decision rules chose another revision (or none).',
  );
  readonly validations = new Counter('galley_validation_passed', 'Istio config admitted by the validation webhook.');
  readonly badRequests = new Counter('lab_injector_bad_requests_total', 'Requests that were not a valid AdmissionReview.');
  private durationSum = 0;
  private durationCount = 0;

  observe(seconds: number): void {
    this.durationSum += seconds;
    this.durationCount += 1;
  }

  render(): string {
    return [
      this.requests.render(),
      this.injections.render(),
      this.skips.render(),
      this.refusals.render(),
      this.mismatches.render(),
      this.validations.render(),
      this.badRequests.render(),
      '# HELP lab_injector_request_duration_seconds Time to answer an admission request.',
      '# TYPE lab_injector_request_duration_seconds summary',
      `lab_injector_request_duration_seconds_sum ${this.durationSum}`,
      `lab_injector_request_duration_seconds_count ${this.durationCount}`,
      '',
    ].join('\n');
  }

  /** A plain snapshot for in-process callers and tests. */
  snapshot() {
    return {
      requests: this.requests.total(),
      injectionsByRevision: this.injections.by('revision'),
      refusalsByRevision: this.refusals.by('revision'),
      skips: this.skips.total(),
      mismatches: this.mismatches.total(),
      validations: this.validations.total(),
    };
  }
}
