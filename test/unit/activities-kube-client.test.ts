// The worker's Kubernetes client against a plain HTTP server on 127.0.0.1 that
// records what arrives: every request carries the worker's User-Agent, the
// arrivals never outrun the configured rate and burst, and requests share
// connections instead of opening one each.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LimitedKubeConfig, WORKER_USER_AGENT } from '../../activities/kube-client.js';

const arrivals: Array<{ at: number; userAgent: string | undefined; path: string }> = [];
let connections = 0;
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    arrivals.push({ at: performance.now(), userAgent: req.headers['user-agent'], path: req.url ?? '' });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function kubeConfig(ratePerSecond: number, burst: number): LimitedKubeConfig {
  const kc = new LimitedKubeConfig({ ratePerSecond, burst, userAgent: WORKER_USER_AGENT });
  kc.loadFromOptions({
    clusters: [
      { name: 'local', server: url, skipTLSVerify: true },
      // The same server by another name: another identity, so another pool.
      { name: 'other', server: url.replace('127.0.0.1', 'localhost'), skipTLSVerify: true },
    ],
    users: [{ name: 'u', token: 't' }],
    contexts: [
      { name: 'c', cluster: 'local', user: 'u' },
      { name: 'o', cluster: 'other', user: 'u' },
    ],
    currentContext: 'c',
  });
  return kc;
}

describe('LimitedKubeConfig', () => {
  it('names the worker in every request', async () => {
    arrivals.length = 0;
    await kubeConfig(100, 10).makeApiClient(CoreV1Api).readNamespace({ name: 'x' });
    expect(arrivals).toEqual([expect.objectContaining({ userAgent: WORKER_USER_AGENT, path: '/api/v1/namespaces/x' })]);
  });

  it('holds concurrent requests to the burst, then to the rate', async () => {
    arrivals.length = 0;
    const rate = 10;
    const burst = 3;
    const core = kubeConfig(rate, burst).makeApiClient(CoreV1Api);
    const total = 12;
    const started = performance.now();
    await Promise.all(Array.from({ length: total }, () => core.readNamespace({ name: 'x' })));
    const elapsed = performance.now() - started;
    expect(arrivals).toHaveLength(total);
    expect(arrivals.every((a) => a.userAgent === WORKER_USER_AGENT)).toBe(true);
    // The bucket lets `burst` go at once and one more every 1/rate: the last of
    // 12 cannot leave before (12 - 3) / 10 s. A slow machine only makes it later.
    // (The arrivals' own spacing is not compared: the network jitters it.)
    expect(elapsed).toBeGreaterThanOrEqual(((total - burst) * 1000) / rate - 5);
  });

  it('sends one request after another over one connection, and opens a new pool for another identity', async () => {
    const kc = kubeConfig(1000, 100);
    const core = kc.makeApiClient(CoreV1Api);
    connections = 0;
    // A pause between requests: undici frees a connection a few ticks after the
    // response, and a request sent at once would open a second one.
    const oneByOne = async (api: CoreV1Api, count: number) => {
      for (let i = 0; i < count; i++) {
        await api.readNamespace({ name: 'x' });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await oneByOne(core, 20);
    // client-node alone opened a connection per request: 20.
    expect(connections).toBe(1);

    kc.setCurrentContext('o');
    await oneByOne(kc.makeApiClient(CoreV1Api), 5);
    expect(connections).toBe(2);
  });
});
