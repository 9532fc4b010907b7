// deploy/ against the test lab's real API server, which enforces RBAC:
// - the whole kustomization passes a server-side dry run (every manifest validated);
// - the worker's ServiceAccount is granted each permission an upgrade needs
//   (SubjectAccessReviews, the API server's own authorizer answering);
// - real requests made with the worker's own token are refused for what it must
//   never do (read a Secret, delete a namespace, exec into or port-forward to a
//   pod, write workloads or Istio configuration outside its job), and nothing
//   changed in the cluster;
// - the lab's worker runs as that identity.
// The end-to-end tests (e2e-*.test.ts) run whole upgrades with exactly these rules.

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  ApiException,
  AppsV1Api,
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { execa } from 'execa';
import { kubectl } from '../../lab/cluster.js';
import { labPaths, REPO_ROOT, tool, type LabPaths } from '../../lab/paths.js';
import { labWorkerEnv } from '../../lab/worker.js';
import { DEPLOY_DIR, WORKER_NAMESPACE, WORKER_SERVICE_ACCOUNT, WORKER_USER } from '../../lab/worker-identity.js';
import { useTestLab } from '../support/lab.js';

jest.setTimeout(120_000);

const RUN = Date.now().toString(36);
/** A namespace of this test's own, with a Secret and a Deployment in it, deleted at the end. */
const APP = `rbac-${RUN}`;
const SECRET = 'database-password';

let paths: LabPaths;
/** The lab's admin. */
let admin: KubeConfig;
/** The worker's ServiceAccount, from the kubeconfig the lab's worker runs with. */
let worker: KubeConfig;

beforeAll(async () => {
  useTestLab();
  paths = labPaths();
  admin = new KubeConfig();
  admin.loadFromFile(paths.kubeconfig);
  worker = new KubeConfig();
  worker.loadFromFile(paths.workerKubeconfig);
  await kubectl(
    paths,
    ['apply', '-f', '-'],
    `apiVersion: v1
kind: Namespace
metadata: { name: ${APP}, labels: { istio-injection: enabled } }
---
apiVersion: v1
kind: Secret
metadata: { name: ${SECRET}, namespace: ${APP} }
stringData: { password: hunter2 }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: api, namespace: ${APP} }
spec:
  replicas: 1
  selector: { matchLabels: { app: api } }
  template:
    metadata: { labels: { app: api } }
    spec:
      tolerations: [{ key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule }]
      containers: [{ name: api, image: registry.example/api:1 }]
`,
  );
});

afterAll(async () => {
  await kubectl(paths, ['delete', 'namespace', APP, '--wait=false', '--ignore-not-found']).catch(() => undefined);
});

describe('deploy/ on a real API server', () => {
  it('passes a server-side dry run of the whole kustomization (kubectl apply -k deploy/ --dry-run=server)', async () => {
    const result = await execa(tool('kubectl'), ['--kubeconfig', paths.kubeconfig, 'apply', '-k', DEPLOY_DIR, '--dry-run=server'], {
      reject: false,
      all: true,
      cwd: REPO_ROOT,
    });
    expect(result.all).not.toMatch(/error|invalid|unknown field/i);
    expect(result.exitCode).toBe(0);
    for (const object of [
      'namespace/istio-canary',
      'serviceaccount/istio-canary-worker',
      'clusterrole.rbac.authorization.k8s.io/istio-canary-worker',
      'clusterrolebinding.rbac.authorization.k8s.io/istio-canary-worker',
      'role.rbac.authorization.k8s.io/istio-canary-worker',
      'rolebinding.rbac.authorization.k8s.io/istio-canary-worker',
      'configmap/istio-canary-worker',
      'deployment.apps/istio-canary-worker',
    ]) {
      expect(result.stdout).toMatch(new RegExp(`^${object.replace(/\./g, '\\.')} .*\\(server dry run\\)$`, 'm'));
    }
  });

  it('is what the lab worker runs as: its kubeconfig authenticates as the ServiceAccount', async () => {
    expect(labWorkerEnv(paths).KUBECONFIG).toBe(paths.workerKubeconfig);
    const review = await worker.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    expect(review.status?.userInfo?.username).toBe(WORKER_USER);
    expect(review.status?.userInfo?.groups).toEqual(expect.arrayContaining(['system:serviceaccounts', `system:serviceaccounts:${WORKER_NAMESPACE}`]));
  });
});

