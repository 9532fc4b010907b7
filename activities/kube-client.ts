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
import { TokenBucket, type TokenBucketOptions } from '../limits/token-bucket.js';

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

  constructor(private readonly clientOptions: KubeClientOptions) {
    super();
    this.limiter = new RequestLimiter(clientOptions);
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await this.limiter.take();
    await super.applySecurityAuthentication(context);
    context.setHeaderParam('User-Agent', this.clientOptions.userAgent);
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
