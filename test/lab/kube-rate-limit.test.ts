// The worker's Kubernetes client (activities/config.ts loadKubeConfig, as the
// worker builds it) against the test lab's real API server: every request is
// counted by the server itself (apiserver_request_total), and a load above the
// burst waits for tokens at the configured rate.
import { describe, expect, it, jest } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../activities/config.js';
import { kubectl } from '../../lab/cluster.js';
import { labPaths } from '../../lab/paths.js';
import { useTestLab } from '../support/lab.js';

jest.setTimeout(120_000);
useTestLab();

/** GETs of ConfigMaps answered 404, as the API server counts them. */
async function missingConfigMapReads(): Promise<number> {
  const metrics = await kubectl(labPaths(), ['get', '--raw', '/metrics']);
  let total = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    if (line.includes('code="404"') && line.includes('resource="configmaps"') && line.includes('verb="GET"')) total += Number(line.split(' ').at(-1));
  }
  return total;
}

describe('the worker Kubernetes client against the lab API server', () => {
  it('sends every request, and no faster than ISTIO_CANARY_KUBE_QPS after ISTIO_CANARY_KUBE_BURST', async () => {
    const { kubeConfig } = loadKubeConfig({ KUBECONFIG: labPaths().kubeconfig, ISTIO_CANARY_KUBE_QPS: '5', ISTIO_CANARY_KUBE_BURST: '2' });
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const name = `rate-limit-probe-${Date.now().toString(36)}`;
    const before = await missingConfigMapReads();

    const total = 12;
    const started = performance.now();
    const answers = await Promise.allSettled(Array.from({ length: total }, () => core.readNamespacedConfigMap({ name, namespace: 'default' })));
    const elapsed = performance.now() - started;

    // Each one reached the server and was answered there: a 404 for a ConfigMap that does not exist.
    expect(answers.every((a) => a.status === 'rejected' && String((a.reason as { code?: number }).code) === '404')).toBe(true);
    expect((await missingConfigMapReads()) - before).toBeGreaterThanOrEqual(total);
    // 2 at once, then one every 200 ms: the last cannot leave before 10 × 200 ms.
    expect(elapsed).toBeGreaterThanOrEqual(((total - 2) * 1000) / 5 - 5);
  });
});
