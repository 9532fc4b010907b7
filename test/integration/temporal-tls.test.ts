// The operator guide's Temporal connection settings over TLS, all on 127.0.0.1:
// - self-hosted with mTLS: the real Temporal dev server (which speaks no TLS itself) behind a
//   TLS terminator that demands a client certificate signed by its CA, as a mutual-TLS frontend
//   does; the CLI gets only the TEMPORAL_TLS_* variables (or the same settings as a profile);
// - an API key (Temporal Cloud): an HTTP/2 TLS endpoint that records what the client sends and
//   refuses the key as Cloud refuses a bad one, to show the key travels as a bearer token over TLS.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import { createServer, type Server } from 'node:tls';
import { runCliCaptured } from '../support/cli-in-process.js';
import { startTemporal } from '../support/temporal.js';

jest.setTimeout(60_000);

const SERVER_NAME = 'temporal.test';

let dir: string;
let temporal: TestWorkflowEnvironment | undefined;
let frontend: Server | undefined;
let address: string;
let handshakesRefused = 0;

async function openssl(args: string[]): Promise<void> {
  await execa('openssl', args, { cwd: dir });
}

/** A CA, a server certificate for SERVER_NAME and a client certificate, all signed by the CA. */
async function makeCertificates(): Promise<void> {
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=istio-canary test CA']);
  for (const [name, subject, ext] of [
    ['server', `/CN=${SERVER_NAME}`, `subjectAltName=DNS:${SERVER_NAME}\nextendedKeyUsage=serverAuth\n`],
    ['client', '/CN=istio-canary-worker', 'extendedKeyUsage=clientAuth\n'],
  ] as const) {
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
    await writeFile(join(dir, `${name}.ext`), ext);
    await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`]);
  }
}

function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { TEMPORAL_CONFIG_FILE: join(dir, 'none.toml'), TEMPORAL_NAMESPACE: 'default', USER: 'tester', ...extra };
}

const mtlsEnv = () =>
  cliEnv({
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'client.crt'),
    TEMPORAL_TLS_CLIENT_KEY_PATH: join(dir, 'client.key'),
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'ca.crt'),
    TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'istio-canary-mtls-'));
  await makeCertificates();
  temporal = await startTemporal();
  const [devHost, devPort] = temporal.address.split(':') as [string, string];
  const [key, cert, ca] = await Promise.all(['server.key', 'server.crt', 'ca.crt'].map((file) => readFile(join(dir, file))));
  // Terminates TLS, refuses a client without a certificate from the CA, and passes the
  // HTTP/2 (gRPC) stream on to the dev server unchanged.
  frontend = createServer({ key, cert, ca, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] }, (client) => {
    const upstream = connect(Number(devPort), devHost);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
  });
  frontend.on('tlsClientError', () => void handshakesRefused++);
  await new Promise<void>((resolve) => frontend!.listen(0, '127.0.0.1', resolve));
  address = `127.0.0.1:${(frontend.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (frontend ? frontend.close(() => resolve()) : resolve()));
  await temporal?.teardown();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Temporal behind mutual TLS', () => {
  it('connects with the client certificate, key, CA and server name from TEMPORAL_TLS_* variables', async () => {
    const { code, stdout, stderr } = await runCliCaptured(['list', '-o', 'json'], mtlsEnv());
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ upgrades: [] });
  });

  it('connects with the same settings as a TOML profile', async () => {
    const profile = join(dir, 'temporal.toml');
    await writeFile(
      profile,
      [
        '[profile.prod]',
        `address = "${address}"`,
        'namespace = "default"',
        '',
        '[profile.prod.tls]',
        `client_cert_path = "${join(dir, 'client.crt')}"`,
        `client_key_path = "${join(dir, 'client.key')}"`,
        `server_ca_cert_path = "${join(dir, 'ca.crt')}"`,
        `server_name = "${SERVER_NAME}"`,
        '',
      ].join('\n'),
    );
    const { code, stderr } = await runCliCaptured(['list'], { TEMPORAL_CONFIG_FILE: profile, TEMPORAL_PROFILE: 'prod', USER: 'tester' });
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('is refused without a client certificate, as one line with exit 1', async () => {
    const refusedBefore = handshakesRefused;
    const env = mtlsEnv();
    delete env.TEMPORAL_TLS_CLIENT_CERT_PATH;
    delete env.TEMPORAL_TLS_CLIENT_KEY_PATH;
    const { code, stderr } = await runCliCaptured(['list'], env);
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`^cannot reach Temporal at ${address} \\(namespace default\\): .+\\n$`));
    expect(handshakesRefused).toBeGreaterThan(refusedBefore);
  });

  it('is refused when the server certificate does not name the expected server', async () => {
    const { code, stderr } = await runCliCaptured(['list'], { ...mtlsEnv(), TEMPORAL_TLS_SERVER_NAME: 'other.test' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^cannot reach Temporal at /);
  });
});

describe('an API key, as Temporal Cloud takes it', () => {
  let endpoint: Http2SecureServer;
  let cloudAddress: string;
  const authorizations: string[] = [];

  beforeAll(async () => {
    const [key, cert] = await Promise.all(['server.key', 'server.crt'].map((file) => readFile(join(dir, file))));
    endpoint = createSecureServer({ key, cert, allowHTTP1: false });
    endpoint.on('stream', (stream, headers) => {
      authorizations.push(String(headers['authorization'] ?? ''));
      // A gRPC error in trailers-only form: what a frontend answers to a key it does not accept.
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'invalid API key' }, { endStream: true });
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    cloudAddress = `127.0.0.1:${(endpoint.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => (endpoint ? endpoint.close(() => resolve()) : resolve()));
  });

  it('sends TEMPORAL_API_KEY as a bearer token over TLS, and reports a refused key as one line', async () => {
    const { code, stderr } = await runCliCaptured(
      ['list'],
      cliEnv({
        TEMPORAL_ADDRESS: cloudAddress,
        TEMPORAL_API_KEY: 'test-api-key',
        // Only because this endpoint's CA is not a public one; Temporal Cloud needs neither.
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'ca.crt'),
        TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
      }),
    );
    expect(authorizations.length).toBeGreaterThan(0);
    expect(new Set(authorizations)).toEqual(new Set(['Bearer test-api-key']));
    expect(code).toBe(1);
    expect(stderr).toMatch(/invalid API key/);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
