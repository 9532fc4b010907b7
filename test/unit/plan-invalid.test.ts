// One refused plan per row: the example plan with one change, the field path the error must
// name, and a fragment of the reason it must give.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { parsePlan } from '../../plan/index.js';

// The document is untyped YAML data; rows poke at it freely.
type Doc = any;

const example = readFileSync(fileURLToPath(new URL('../../examples/plan.yaml', import.meta.url)), 'utf8');

interface Row {
  change: string;
  mutate: (doc: Doc) => void;
  path: string;
  reason: string;
  /** Errors expected in all; 1 unless the change breaks several fields. */
  count?: number;
}

const rows: Row[] = [
  // document
  { change: 'apiVersion v2', mutate: (d) => (d.apiVersion = 'istio-canary/v2'), path: 'apiVersion', reason: 'must be "istio-canary/v1"' },
  { change: 'kind Plan', mutate: (d) => (d.kind = 'Plan'), path: 'kind', reason: 'must be "UpgradePlan", got "Plan"' },
  { change: 'no spec', mutate: (d) => delete d.spec, path: 'spec', reason: 'is required' },
  { change: 'unknown top-level field', mutate: (d) => (d.status = {}), path: 'status', reason: 'unknown field (allowed here: apiVersion, kind, metadata, spec)' },
  { change: 'unknown nested field', mutate: (d) => (d.spec.canary.soakk = '1m'), path: 'spec.canary.soakk', reason: 'allowed here: namespaces, soak' },
  { change: 'metadata.name uppercase', mutate: (d) => (d.metadata.name = 'Prod'), path: 'metadata.name', reason: 'DNS-1123 label' },
  { change: 'metadata.name missing', mutate: (d) => delete d.metadata.name, path: 'metadata.name', reason: 'is required' },
  // cluster and target
  { change: 'cluster with a quote', mutate: (d) => (d.spec.cluster = 'prod"eu'), path: 'spec.cluster', reason: 'DNS-1123 label' },
  { change: 'cluster a number', mutate: (d) => (d.spec.cluster = 5), path: 'spec.cluster', reason: 'must be a string, got number 5' },
  { change: 'version two parts', mutate: (d) => (d.spec.target.version = '1.30'), path: 'spec.target.version', reason: 'must be a version such as 1.30.3' },
  { change: 'version with v', mutate: (d) => (d.spec.target.version = 'v1.30.3'), path: 'spec.target.version', reason: 'must be a version' },
  { change: 'version with build metadata', mutate: (d) => (d.spec.target.version = '1.30.3+abc'), path: 'spec.target.version', reason: 'must be a version' },
  { change: 'target revision with dots', mutate: (d) => (d.spec.target.revision = '1.30.3'), path: 'spec.target.revision', reason: "must not contain '.'" },
  { change: 'target revision uppercase', mutate: (d) => (d.spec.target.revision = 'Canary'), path: 'spec.target.revision', reason: 'DNS-1123 label' },
  { change: 'target revision too long', mutate: (d) => (d.spec.target.revision = 'r'.repeat(57)), path: 'spec.target.revision', reason: 'at most 56 characters' },
  { change: 'target revision default', mutate: (d) => (d.spec.target.revision = 'default'), path: 'spec.target.revision', reason: "must not be 'default'", count: 2 },
  { change: 'target revision equals source', mutate: (d) => (d.spec.source.revision = '1-30-3'), path: 'spec.target.revision', reason: 'equals spec.source.revision' },
  {
    change: 'derived revision equals source',
    mutate: (d) => {
      delete d.spec.target.revision;
      d.spec.source.revision = '1-30-3';
    },
    path: 'spec.target.version',
    reason: 'derives revision 1-30-3, which equals spec.source.revision',
  },
  {
    change: 'derived revision too long',
    mutate: (d) => {
      delete d.spec.target.revision;
      d.spec.target.version = `1.30.3-${'x'.repeat(50)}`;
    },
    path: 'spec.target.version',
    reason: 'set spec.target.revision',
  },
  { change: 'source revision with a brace', mutate: (d) => (d.spec.source.revision = '1-29-4}'), path: 'spec.source.revision', reason: 'DNS-1123 label' },
  { change: 'source revision with dots', mutate: (d) => (d.spec.source.revision = '1.29.4'), path: 'spec.source.revision', reason: 'did you mean 1-29-4?' },
  { change: 'istioctl empty', mutate: (d) => (d.spec.target.istioctl = ''), path: 'spec.target.istioctl', reason: 'must not be empty' },
  { change: 'istioctl missing', mutate: (d) => delete d.spec.target.istioctl, path: 'spec.target.istioctl', reason: 'is required' },
  { change: 'istioctl with ;', mutate: (d) => (d.spec.target.istioctl = 'istioctl; rm -rf /'), path: 'spec.target.istioctl', reason: 'must be a plain path' },
  { change: 'istioctl with $()', mutate: (d) => (d.spec.target.istioctl = '$(which istioctl)'), path: 'spec.target.istioctl', reason: 'no spaces or shell metacharacters' },
  { change: 'istioctl with a space', mutate: (d) => (d.spec.target.istioctl = '/opt/my istio/istioctl'), path: 'spec.target.istioctl', reason: 'must be a plain path' },
  { change: 'istioctl under ~', mutate: (d) => (d.spec.target.istioctl = '~/bin/istioctl'), path: 'spec.target.istioctl', reason: "must not start with '~'" },
  { change: 'overlay like an option', mutate: (d) => (d.spec.target.overlay = '--set=x'), path: 'spec.target.overlay', reason: "must not start with '-'" },
  { change: 'profile that installs gateways', mutate: (d) => (d.spec.target.profile = 'default'), path: 'spec.target.profile', reason: 'installs an ingress gateway' },
  // canary
  { change: 'no canary namespaces', mutate: (d) => (d.spec.canary.namespaces = []), path: 'spec.canary.namespaces', reason: 'at least one namespace' },
  { change: 'canary namespace uppercase', mutate: (d) => (d.spec.canary.namespaces = ['Canary']), path: 'spec.canary.namespaces[0]', reason: 'got "Canary"' },
  { change: 'namespace with PromQL braces', mutate: (d) => (d.spec.canary.namespaces = ['a"}or{x="']), path: 'spec.canary.namespaces[0]', reason: 'DNS-1123 label' },
  { change: 'namespace with a pipe', mutate: (d) => (d.spec.canary.namespaces = ['a|b']), path: 'spec.canary.namespaces[0]', reason: 'DNS-1123 label' },
  { change: 'soak without unit', mutate: (d) => (d.spec.canary.soak = '10'), path: 'spec.canary.soak', reason: 'needs a unit' },
  { change: 'soak zero', mutate: (d) => (d.spec.canary.soak = '0s'), path: 'spec.canary.soak', reason: 'must be greater than zero' },
  { change: 'soak negative', mutate: (d) => (d.spec.canary.soak = '-10m'), path: 'spec.canary.soak', reason: 'must not be negative' },
  { change: 'soak in days', mutate: (d) => (d.spec.canary.soak = '1d'), path: 'spec.canary.soak', reason: 'unknown unit "d"' },
  { change: 'soak shorter than interval', mutate: (d) => (d.spec.canary.soak = '30s'), path: 'spec.canary.soak', reason: 'at least spec.gates.interval (1m)' },
  // namespaces across the plan
  { change: 'canary namespace again in a wave', mutate: (d) => d.spec.waves[0].namespaces.push('canary-test'), path: 'spec.waves[0].namespaces[2]', reason: 'duplicate namespace canary-test (already at spec.canary.namespaces[0])' },
  { change: 'namespace twice in a wave', mutate: (d) => d.spec.waves[0].namespaces.push('catalog'), path: 'spec.waves[0].namespaces[2]', reason: 'already at spec.waves[0].namespaces[0]' },
  { change: 'namespace twice in the canary', mutate: (d) => d.spec.canary.namespaces.push('canary-test'), path: 'spec.canary.namespaces[1]', reason: 'duplicate namespace' },
  {
    change: 'namespace in two waves',
    mutate: (d) => {
      delete d.spec.waves[1].selector;
      d.spec.waves[1].namespaces = ['search'];
    },
    path: 'spec.waves[1].namespaces[0]',
    reason: 'already at spec.waves[0].namespaces[1]',
  },
  { change: 'gateway namespace in a wave', mutate: (d) => d.spec.waves[0].namespaces.push('istio-system'), path: 'spec.waves[0].namespaces[2]', reason: 'spec.gateways.namespace' },
  // waves
  { change: 'wave with namespaces and selector', mutate: (d) => (d.spec.waves[1].namespaces = ['x']), path: 'spec.waves[1]', reason: 'has both namespaces and selector' },
  { change: 'wave with neither', mutate: (d) => delete d.spec.waves[1].selector, path: 'spec.waves[1]', reason: 'needs namespaces or a selector' },
  { change: 'wave with no namespaces', mutate: (d) => (d.spec.waves[0].namespaces = []), path: 'spec.waves[0].namespaces', reason: 'at least one namespace' },
  { change: 'selector unbalanced', mutate: (d) => (d.spec.waves[1].selector = 'team in (payments'), path: 'spec.waves[1].selector', reason: 'invalid label selector: unbalanced' },
  { change: 'selector empty', mutate: (d) => (d.spec.waves[1].selector = ''), path: 'spec.waves[1].selector', reason: 'matches every namespace' },
  { change: 'selector with shell', mutate: (d) => (d.spec.waves[1].selector = 'team=$(id)'), path: 'spec.waves[1].selector', reason: 'invalid label selector' },
  { change: 'duplicate wave name', mutate: (d) => (d.spec.waves[1].name = 'low-risk'), path: 'spec.waves[1].name', reason: 'duplicate wave name low-risk' },
  { change: 'wave name with a space', mutate: (d) => (d.spec.waves[0].name = 'low risk'), path: 'spec.waves[0].name', reason: 'DNS-1123 label' },
  { change: 'maxParallel zero', mutate: (d) => (d.spec.waves[1].maxParallel = 0), path: 'spec.waves[1].maxParallel', reason: 'must be at least 1' },
  { change: 'maxParallel fractional', mutate: (d) => (d.spec.waves[1].maxParallel = 1.5), path: 'spec.waves[1].maxParallel', reason: 'must be a whole number' },
  { change: 'wave approval unknown', mutate: (d) => (d.spec.waves[1].approval = 'maybe'), path: 'spec.waves[1].approval', reason: 'must be "required" or "none"' },
  { change: 'wave soak shorter than interval', mutate: (d) => (d.spec.waves[0].soak = '10s'), path: 'spec.waves[0].soak', reason: 'checked at least once' },
  // gateways
  { change: 'gateway selector invalid', mutate: (d) => (d.spec.gateways = { selector: 'istio=' + "'x'" }), path: 'spec.gateways.selector', reason: 'invalid label selector' },
  { change: 'gateway soak shorter than interval', mutate: (d) => (d.spec.gateways = { soak: '1s' }), path: 'spec.gateways.soak', reason: 'at least spec.gates.interval' },
  { change: 'gateways enabled not boolean', mutate: (d) => (d.spec.gateways = { enabled: 'yes' }), path: 'spec.gateways.enabled', reason: 'must be true or false, got "yes"' },
  // gates
  { change: 'window shorter than interval', mutate: (d) => (d.spec.gates.window = '30s'), path: 'spec.gates.window', reason: 'must be at least spec.gates.interval (1m)' },
  { change: 'interval unknown unit', mutate: (d) => (d.spec.gates.interval = '1x'), path: 'spec.gates.interval', reason: 'unknown unit "x"' },
  { change: 'failureLimit zero', mutate: (d) => (d.spec.gates.failureLimit = 0), path: 'spec.gates.failureLimit', reason: 'must be at least 1' },
  { change: 'inconclusiveLimit negative', mutate: (d) => (d.spec.gates.inconclusiveLimit = -1), path: 'spec.gates.inconclusiveLimit', reason: 'must be 0 or more' },
  { change: 'onInconclusive unknown', mutate: (d) => (d.spec.gates.onInconclusive = 'ignore'), path: 'spec.gates.onInconclusive', reason: 'must be "pause" or "rollback"' },
  { change: 'no metrics', mutate: (d) => (d.spec.gates.metrics = []), path: 'spec.gates.metrics', reason: 'at least one metric' },
  { change: 'metrics missing', mutate: (d) => delete d.spec.gates.metrics, path: 'spec.gates.metrics', reason: 'is required' },
  { change: 'error rate zero', mutate: (d) => (d.spec.gates.metrics[0].max = 0), path: 'spec.gates.metrics[0].max', reason: 'fraction in (0, 1]' },
  { change: 'error rate as percent', mutate: (d) => (d.spec.gates.metrics[0].max = 5), path: 'spec.gates.metrics[0].max', reason: 'e.g. 0.01 for 1%' },
  { change: 'error rate as text', mutate: (d) => (d.spec.gates.metrics[0].max = '1%'), path: 'spec.gates.metrics[0].max', reason: 'must be a number, got "1%"' },
  { change: 'latency zero', mutate: (d) => (d.spec.gates.metrics[1].maxMs = 0), path: 'spec.gates.metrics[1].maxMs', reason: 'greater than 0' },
  { change: 'latency missing', mutate: (d) => delete d.spec.gates.metrics[1].maxMs, path: 'spec.gates.metrics[1].maxMs', reason: 'is required' },
  { change: 'minRequests zero', mutate: (d) => (d.spec.gates.metrics[0].minRequests = 0), path: 'spec.gates.metrics[0].minRequests', reason: 'at least 1 request' },
  { change: 'minRequests fractional', mutate: (d) => (d.spec.gates.metrics[1].minRequests = 2.5), path: 'spec.gates.metrics[1].minRequests', reason: 'whole number' },
  { change: 'metric type unknown', mutate: (d) => (d.spec.gates.metrics[0].type = 'successRate'), path: 'spec.gates.metrics[0].type', reason: 'must be one of errorRate, latencyP99' },
  { change: 'metric type missing', mutate: (d) => delete d.spec.gates.metrics[0].type, path: 'spec.gates.metrics[0].type', reason: 'must be one of' },
  { change: 'metric field of another type', mutate: (d) => (d.spec.gates.metrics[1].max = 1), path: 'spec.gates.metrics[1].max', reason: 'allowed here: name, type, maxMs, minRequests' },
  { change: 'raw PromQL in a metric', mutate: (d) => (d.spec.gates.metrics[0].query = 'up'), path: 'spec.gates.metrics[0].query', reason: 'unknown field' },
  { change: 'duplicate metric name', mutate: (d) => (d.spec.gates.metrics[1].name = 'error-rate'), path: 'spec.gates.metrics[1].name', reason: 'duplicate metric name error-rate' },
  { change: 'metric name with a semicolon', mutate: (d) => (d.spec.gates.metrics[0].name = 'a;b'), path: 'spec.gates.metrics[0].name', reason: 'DNS-1123 label' },
  { change: 'request volume zero', mutate: (d) => d.spec.gates.metrics.push({ name: 'rps', type: 'requestVolume', minRps: 0 }), path: 'spec.gates.metrics[2].minRps', reason: 'greater than 0' },
  { change: 'xds rejects negative', mutate: (d) => d.spec.gates.metrics.push({ name: 'xds', type: 'xdsRejects', max: -1 }), path: 'spec.gates.metrics[2].max', reason: '0 or more' },
  // approval
  { change: 'approval timeout zero', mutate: (d) => (d.spec.approval.timeout = '0s'), path: 'spec.approval.timeout', reason: 'greater than zero' },
  { change: 'onTimeout unknown', mutate: (d) => (d.spec.approval.onTimeout = 'approve'), path: 'spec.approval.onTimeout', reason: 'must be "rollback" or "hold"' },
  { change: 'beforePromotion boolean', mutate: (d) => (d.spec.approval.beforePromotion = true), path: 'spec.approval.beforePromotion', reason: 'must be "required" or "none", got boolean true' },
  { change: 'empty approver', mutate: (d) => d.spec.approval.approvers.push(''), path: 'spec.approval.approvers[2]', reason: 'non-empty name' },
  { change: 'approver with spaces around', mutate: (d) => (d.spec.approval.approvers = [' bob']), path: 'spec.approval.approvers[0]', reason: 'without surrounding spaces' },
  { change: 'approver a number', mutate: (d) => (d.spec.approval.approvers = [42]), path: 'spec.approval.approvers[0]', reason: 'must be a string' },
  { change: 'duplicate approver', mutate: (d) => d.spec.approval.approvers.push('alice'), path: 'spec.approval.approvers[2]', reason: 'duplicate approver alice' },
  // rollout, finalize, rollback
  { change: 'kind Pod', mutate: (d) => (d.spec.rollout.kinds = ['Pod']), path: 'spec.rollout.kinds[0]', reason: 'must be "Deployment" or "StatefulSet" or "DaemonSet"' },
  { change: 'kind lowercase', mutate: (d) => (d.spec.rollout.kinds = ['deployment']), path: 'spec.rollout.kinds[0]', reason: 'got "deployment"' },
  { change: 'duplicate kind', mutate: (d) => d.spec.rollout.kinds.push('Deployment'), path: 'spec.rollout.kinds[1]', reason: 'duplicate workload kind Deployment' },
  { change: 'no kinds', mutate: (d) => (d.spec.rollout.kinds = []), path: 'spec.rollout.kinds', reason: 'at least one workload kind' },
  { change: 'progressDeadline bare', mutate: (d) => (d.spec.rollout.progressDeadline = '600'), path: 'spec.rollout.progressDeadline', reason: 'needs a unit' },
  { change: 'tag uppercase', mutate: (d) => (d.spec.finalize.moveTags = ['Default']), path: 'spec.finalize.moveTags[0]', reason: 'DNS-1123 label' },
  { change: 'tag named like the target revision', mutate: (d) => d.spec.finalize.moveTags.push('1-30-3'), path: 'spec.finalize.moveTags[1]', reason: 'has the name of a revision' },
  { change: 'duplicate tag', mutate: (d) => d.spec.finalize.moveTags.push('default'), path: 'spec.finalize.moveTags[1]', reason: 'duplicate tag default' },
  { change: 'uninstallOldAfter negative', mutate: (d) => (d.spec.finalize.uninstallOldAfter = '-1h'), path: 'spec.finalize.uninstallOldAfter', reason: 'must not be negative' },
  { change: 'rollback unknown field', mutate: (d) => (d.spec.rollback = { restoreBackup: true }), path: 'spec.rollback.restoreBackup', reason: 'allowed here: uninstallCanary' },
  // prometheus
  { change: 'prometheus ftp', mutate: (d) => (d.spec.prometheus.url = 'ftp://prometheus:21'), path: 'spec.prometheus.url', reason: 'http:// or https://' },
  { change: 'prometheus no scheme', mutate: (d) => (d.spec.prometheus.url = 'prometheus.monitoring:9090'), path: 'spec.prometheus.url', reason: 'http:// or https://' },
  { change: 'prometheus with credentials', mutate: (d) => (d.spec.prometheus.url = 'https://user:secret@prometheus'), path: 'spec.prometheus.url', reason: 'must not carry credentials' },
  { change: 'prometheus missing', mutate: (d) => delete d.spec.prometheus, path: 'spec.prometheus', reason: 'is required' },
];

describe('parsePlan refuses', () => {
  it.each(rows)('$change: $path', ({ mutate, path, reason, count = 1 }) => {
    const doc: Doc = parse(example);
    mutate(doc);
    const result = parsePlan(stringify(doc));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toContainEqual({ path, message: expect.stringContaining(reason) });
    expect(result.errors).toHaveLength(count);
  });

  it('has at least 30 rows', () => {
    expect(rows.length).toBeGreaterThanOrEqual(30);
  });
});
