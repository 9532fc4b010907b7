// The webhook's TLS material: a self-signed CA and a serving certificate for
// IP SAN 127.0.0.1 signed by it, made with the openssl CLI (through execa,
// argument arrays only) into the state directory and reused while valid.
// The API server trusts the CA through the webhook configurations' caBundle
// (base64 of the CA PEM).

import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

export interface ServingCerts {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** CA certificate, PEM. */
  caPem: string;
  certPem: string;
  keyPem: string;
  /** base64 of the CA PEM: the value for `caBundle` (and Istio's injectionCABundle / validationCABundle). */
  caBundle: string;
  /** Whether existing files were reused. */
  reused: boolean;
}

const CA_DAYS = '3650';
const CERT_DAYS = '825';
/** Regenerate when the serving certificate has less than this left. */
const MIN_REMAINING_MS = 7 * 24 * 3600 * 1000;

export function certPaths(stateDir: string) {
  return {
    caKey: join(stateDir, 'ca.key'),
    caFile: join(stateDir, 'ca.crt'),
    keyFile: join(stateDir, 'tls.key'),
    certFile: join(stateDir, 'tls.crt'),
    csr: join(stateDir, 'tls.csr'),
    ext: join(stateDir, 'tls.ext'),
    caBundleFile: join(stateDir, 'ca-bundle.b64'),
  };
}

/** Whether the files make a usable pair: the cert is signed by the CA, names 127.0.0.1, and is not about to expire. */
function usable(paths: ReturnType<typeof certPaths>): boolean {
  if (![paths.caFile, paths.certFile, paths.keyFile].every((f) => existsSync(f))) return false;
  try {
    const ca = new X509Certificate(readFileSync(paths.caFile));
    const cert = new X509Certificate(readFileSync(paths.certFile));
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    if (cert.checkIP('127.0.0.1') === undefined) return false;
    const now = Date.now();
    for (const c of [ca, cert]) {
      if (Date.parse(c.validTo) - now < MIN_REMAINING_MS || Date.parse(c.validFrom) > now + 60_000) return false;
    }
    return true;
  } catch {
    return false;
  }
}

async function openssl(args: string[]): Promise<void> {
  await execa('openssl', args, { stdin: 'ignore' });
}

/** Returns the CA and serving certificate in `stateDir`, generating them if missing or unusable. */
export async function ensureServingCerts(stateDir: string): Promise<ServingCerts> {
  mkdirSync(stateDir, { recursive: true });
  const paths = certPaths(stateDir);
  const reused = usable(paths);
  if (!reused) {
    for (const f of Object.values(paths)) rmSync(f, { force: true });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    await openssl([
      'req', '-x509', ...ec,
      '-keyout', paths.caKey,
      '-out', paths.caFile,
      '-days', CA_DAYS,
      '-subj', '/O=istio-canary lab/CN=istio-canary lab injector CA',
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await openssl(['req', '-new', ...ec, '-keyout', paths.keyFile, '-out', paths.csr, '-subj', '/O=istio-canary lab/CN=127.0.0.1']);
    writeFileSync(
      paths.ext,
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
        'subjectAltName=IP:127.0.0.1',
        '',
      ].join('\n'),
    );
    await openssl([
      'x509', '-req',
      '-in', paths.csr,
      '-CA', paths.caFile,
      '-CAkey', paths.caKey,
      '-set_serial', `0x${BigInt(Date.now()).toString(16)}`,
      '-days', CERT_DAYS,
      '-sha256',
      '-extfile', paths.ext,
      '-out', paths.certFile,
    ]);
    rmSync(paths.csr, { force: true });
    rmSync(paths.ext, { force: true });
    chmodSync(paths.caKey, 0o600);
    chmodSync(paths.keyFile, 0o600);
    if (!usable(paths)) throw new Error(`openssl made certificates in ${stateDir} that do not verify`);
  }
  const caPem = readFileSync(paths.caFile, 'utf8');
  const caBundle = Buffer.from(caPem).toString('base64');
  writeFileSync(paths.caBundleFile, `${caBundle}\n`);
  return {
    caFile: paths.caFile,
    certFile: paths.certFile,
    keyFile: paths.keyFile,
    caPem,
    certPem: readFileSync(paths.certFile, 'utf8'),
    keyPem: readFileSync(paths.keyFile, 'utf8'),
    caBundle,
    reused,
  };
}
