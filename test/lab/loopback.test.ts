// The lab's hard rule: nothing leaves loopback. A packet capture of every
// non-loopback interface runs while the lab is brought up from nothing, a
// namespace moves to a new Istio revision and that revision is removed again;
// any packet that could only have come from the lab fails the test.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { auditCapture } from '../../lab/packet-audit.js';
import { kubectl } from '../../lab/cluster.js';
import { labPaths, tool } from '../../lab/paths.js';
import { installRevision } from '../../lab/mesh.js';
import { labPorts } from '../../lab/lab.js';
import { resetTestLab, useTestLab } from '../support/lab.js';

const TCPDUMP = '/usr/bin/tcpdump';

function realInterfaces(): string[] {
  return readdirSync('/sys/class/net').filter((name) => name !== 'lo');
}

/** Every port the lab's processes listen on: kwokctl's components and the lab's own. */
function labListeningPorts(): number[] {
  const paths = labPaths();
  const ports = Object.values(labPorts());
  const kwokConfig = join(paths.kwokWorkdir, 'clusters', 'istio-canary-lab', 'kwok.yaml');
  if (existsSync(kwokConfig)) {
    for (const match of readFileSync(kwokConfig, 'utf8').matchAll(/port: (\d+)/g)) ports.push(Number(match[1]));
  }
  return [...new Set(ports)];
}

describe('the lab stays on loopback', () => {
  const captures: Array<{ iface: string; process: ChildProcess; lines: string[] }> = [];

  beforeAll(() => {
    if (!existsSync(TCPDUMP)) throw new Error('tcpdump is missing: run `npm run tools -- lab` (apt-get install -y tcpdump)');
    useTestLab();
  });

  afterAll(() => {
    for (const capture of captures) capture.process.kill('SIGKILL');
  });

  it('sends no packet off the machine while it starts, upgrades a namespace and removes a revision', async () => {
    for (const iface of realInterfaces()) {
      const child = spawn(TCPDUMP, ['-i', iface, '-nn', '-l', '-tt', 'ip or ip6'], { stdio: ['ignore', 'pipe', 'ignore'] });
      const capture = { iface, process: child, lines: [] as string[] };
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => capture.lines.push(...chunk.split('\n').filter(Boolean)));
      captures.push(capture);
    }
    await new Promise((r) => setTimeout(r, 1_000)); // tcpdump attaches

    const info = await resetTestLab();
    const paths = labPaths();
    const { newVersion, newRevision } = info.versions;
    const injector = { url: info.injectorUrl, caBundle: readFileSync(join(paths.injector, 'ca-bundle.b64'), 'utf8').trim() };
    await installRevision(paths, newVersion, newRevision, injector);
    await kubectl(paths, ['label', 'namespace', 'catalog', `istio.io/rev=${newRevision}`, '--overwrite']);
    await kubectl(paths, ['rollout', 'restart', 'deployment', '-n', 'catalog']);
    await kubectl(paths, ['rollout', 'status', 'deployment', '-n', 'catalog', '--timeout=120s']);
    await kubectl(paths, ['label', 'namespace', 'catalog', `istio.io/rev=${info.versions.oldRevision}`, '--overwrite']);
    await kubectl(paths, ['rollout', 'restart', 'deployment', '-n', 'catalog']);
    await kubectl(paths, ['rollout', 'status', 'deployment', '-n', 'catalog', '--timeout=120s']);
    await execa(tool('istioctl'), ['uninstall', '--revision', newRevision, '-y', '--kubeconfig', paths.kubeconfig]);
    await new Promise((r) => setTimeout(r, 5_000)); // Prometheus scrapes, informers resync

    for (const capture of captures) capture.process.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 500));
    const lines = captures.flatMap((c) => c.lines.map((l) => `${c.iface} ${l}`));
    const { packets, blamed } = auditCapture(lines, { ports: labListeningPorts() });
    process.stderr.write(`loopback audit: ${packets} packets on ${captures.map((c) => c.iface).join(', ')} during the run, ${blamed.length} from the lab\n`);
    expect(blamed).toEqual([]);
  }, 300_000);
});