interface Access {
  verb: string;
  group?: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** The API server's authorizer on one request by the worker's ServiceAccount (a SubjectAccessReview). */
async function allowed(access: Access): Promise<{ allowed: boolean; reason?: string }> {
  const review = await admin.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: WORKER_USER,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${WORKER_NAMESPACE}`, 'system:authenticated'],
        resourceAttributes: { verb: access.verb, group: access.group ?? '', resource: access.resource, subresource: access.subresource, namespace: access.namespace, name: access.name },
      },
    },
  });
  return { allowed: review.status?.allowed === true, reason: review.status?.reason };
}

function describeAccess(a: Access): string {
  const what = `${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.group ? `.${a.group}` : ''}`;
  return `${a.verb} ${what}${a.name ? ` ${a.name}` : ''} ${a.namespace ? `in ${a.namespace}` : 'cluster-wide'}`;
}

// What whole upgrades asked for (kube-apiserver audit log, scripts/rbac-requests.ts): the
// activities' own calls, then istioctl's. An app namespace stands for any a plan names.
const NEEDED: Access[] = [
  // preflight, relabel, restart, rollout, proxy checks
  { verb: 'get', resource: 'namespaces', name: 'canary-test' },
  { verb: 'list', resource: 'namespaces' },
  { verb: 'patch', resource: 'namespaces', name: 'canary-test' },
  { verb: 'list', resource: 'pods' },
  { verb: 'list', resource: 'pods', namespace: 'canary-test' },
  { verb: 'list', group: 'apps', resource: 'deployments', namespace: 'canary-test' },
  { verb: 'watch', group: 'apps', resource: 'deployments', namespace: 'canary-test' },
  { verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'canary-test' },
  { verb: 'list', group: 'apps', resource: 'statefulsets', namespace: 'canary-test' },
  { verb: 'watch', group: 'apps', resource: 'statefulsets', namespace: 'canary-test' },
  { verb: 'patch', group: 'apps', resource: 'statefulsets', namespace: 'canary-test' },
  { verb: 'list', group: 'apps', resource: 'daemonsets', namespace: 'canary-test' },
  { verb: 'watch', group: 'apps', resource: 'daemonsets', namespace: 'canary-test' },
  { verb: 'patch', group: 'apps', resource: 'daemonsets', namespace: 'canary-test' },
  { verb: 'get', group: 'apps', resource: 'deployments', namespace: 'istio-system', name: 'istiod-1-30-3' },
  { verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'istio-system', name: 'istio-ingressgateway' },
  { verb: 'list', group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations' },
  // backup: each CRD's served version, then its objects in every namespace
  { verb: 'get', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', name: 'virtualservices.networking.istio.io' },
  { verb: 'list', group: 'networking.istio.io', resource: 'virtualservices' },
  { verb: 'list', group: 'security.istio.io', resource: 'authorizationpolicies' },
  { verb: 'list', group: 'telemetry.istio.io', resource: 'telemetries' },
  { verb: 'list', group: 'extensions.istio.io', resource: 'wasmplugins' },
  // istioctl x precheck: its permission checks and its analyzer
  { verb: 'create', resource: 'namespaces' },
  { verb: 'watch', resource: 'namespaces' },
  { verb: 'watch', resource: 'pods' },
  { verb: 'watch', resource: 'services' },
  // istioctl install: server-side apply of the revision, then its prune (lists in every namespace)
  { verb: 'create', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
  { verb: 'patch', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', name: 'virtualservices.networking.istio.io' },
  { verb: 'create', group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations' },
  { verb: 'patch', group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations', name: 'istio-validator-1-30-3-istio-system' },
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
  { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: 'istiod-clusterrole-1-30-3-istio-system' },
  { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: 'istiod-clusterrole-1-30-3-istio-system' },
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
  { verb: 'create', group: 'apps', resource: 'deployments', namespace: 'istio-system' },
  { verb: 'create', resource: 'services', namespace: 'istio-system' },
  { verb: 'patch', resource: 'serviceaccounts', namespace: 'istio-system', name: 'istiod-1-30-3' },
  { verb: 'patch', resource: 'configmaps', namespace: 'istio-system', name: 'istio-1-30-3' },
  { verb: 'create', group: 'autoscaling', resource: 'horizontalpodautoscalers', namespace: 'istio-system' },
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'roles', namespace: 'istio-system' },
  { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'roles', namespace: 'istio-system', name: 'istiod-1-30-3' },
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespace: 'istio-system' },
  { verb: 'list', group: 'apps', resource: 'replicasets', namespace: 'istio-system' },
  { verb: 'list', resource: 'secrets' },
  { verb: 'list', resource: 'configmaps' },
  { verb: 'list', group: 'policy', resource: 'poddisruptionbudgets' },
  { verb: 'list', group: 'networking.istio.io', resource: 'envoyfilters' },
  // istioctl tag set: the tag's webhook and Service
  { verb: 'patch', resource: 'services', namespace: 'istio-system', name: 'istiod-revision-tag-default' },
  // istioctl uninstall: deletes the revision's objects
  { verb: 'delete', group: 'apps', resource: 'deployments', namespace: 'istio-system', name: 'istiod-1-29-4' },
  { verb: 'delete', group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', name: 'istio-sidecar-injector-1-29-4' },
  { verb: 'delete', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: 'istiod-clusterrole-1-29-4-istio-system' },
  { verb: 'delete', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', name: 'istiod-clusterrole-1-29-4-istio-system' },
  { verb: 'delete', resource: 'configmaps', namespace: 'istio-system', name: 'istio-1-29-4' },
];

// Never granted, checked by the authorizer too (the real requests below cover the most important).
const NEVER: Access[] = [
  { verb: 'get', resource: 'secrets', namespace: 'canary-test', name: 'anything' },
  { verb: 'get', resource: 'secrets', namespace: 'istio-system', name: 'istio-ca-secret' },
  { verb: 'watch', resource: 'secrets' },
  { verb: 'create', resource: 'secrets', namespace: 'istio-system' },
  { verb: 'delete', resource: 'secrets', namespace: 'canary-test', name: 'anything' },
  { verb: 'delete', resource: 'namespaces', name: 'canary-test' },
  { verb: 'deletecollection', resource: 'namespaces' },
  { verb: 'update', resource: 'namespaces', name: 'canary-test' },
  { verb: 'create', resource: 'pods', namespace: 'canary-test' },
  { verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'istio-system', name: 'istiod' },
  { verb: 'create', resource: 'pods', subresource: 'portforward', namespace: 'istio-system', name: 'istiod' },
  { verb: 'create', resource: 'pods', subresource: 'eviction', namespace: 'canary-test', name: 'api' },
  { verb: 'create', group: 'apps', resource: 'deployments', namespace: 'canary-test' },
  { verb: 'delete', group: 'apps', resource: 'deployments', namespace: 'canary-test', name: 'api' },
  { verb: 'update', group: 'apps', resource: 'deployments', namespace: 'canary-test', name: 'api' },
  { verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace: 'istio-system', name: 'istiod-1-30-3' },
  { verb: 'delete', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', name: 'virtualservices.networking.istio.io' },
  { verb: 'create', group: 'networking.istio.io', resource: 'virtualservices', namespace: 'canary-test' },
  { verb: 'delete', group: 'security.istio.io', resource: 'peerauthentications', namespace: 'istio-system', name: 'default' },
  { verb: 'impersonate', resource: 'serviceaccounts' },
  { verb: 'create', resource: 'configmaps', namespace: 'canary-test' },
  { verb: 'create', group: 'certificates.k8s.io', resource: 'certificatesigningrequests' },
];

describe('the worker ServiceAccount\'s bindings resolve (SubjectAccessReview)', () => {
  it.each(NEEDED.map((access) => [describeAccess(access), access] as const))('allowed: %s', async (_, access) => {
    expect(await allowed(access)).toMatchObject({ allowed: true });
  });

  it.each(NEVER.map((access) => [describeAccess(access), access] as const))('denied: %s', async (_, access) => {
    expect((await allowed(access)).allowed).toBe(false);
  });
});

/** The API server's own sentence from a Status body. */
function apiMessage(body: unknown): string {
  try {
    return String((JSON.parse(String(body)) as { message?: unknown }).message ?? body);
  } catch {
    return String(body);
  }
}

/** The HTTP status of a request the worker's ServiceAccount makes itself. */
async function statusOf(request: () => Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await request();
    return { code: 200, message: '' };
  } catch (error) {
    if (error instanceof ApiException) return { code: error.code, message: apiMessage(error.body) };
    throw error;
  }
}

describe('forbidden actions, tried for real with the worker\'s own token', () => {
  it('cannot read a Secret: by name in an app namespace, in istio-system, nor watch them cluster-wide', async () => {
    const core = worker.makeApiClient(CoreV1Api);
    const byName = await statusOf(() => core.readNamespacedSecret({ namespace: APP, name: SECRET }));
    expect(byName.code).toBe(403);
    expect(byName.message).toContain(`User "${WORKER_USER}" cannot get resource "secrets"`);
    expect((await statusOf(() => core.listNamespacedSecret({ namespace: 'istio-system', watch: true, timeoutSeconds: 1 }))).code).toBe(403);
    expect((await statusOf(() => core.listSecretForAllNamespaces({ watch: true, timeoutSeconds: 1 }))).code).toBe(403);
    // The one read it holds is istioctl's prune list, cluster-wide (deploy/rbac-cluster.yaml says why).
    expect((await statusOf(() => core.listSecretForAllNamespaces({ labelSelector: 'istio.io/rev=none', limit: 1 }))).code).toBe(200);
    // Nor write one.
    const create = await statusOf(() =>
      core.createNamespacedSecret({ namespace: 'istio-system', body: { metadata: { name: `stolen-${RUN}` }, stringData: { a: 'b' } } }),
    );
    expect(create.code).toBe(403);
  });

  it('cannot delete a namespace, and the namespace is still there', async () => {
    const denied = await statusOf(() => worker.makeApiClient(CoreV1Api).deleteNamespace({ name: APP }));
    expect(denied.code).toBe(403);
    expect(denied.message).toContain('cannot delete resource "namespaces"');
    const still = await admin.makeApiClient(CoreV1Api).readNamespace({ name: APP });
    expect(still.metadata?.deletionTimestamp).toBeUndefined();
  });

  it('cannot exec into a pod (kubectl exec as the worker)', async () => {
    const pods = await admin.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'canary-test' });
    const pod = pods.items[0]?.metadata?.name;
    expect(pod).toBeDefined();
    const result = await execa(tool('kubectl'), ['--kubeconfig', paths.workerKubeconfig, 'exec', '-n', 'canary-test', pod!, '--', 'true'], { reject: false, all: true });
    expect(result.exitCode).not.toBe(0);
    expect(result.all).toMatch(/forbidden.*cannot create resource "pods\/exec"/i);
  });

  it('cannot run its own workloads in an app namespace, nor delete one, and the Deployment is unchanged', async () => {
    const core = worker.makeApiClient(CoreV1Api);
    const apps = worker.makeApiClient(AppsV1Api);
    const before = await admin.makeApiClient(AppsV1Api).readNamespacedDeployment({ namespace: APP, name: 'api' });
    const pod = await statusOf(() =>
      core.createNamespacedPod({ namespace: APP, body: { metadata: { name: 'shell' }, spec: { containers: [{ name: 'sh', image: 'busybox' }] } } }),
    );
    expect(pod.code).toBe(403);
    expect((await statusOf(() => apps.deleteNamespacedDeployment({ namespace: APP, name: 'api' }))).code).toBe(403);
    expect((await statusOf(() => apps.replaceNamespacedDeployment({ namespace: APP, name: 'api', body: before }))).code).toBe(403);
    const after = await admin.makeApiClient(AppsV1Api).readNamespacedDeployment({ namespace: APP, name: 'api' });
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect((await admin.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: APP, fieldSelector: 'metadata.name=shell' })).items).toHaveLength(0);
  });

  it('cannot write Istio configuration (restore is the operator\'s, with the operator\'s credentials)', async () => {
    const custom = worker.makeApiClient(CustomObjectsApi);
    const created = await statusOf(() =>
      custom.createNamespacedCustomObject({
        group: 'networking.istio.io',
        version: 'v1',
        namespace: APP,
        plural: 'virtualservices',
        body: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'hijack' }, spec: { hosts: ['api'] } },
      }),
    );
    expect(created.code).toBe(403);
  });

  it('cannot mint ServiceAccount tokens, nor read who holds cluster-admin', async () => {
    const core = worker.makeApiClient(CoreV1Api);
    const token = await statusOf(() =>
      core.createNamespacedServiceAccountToken({ namespace: WORKER_NAMESPACE, name: WORKER_SERVICE_ACCOUNT, body: { spec: { audiences: [], expirationSeconds: 600 } } }),
    );
    expect(token.code).toBe(403);
    const rbac = worker.makeApiClient(RbacAuthorizationV1Api);
    // It may write roles (istioctl's), but reading who else holds what is not its business.
    expect((await statusOf(() => rbac.readClusterRoleBinding({ name: 'cluster-admin' }))).code).toBe(403);
  });
});
