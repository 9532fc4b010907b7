// The injector as a process:
//   node_modules/.bin/tsx lab/injector/main.ts --port P --state-dir D --kubeconfig K [--hub H] [--native-sidecars]
// Prints one JSON line on stdout once it serves (event "ready", with the URLs
// and the caBundle file), logs on stderr, and stops on SIGTERM/SIGINT.

import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { startInjector } from './server.js';

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: main.ts --port P --state-dir D --kubeconfig K [--hub HUB] [--native-sidecars]\n`,
  );
  process.exit(2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'state-dir': { type: 'string' },
      kubeconfig: { type: 'string' },
      hub: { type: 'string' },
      'native-sidecars': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (values.port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) usage('--port must be 0-65535');
  const stateDir = values['state-dir'] ?? usage('--state-dir is required');
  const kubeconfig = values.kubeconfig ?? usage('--kubeconfig is required');
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} injector: ${line}\n`);

  const injector = await startInjector({
    port,
    stateDir,
    kubeconfig,
    nativeSidecars: values['native-sidecars'] === true,
    log,
    ...(values.hub !== undefined && { hub: values.hub }),
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    const timer = setTimeout(() => process.exit(1), 5000);
    timer.unref();
    injector.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  process.stdout.write(
    `${JSON.stringify({
      event: 'ready',
      pid: process.pid,
      port: injector.port,
      url: injector.url,
      injectURL: injector.injectURL,
      injectURLTemplate: injector.injectURLFor('<revision>'),
      validateURL: injector.validateURL,
      caFile: injector.caFile,
      caBundleFile: join(stateDir, 'ca-bundle.b64'),
    })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`injector: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
