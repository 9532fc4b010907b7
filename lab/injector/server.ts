// The lab's sidecar injection webhook: HTTPS on 127.0.0.1, standing in for
// istiod's injector (and validation webhook) because istiod pods cannot run on
// KWOK nodes. Paths:
//   POST /inject, /inject/rev/<revision>   sidecar injection (AdmissionReview v1)
//   POST /validate                         admits Istio config, counts it
//   GET  /healthz                          200 once the cluster view has synced
//   GET  /metrics                          Prometheus text

import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleInject, handleValidate, parseReview, reviewResponse, BadRequest } from './admission.js';
import { ensureServingCerts } from './certs.js';
import { injectURLFor, istioOperatorOverlay } from './install-values.js';
import type { ClusterView } from './cluster-view.js';
import { KubeClusterView, loadLoopbackKubeConfig } from './kube-view.js';
import { InjectorMetrics } from './metrics.js';

export const INJECTOR_HOST = '127.0.0.1';
/** Kubernetes objects are at most ~1.5 MiB; the API server may send twice that. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface InjectorOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Where the CA and serving certificate live (made on first start, then reused). */
  stateDir: string;
  /** The cluster state to answer from. Without it, informers on `kubeconfig` are started. */
  view?: ClusterView;
  /** Kubeconfig of the lab's API server (must point at loopback); used when no `view` is given. */
  kubeconfig?: string;
  /** Overrides the proxy image hub (default: the hub of each revision's istiod image). */
  hub?: string;
  /** Inject istio-proxy as a native sidecar (init container, restartPolicy Always). Default false: see README. */
  nativeSidecars?: boolean;
  log?: (line: string) => void;
}

export interface RunningInjector {
  port: number;
  /** https://127.0.0.1:<port> */
  url: string;
  injectURL: string;
  validateURL: string;
  /** The per-revision injection URL the lab sets as `values.istiodRemote.injectionURL`. */
  injectURLFor(revision: string): string;
  /** base64 of the CA PEM, for caBundle / injectionCABundle / validationCABundle. */
  caBundle: string;
  /** IstioOperator overlay (YAML) pointing a revision's webhooks here: `istioctl install -f` it. */
  installOverlay(revision: string): string;
  caFile: string;
  metrics: InjectorMetrics;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BadRequest(`body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startInjector(options: InjectorOptions): Promise<RunningInjector> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const certs = await ensureServingCerts(options.stateDir);

  let ownedView: KubeClusterView | undefined;
  let view = options.view;
  if (!view) {
    if (!options.kubeconfig) throw new Error('startInjector: give a cluster view or a kubeconfig');
    ownedView = await KubeClusterView.start(loadLoopbackKubeConfig(options.kubeconfig), { log });
    view = ownedView;
  }
  const clusterView = view;
  const metrics = new InjectorMetrics();
  const ctx = {
    view: clusterView,
    metrics,
    log,
    ...(options.hub !== undefined && { hub: options.hub }),
    ...(options.nativeSidecars !== undefined && { nativeSidecars: options.nativeSidecars }),
  };

  async function admission(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const started = process.hrtime.bigint();
    try {
      if (req.method !== 'POST') return send(res, 405, 'POST an AdmissionReview\n');
      const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim();
      if (contentType !== 'application/json') return send(res, 415, 'invalid Content-Type, want `application/json`\n');
      const raw = await readBody(req);
      if (raw.length === 0) throw new BadRequest('no body found');
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new BadRequest('body is not JSON');
      }
      const request = parseReview(body);
      const response = path === '/validate' ? handleValidate(request, metrics) : handleInject(request, path, ctx);
      if (!response.allowed) log(`refused ${request.namespace ?? ''} pod: ${response.status?.message ?? ''}`);
      send(res, 200, JSON.stringify(reviewResponse(response)), 'application/json');
    } catch (err) {
      if (err instanceof BadRequest) {
        metrics.badRequests.inc();
        return send(res, 400, `${err.message}\n`);
      }
      log(`error answering ${path}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      send(res, 500, 'internal error\n');
    } finally {
      metrics.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  const server: Server = createServer({ key: certs.keyPem, cert: certs.certPem }, (req, res) => {
    const path = new URL(req.url ?? '/', 'https://127.0.0.1').pathname;
    if (path === '/healthz') return send(res, clusterView.synced() ? 200 : 503, clusterView.synced() ? 'ok\n' : 'cluster view not synced\n');
    if (path === '/metrics') return send(res, 200, metrics.render(), 'text/plain; version=0.0.4; charset=utf-8');
    if (path === '/validate' || path === '/inject' || path.startsWith('/inject/')) {
      void admission(req, res, path);
      return;
    }
    send(res, 404, 'not found\n');
  });
  // The API server's webhook client keeps connections alive; keep ours open a little longer than its idle timeout.
  server.keepAliveTimeout = 90_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, INJECTOR_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `https://${INJECTOR_HOST}:${port}`;

  return {
    port,
    url,
    injectURL: `${url}/inject`,
    validateURL: `${url}/validate`,
    injectURLFor: (revision: string) => injectURLFor(url, revision),
    caBundle: certs.caBundle,
    installOverlay: (revision: string) => istioOperatorOverlay({ url, caBundle: certs.caBundle }, revision),
    caFile: certs.caFile,
    metrics,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await ownedView?.stop();
    },
  };
}
