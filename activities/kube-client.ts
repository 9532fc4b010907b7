// The worker's Kubernetes client settings: a client-side request rate limit (one
// token bucket shared by every API client the worker makes) and a User-Agent
// naming the worker, so the API server's audit log and metrics can tell its
// requests from kubectl's or a controller's.
import {
  createConfiguration,
  KubeConfig,
  ServerConfiguration,
  setHeaderMiddleware,
  type ApiType,
  type Configuration,
  type RequestContext,
} from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { TokenBucket, type TokenBucketOptions } from '../limits/token-bucket.js';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;
type ApiConstructor<T extends ApiType> = new (config: Configuration) => T;

export interface KubeClientOptions extends TokenBucketOptions {
  userAgent: string;
}

export const WORKER_USER_AGENT = 'istio-canary-worker';

/** Waits for a token of the shared bucket; callers queue in arrival order. */
export class RequestLimiter {
  private readonly bucket: TokenBucket;

  constructor(options: TokenBucketOptions) {
    this.bucket = new TokenBucket(options);
  }

  async take(): Promise<void> {
    const waitMs = this.bucket.reserve(performance.now());
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

/**
 * A KubeConfig that waits for the limiter before every request and names the
 * worker in it. applySecurityAuthentication is the hook every client-node 2.0.1
 * request passes (generated API clients through their auth method, and watch,
 * log, health and KubernetesObjectApi directly). The generated clients then run
 * makeApiClient's middleware, which would overwrite the User-Agent with
 * client-node's own, so makeApiClient is rebuilt with ours instead.
 */
export class LimitedKubeConfig extends KubeConfig {
  readonly limiter: RequestLimiter;
  /** The connection pool in use, and the TLS identity it was made for. */
  private pool: { identity: string; dispatcher: Dispatcher } | undefined;

  constructor(private readonly clientOptions: KubeClientOptions) {
    super();
    this.limiter = new RequestLimiter(clientOptions);
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await this.limiter.take();
    await super.applySecurityAuthentication(context);
    context.setHeaderParam('User-Agent', this.clientOptions.userAgent);
    this.shareConnections(context);
  }

  /**
   * client-node 2.0.1 gives every request a new undici Agent, so every request
   * opened a TCP and TLS connection of its own (a handshake on both ends): 400
   * namespace reads cost 1.3 to 1.5 s of CPU and ~60 MB of memory, against
   * 0.3 s and none with one pool (docs/benchmarks.md, "Worker memory").
   * The first Agent made for a TLS identity becomes the pool; later requests
   * drop theirs (unused, it holds no socket). A new identity (a rotated
   * certificate file, another context) starts a new pool and lets the old one
   * drain. Users whose exec plugin hands out client certificates keep
   * client-node's behaviour: their certificate is known only per request.
   */
  private shareConnections(context: RequestContext): void {
    const fresh = context.getDispatcher();
    const identity = this.tlsIdentity();
    if (!fresh || identity === undefined) return;
    if (this.pool?.identity !== identity) {
      void this.pool?.dispatcher.close().catch(() => undefined);
      this.pool = { identity, dispatcher: fresh };
    }
    context.setDispatcher(this.pool.dispatcher);
  }

  /**
   * What a connection is made with: the server, the proxy, and the TLS material
   * as it reads now (files are read again, as client-node itself does for each
   * request, so a certificate rotated on disk starts a new pool).
   */
  private tlsIdentity(): string | undefined {
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    if (!cluster || user?.exec) return undefined;
    const material = (data: string | undefined, file: string | undefined): string => data ?? (file ? readFileSync(file).toString('base64') : '');
    return JSON.stringify([
      cluster.server,
      cluster.proxyUrl ?? '',
      cluster.skipTLSVerify,
      cluster.tlsServerName ?? '',
      material(cluster.caData, cluster.caFile),
      material(user?.certData, user?.certFile),
      material(user?.keyData, user?.keyFile),
    ]);
  }

  override makeApiClient<T extends ApiType>(apiClientType: ApiConstructor<T>): T {
    const cluster = this.getCurrentCluster();
    if (!cluster) throw new Error('No active cluster!');
    const config = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: this },
      middleware: [setHeaderMiddleware('User-Agent', this.clientOptions.userAgent)],
    });
    return new apiClientType(config);
  }
}
