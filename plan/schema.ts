// The user-facing UpgradePlan document: what each field may hold, and its default. How fields
// relate to each other is checked in cross-checks.ts; turning the document into the workflow's
// ResolvedPlan happens in resolve.ts. This schema is the single source of the published JSON
// schema (json-schema.ts), so constraints live here as patterns and bounds where they can.

import { z } from 'zod';
import { DURATION_PATTERN, durationProblem, type DurationOptions } from './duration.js';
import {
  DNS1123_LABEL_PATTERN,
  DNS1123_LABEL_RULE,
  MAX_REVISION_LENGTH,
  parseLabelSelector,
  revisionProblem,
  VERSION_PATTERN,
} from './names.js';
import { NOTIFICATION_EVENTS } from './types.js';

export const API_VERSION = 'istio-canary/v1';
export const KIND = 'UpgradePlan';
export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;

/** A strict object whose unknown-field error lists the fields that are allowed there. */
function strictObject<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field (allowed here: ${allowed})` : undefined),
  });
}

const dnsLabel = () =>
  z.string().regex(DNS1123_LABEL_PATTERN, { error: (issue) => `${DNS1123_LABEL_RULE}, got ${JSON.stringify(issue.input)}` });

const revision = () =>
  z
    .string()
    .regex(DNS1123_LABEL_PATTERN, { error: (issue) => revisionProblem(String(issue.input)) })
    .max(MAX_REVISION_LENGTH, `must be at most ${MAX_REVISION_LENGTH} characters (istiod-<revision> is a Service name)`);

function duration(options: DurationOptions = {}) {
  const problem = (input: unknown) => durationProblem(String(input), options);
  return z
    .string({
      error: (issue) =>
        typeof issue.input === 'number' ? `needs a unit: write ${issue.input}s, ${issue.input}m or ${issue.input}h` : undefined,
    })
    .regex(DURATION_PATTERN, { error: (issue) => problem(issue.input) })
    .refine((text) => !DURATION_PATTERN.test(text) || problem(text) === undefined, { error: (issue) => problem(issue.input) })
    .meta({ examples: ['30s', '10m', '1h30m'] });
}

const labelSelector = () =>
  z.string().superRefine((selector, ctx) => {
    const parsed = parseLabelSelector(selector);
    if (!parsed.ok) for (const error of parsed.errors) ctx.addIssue({ code: 'custom', message: `invalid label selector: ${error}` });
  });

// Paths reach istioctl as argv elements, never through a shell; keeping them plain still rules out
// surprises such as an unexpanded `~`, a leading `-` read as an option, or quoting when a human
// copies the command from the audit trail.
const PLAIN_PATH_PATTERN = /^(?![-~])[A-Za-z0-9._+@/-]+$/;
const plainPath = () =>
  z.string().regex(PLAIN_PATH_PATTERN, {
    error: (issue) => {
      const path = String(issue.input);
      if (path === '') return 'must not be empty';
      if (path.startsWith('~')) return "must not start with '~': no shell expands it; use an absolute path";
      if (path.startsWith('-')) return "must not start with '-': istioctl would read it as an option";
      return 'must be a plain path: letters, digits and . _ + @ - / only (no spaces or shell metacharacters)';
    },
  });

const version = () =>
  z
    .string({
      error: (issue) =>
        typeof issue.input === 'number' ? `must be a string: quote it ("1.30.3"), YAML read it as the number ${issue.input}` : undefined,
    })
    .regex(VERSION_PATTERN, 'must be a version such as 1.30.3 or 1.30.0-beta.1');

// These profiles include an ingress gateway, which a revisioned install would place over the
// running one; gateways move to the new revision in their own step instead.
const PROFILES_WITH_GATEWAYS = ['default', 'demo', 'openshift', 'preview'];
const profile = () =>
  dnsLabel().refine((name) => !PROFILES_WITH_GATEWAYS.includes(name), {
    error: (issue) => `profile ${String(issue.input)} installs an ingress gateway; use minimal (istiod only)`,
  });

const prometheusUrl = () =>
  z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .refine((url) => !URL.canParse(url) || (new URL(url).username === '' && new URL(url).password === ''), {
      error: 'must not carry credentials: the plan is stored in the workflow history',
    });

const positiveInteger = (what: string) => z.int().min(1, `must be at least 1 ${what}`);

const minRequests = () =>
  positiveInteger('request')
    .default(100)
    .describe('Fewer requests than this in the window make a check inconclusive, never a pass.');

const errorRateMetric = strictObject({
  name: dnsLabel(),
  type: z.literal('errorRate'),
  max: z
    .number()
    .gt(0, 'must be a fraction in (0, 1], e.g. 0.01 for 1%')
    .lte(1, 'must be a fraction in (0, 1], e.g. 0.01 for 1%'),
  minRequests: minRequests(),
});

const latencyP99Metric = strictObject({
  name: dnsLabel(),
  type: z.literal('latencyP99'),
  maxMs: z.number().gt(0, 'must be greater than 0 milliseconds'),
  minRequests: minRequests(),
});

const requestVolumeMetric = strictObject({
  name: dnsLabel(),
  type: z.literal('requestVolume'),
  minRps: z.number().gt(0, 'must be greater than 0 requests per second'),
});

const xdsRejectsMetric = strictObject({
  name: dnsLabel(),
  type: z.literal('xdsRejects'),
  max: z.int().min(0, 'must be 0 or more rejections').default(0),
});

const metric = z.discriminatedUnion('type', [errorRateMetric, latencyP99Metric, requestVolumeMetric, xdsRejectsMetric], {
  error: (issue) =>
    issue.code === 'invalid_union' ? 'must be one of errorRate, latencyP99, requestVolume, xdsRejects' : undefined,
});

const wave = strictObject({
  name: dnsLabel(),
  namespaces: z.array(dnsLabel()).min(1, 'must list at least one namespace (or use selector)').optional(),
  selector: labelSelector().optional().describe('Label selector over namespaces, resolved when the wave starts.'),
  maxParallel: positiveInteger('namespace').default(1),
  soak: duration().optional().describe('Defaults to spec.canary.soak.'),
  approval: z.enum(['required', 'none']).default('none'),
});

// Webhook URLs carry their credential in the path, and the plan travels through workflow history
// and the UI: the plan only says where the worker finds the URL.
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const secretSource = strictObject({
  env: z
    .string()
    .regex(ENV_NAME_PATTERN, 'must be an environment variable name: letters, digits and _, not starting with a digit')
    .optional()
    .describe("Environment variable in the worker's environment that holds the URL."),
  file: plainPath()
    .refine((path) => path.startsWith('/'), "must be an absolute path: it is read on the worker, whatever its working directory")
    .optional()
    .describe('File on the worker (e.g. a mounted Secret) that holds the URL.'),
}).refine((source) => (source.env === undefined) !== (source.file === undefined), 'needs exactly one of env or file');

const webhook = z.strictObject(
  { urlFrom: secretSource },
  {
    error: (issue) => {
      if (issue.code !== 'unrecognized_keys') return undefined;
      return issue.keys.includes('url')
        ? 'must not hold the URL: it is a secret and the plan is stored in the workflow history; use urlFrom: { env: NAME } or { file: /path }'
        : 'unknown field (allowed here: urlFrom)';
    },
  },
);

const notification = strictObject({
  name: dnsLabel(),
  events: z
    .array(z.enum(NOTIFICATION_EVENTS))
    .min(1, 'must list at least one event (or leave events out for all of them)')
    .default([...NOTIFICATION_EVENTS])
    .describe('Defaults to every event.'),
  webhook,
});

const spec = strictObject({
  cluster: dnsLabel().describe('One upgrade runs per cluster at a time.'),
  target: strictObject({
    version: version(),
    revision: revision()
      .refine((name) => name !== 'default', "must not be 'default': Istio reserves it for the revision-less control plane")
      .optional()
      .describe('Defaults to the version with dots replaced by dashes (1.30.3 -> 1-30-3).'),
    istioctl: plainPath(),
    overlay: plainPath().optional().describe('IstioOperator overlay passed to istioctl install -f.'),
    profile: profile().default('minimal'),
  }),
  source: strictObject({
    revision: revision().optional().describe('Detected at preflight when omitted.'),
  }).prefault({}),
  canary: strictObject({
    namespaces: z.array(dnsLabel()).min(1, 'must list at least one namespace'),
    soak: duration().default('10m'),
  }),
  waves: z.array(wave).default([]),
  gateways: strictObject({
    enabled: z.boolean().default(true),
    namespace: dnsLabel().default('istio-system'),
    selector: labelSelector().default('istio=ingressgateway'),
    soak: duration().optional().describe('Defaults to spec.canary.soak.'),
  }).prefault({}),
  gates: strictObject({
    interval: duration().default('1m'),
    window: duration().default('5m'),
    failureLimit: positiveInteger('failure').default(2),
    inconclusiveLimit: z.int().min(0, 'must be 0 or more').default(3),
    onInconclusive: z.enum(['pause', 'rollback']).default('pause'),
    metrics: z.array(metric).min(1, 'must list at least one metric: a gate without metrics would pass on no evidence'),
  }),
  approval: strictObject({
    beforePromotion: z.enum(['required', 'none']).default('required'),
    timeout: duration().default('24h'),
    onTimeout: z.enum(['rollback', 'hold']).default('rollback'),
    approvers: z
      .array(z.string().regex(/^\S(?:.*\S)?$/, 'must be a non-empty name without surrounding spaces'))
      .default([])
      .describe('Who may approve; empty means anyone.'),
  }).prefault({}),
  rollout: strictObject({
    kinds: z.array(z.enum(WORKLOAD_KINDS)).min(1, 'must list at least one workload kind').default(['Deployment']),
    progressDeadline: duration().default('10m'),
  }).prefault({}),
  finalize: strictObject({
    moveTags: z.array(dnsLabel()).default(['default']),
    uninstallOldAfter: duration({ allowZero: true }).default('1h'),
    uninstallOld: z.boolean().default(true),
  }).prefault({}),
  rollback: strictObject({
    uninstallCanary: z.boolean().default(true),
  }).prefault({}),
  prometheus: strictObject({
    url: prometheusUrl(),
  }),
  notifications: z.array(notification).default([]).describe('Slack-compatible incoming webhooks told about the upgrade.'),
});

export const planSchema = strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(KIND),
  metadata: strictObject({ name: dnsLabel() }),
  spec,
});

/** The document as written (before defaults). */
export type PlanDocumentInput = z.input<typeof planSchema>;
/** The document with defaults filled in, durations still as text. */
export type PlanDocument = z.output<typeof planSchema>;
