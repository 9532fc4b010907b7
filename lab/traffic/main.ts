// The lab's mesh traffic simulator as a process:
//
//   node_modules/.bin/tsx lab/traffic/main.ts --port P --kubeconfig K
//       [--faults '{"1.31.0":{"errorRate":0.05,"latencyMs":600,"xdsRejectsPerMin":6}}'] [--faults-file F]
//       [--rps 20] [--ingress-namespaces a,b,c] [--default-profile '{"errorRate":0.001,...}']
//
// Prints one JSON line {"ready":true,"url":...,"pid":...} on stdout once it has
// listed the cluster and listens on 127.0.0.1:P; stops on SIGTERM or SIGINT.

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { HEALTHY_PROFILE, parseFaultMap, parseFaultProfile, type FaultProfile } from './profiles.js';
import { startTrafficSimulator } from './server.js';

const USAGE =
  'usage: main.ts --kubeconfig FILE [--port N] [--faults JSON] [--faults-file FILE] [--rps N] [--ingress-namespaces a,b] [--default-profile JSON]';

function parseJson(flag: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`${flag}: not JSON`);
  }
}

function parseNumber(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${flag}: expected a number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      kubeconfig: { type: 'string' },
      faults: { type: 'string' },
      'faults-file': { type: 'string' },
      rps: { type: 'string' },
      'ingress-namespaces': { type: 'string' },
      'default-profile': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.kubeconfig) throw new Error(`--kubeconfig is required\n${USAGE}`);

  const defaultProfile: FaultProfile = values['default-profile']
    ? parseFaultProfile(parseJson('--default-profile', values['default-profile']), HEALTHY_PROFILE)
    : { ...HEALTHY_PROFILE };
  const faults = new Map<string, FaultProfile>();
  if (values['faults-file']) {
    const text = await readFile(values['faults-file'], 'utf8');
    for (const [v, p] of parseFaultMap(parseJson('--faults-file', text), defaultProfile)) faults.set(v, p);
  }
  if (values.faults) {
    for (const [v, p] of parseFaultMap(parseJson('--faults', values.faults), defaultProfile)) faults.set(v, p);
  }
  const ingress = values['ingress-namespaces'];

  const running = await startTrafficSimulator({
    port: parseNumber('--port', values.port, 0, 65535),
    kubeconfig: values.kubeconfig,
    defaultProfile,
    faults,
    ...(values.rps !== undefined && { rpsPerWorkload: parseNumber('--rps', values.rps, 0, 1_000_000) }),
    ...(ingress !== undefined && {
      ingressNamespaces: ingress === 'all' ? 'all' : ingress.split(',').map((s) => s.trim()).filter(Boolean),
    }),
    onSourceError: (err) => process.stderr.write(`lab-traffic: watch error (retrying): ${(err as Error)?.message ?? String(err)}\n`),
  });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`lab-traffic: ${signal}, stopping\n`);
    running.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`lab-traffic: stop failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  process.stdout.write(`${JSON.stringify({ ready: true, url: running.url, target: running.target, pid: process.pid })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`lab-traffic: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
});
