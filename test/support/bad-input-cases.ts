// Plan files the CLI must refuse before it starts anything: each is the lab's test plan
// with one thing wrong, the field path the refusal must name, and part of the reason.
import { parse, stringify } from 'yaml';

// The document is untyped YAML data; cases poke at it freely.
type Doc = any;

export interface PlanCase {
  name: string;
  /** Changes the valid plan document; or `text` replaces the file whole. */
  mutate?: (doc: Doc) => void;
  text?: (valid: string) => string;
  path: string;
  reason: string;
}

export const BAD_INPUT_CLUSTER = 'bad-input';

/** The lab's test plan for cluster bad-input, with an approver allow-list. */
export function basePlanDocument(planText: string): Doc {
  const doc = parse(planText) as Doc;
  doc.spec.cluster = BAD_INPUT_CLUSTER;
  doc.spec.approval.approvers = ['alice', 'bob'];
  return doc;
}

export function planText(doc: Doc): string {
  return stringify(doc);
}

export const planCases: PlanCase[] = [
  // the file itself
  { name: 'malformed YAML (unclosed flow list)', text: (t) => t.replace('kind: UpgradePlan', 'kind: [UpgradePlan'), path: '(document)', reason: 'invalid YAML' },
  { name: 'malformed YAML (tab indentation)', text: (t) => t.replace('\n  cluster:', '\n\tcluster:'), path: '(document)', reason: 'invalid YAML' },
  { name: 'duplicate key', text: (t) => t.replace('kind: UpgradePlan', 'kind: UpgradePlan\nkind: UpgradePlan'), path: '(document)', reason: 'invalid YAML' },
  { name: 'empty file', text: () => '', path: '(document)', reason: 'is empty' },
  { name: 'two YAML documents', text: (t) => `${t}---\n${t}`, path: '(document)', reason: 'expected one YAML document, found 2' },
  { name: 'a list instead of a mapping', text: () => '- apiVersion: istio-canary/v1\n', path: '(document)', reason: 'must be a mapping, got a list' },
  { name: 'wrong apiVersion', mutate: (d) => (d.apiVersion = 'istio-canary/v2'), path: 'apiVersion', reason: 'must be "istio-canary/v1"' },
  // wrong types
  { name: 'canary namespaces a string, not a list', mutate: (d) => (d.spec.canary.namespaces = 'canary-test'), path: 'spec.canary.namespaces', reason: 'must be a list' },
  { name: 'failureLimit a word', mutate: (d) => (d.spec.gates.failureLimit = 'two'), path: 'spec.gates.failureLimit', reason: 'must be a number, got "two"' },
  { name: 'version a number', mutate: (d) => (d.spec.target.version = 1.3), path: 'spec.target.version', reason: 'must be a string: quote it' },
  { name: 'rollout.kinds unknown kind', mutate: (d) => (d.spec.rollout.kinds = ['Pod']), path: 'spec.rollout.kinds[0]', reason: 'must be "Deployment" or "StatefulSet" or "DaemonSet"' },
  // unknown fields
  { name: 'misspelt field (revison)', mutate: (d) => (d.spec.target.revison = '1-30-3'), path: 'spec.target.revison', reason: 'unknown field (allowed here: version, revision, istioctl, overlay, profile)' },
  { name: 'unknown top-level field', mutate: (d) => (d.status = { phase: 'completed' }), path: 'status', reason: 'unknown field' },
  { name: 'unknown field in a metric', mutate: (d) => (d.spec.gates.metrics[0].threshold = 0.01), path: 'spec.gates.metrics[0].threshold', reason: 'unknown field' },
  // durations
  { name: 'zero soak', mutate: (d) => (d.spec.canary.soak = '0s'), path: 'spec.canary.soak', reason: 'must be greater than zero' },
  { name: 'negative interval', mutate: (d) => (d.spec.gates.interval = '-2s'), path: 'spec.gates.interval', reason: 'must not be negative' },
  { name: 'duration without a unit', mutate: (d) => (d.spec.rollout.progressDeadline = '120'), path: 'spec.rollout.progressDeadline', reason: 'needs a unit' },
  { name: 'duration as a bare number', mutate: (d) => (d.spec.canary.soak = 30), path: 'spec.canary.soak', reason: 'needs a unit: write 30s' },
  { name: 'duration in days', mutate: (d) => (d.spec.approval.timeout = '2d'), path: 'spec.approval.timeout', reason: 'unknown unit "d"' },
  { name: 'zero approval timeout', mutate: (d) => (d.spec.approval.timeout = '0m'), path: 'spec.approval.timeout', reason: 'must be greater than zero' },
  // thresholds
  { name: 'error rate above 1', mutate: (d) => (d.spec.gates.metrics[0].max = 1.5), path: 'spec.gates.metrics[0].max', reason: 'must be a fraction in (0, 1]' },
  { name: 'error rate zero', mutate: (d) => (d.spec.gates.metrics[0].max = 0), path: 'spec.gates.metrics[0].max', reason: 'must be a fraction in (0, 1]' },
  { name: 'negative latency', mutate: (d) => (d.spec.gates.metrics[1].maxMs = -5), path: 'spec.gates.metrics[1].maxMs', reason: 'must be greater than 0 milliseconds' },
  { name: 'minRequests zero', mutate: (d) => (d.spec.gates.metrics[0].minRequests = 0), path: 'spec.gates.metrics[0].minRequests', reason: 'must be at least 1 request' },
  { name: 'failureLimit zero', mutate: (d) => (d.spec.gates.failureLimit = 0), path: 'spec.gates.failureLimit', reason: 'must be at least 1' },
  { name: 'inconclusiveLimit negative', mutate: (d) => (d.spec.gates.inconclusiveLimit = -1), path: 'spec.gates.inconclusiveLimit', reason: 'must be 0 or more' },
  { name: 'maxParallel zero', mutate: (d) => (d.spec.waves[0].maxParallel = 0), path: 'spec.waves[0].maxParallel', reason: 'must be at least 1' },
  { name: 'unknown metric type', mutate: (d) => (d.spec.gates.metrics[0].type = 'successRate'), path: 'spec.gates.metrics[0].type', reason: 'must be one of errorRate' },
  // names that are not DNS-1123 labels
  { name: 'namespace in capitals', mutate: (d) => (d.spec.waves[0].namespaces[0] = 'Catalog'), path: 'spec.waves[0].namespaces[0]', reason: 'DNS-1123 label' },
  { name: 'namespace with an underscore', mutate: (d) => (d.spec.canary.namespaces = ['canary_test']), path: 'spec.canary.namespaces[0]', reason: 'DNS-1123 label' },
  { name: 'namespace of 64 characters', mutate: (d) => (d.spec.canary.namespaces = ['n'.repeat(64)]), path: 'spec.canary.namespaces[0]', reason: 'at most 63 characters' },
  { name: 'cluster ending in a dash', mutate: (d) => (d.spec.cluster = 'lab-'), path: 'spec.cluster', reason: 'DNS-1123 label' },
  { name: 'target revision with dots', mutate: (d) => (d.spec.target.revision = '1.30.3'), path: 'spec.target.revision', reason: "must not contain '.'" },
  // names carrying PromQL or shell metacharacters
  { name: 'namespace carrying PromQL', mutate: (d) => (d.spec.canary.namespaces = ['canary-test"} or vector(1) #']), path: 'spec.canary.namespaces[0]', reason: 'DNS-1123 label' },
  { name: 'namespace carrying a shell command', mutate: (d) => (d.spec.waves[0].namespaces[1] = 'search;rm -rf /'), path: 'spec.waves[0].namespaces[1]', reason: 'DNS-1123 label' },
  { name: 'cluster carrying $(...)', mutate: (d) => (d.spec.cluster = '$(reboot)'), path: 'spec.cluster', reason: 'DNS-1123 label' },
  { name: 'metric name carrying PromQL braces', mutate: (d) => (d.spec.gates.metrics[0].name = 'error{rate="x"}'), path: 'spec.gates.metrics[0].name', reason: 'DNS-1123 label' },
  { name: 'source revision carrying a backtick', mutate: (d) => (d.spec.source.revision = '1-29-4`id`'), path: 'spec.source.revision', reason: 'DNS-1123 label' },
  { name: 'wave selector carrying a shell command', mutate: (d) => (d.spec.waves[1].selector = 'team=$(id)'), path: 'spec.waves[1].selector', reason: 'invalid label selector' },
  { name: 'wave selector carrying PromQL', mutate: (d) => (d.spec.waves[1].selector = 'team in (a"}|b)'), path: 'spec.waves[1].selector', reason: 'invalid label selector' },
  { name: 'istioctl path carrying a shell command', mutate: (d) => (d.spec.target.istioctl = '/usr/bin/istioctl; id'), path: 'spec.target.istioctl', reason: 'no spaces or shell metacharacters' },
  { name: 'istioctl path read as an option', mutate: (d) => (d.spec.target.istioctl = '--kubeconfig=/etc/shadow'), path: 'spec.target.istioctl', reason: "must not start with '-'" },
  { name: 'overlay path with a pipe', mutate: (d) => (d.spec.target.overlay = 'overlay.yaml|sh'), path: 'spec.target.overlay', reason: 'shell metacharacters' },
  { name: 'tag carrying a quote', mutate: (d) => (d.spec.finalize.moveTags = ["default'"]), path: 'spec.finalize.moveTags[0]', reason: 'DNS-1123 label' },
  // how fields relate
  { name: 'target equal to source', mutate: (d) => (d.spec.target.revision = d.spec.source.revision), path: 'spec.target.revision', reason: 'equals spec.source.revision' },
  { name: 'a namespace in two waves', mutate: (d) => (d.spec.waves[1] = { name: 'rest', namespaces: ['search'] }), path: 'spec.waves[1].namespaces[0]', reason: 'duplicate namespace search (already at spec.waves[0].namespaces[1])' },
  { name: 'the canary namespace in a wave', mutate: (d) => d.spec.waves[0].namespaces.push('canary-test'), path: 'spec.waves[0].namespaces[4]', reason: 'already at spec.canary.namespaces[0]' },
  { name: 'duplicate wave names', mutate: (d) => (d.spec.waves[1].name = 'low-risk'), path: 'spec.waves[1].name', reason: 'duplicate wave name low-risk' },
  { name: 'window shorter than interval', mutate: (d) => (d.spec.gates.window = '1s'), path: 'spec.gates.window', reason: 'must be at least spec.gates.interval' },
  { name: 'approver listed twice', mutate: (d) => (d.spec.approval.approvers = ['alice', 'alice']), path: 'spec.approval.approvers[1]', reason: 'duplicate approver alice' },
  { name: 'blank approver', mutate: (d) => (d.spec.approval.approvers = [' ']), path: 'spec.approval.approvers[0]', reason: 'must be a non-empty name' },
  { name: 'Prometheus URL with credentials', mutate: (d) => (d.spec.prometheus.url = 'http://admin:secret@127.0.0.1:9090'), path: 'spec.prometheus.url', reason: 'must not carry credentials' },
  { name: 'Prometheus URL not http', mutate: (d) => (d.spec.prometheus.url = 'file:///etc/passwd'), path: 'spec.prometheus.url', reason: 'must be an http:// or https:// URL' },
];
