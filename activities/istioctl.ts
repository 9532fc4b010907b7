// istioctl adapter: install, tag, precheck and uninstall a revision by running
// the real istioctl. Always `execa(file, argv)`, never a shell: every name on the
// command line is validated first, and none is ever interpreted by a shell.
// Each command converges (install and tag set are declarative, uninstall of an
// absent revision succeeds), so a retried call is harmless.
//
// Flags checked against istio/istio at tag 1.30.3:
// - `version --remote=false -o json` prints {"clientVersion":{"version":...}} (pkg/version/cobra.go);
// - `x precheck --revision` (istioctl/pkg/precheck/precheck.go; experimental only);
// - `install -y --set revision=<rev> --set profile=<p> -f <overlay>` (operator/cmd/mesh/install.go);
// - `tag set <tag> --revision <rev> --overwrite -y` (istioctl/pkg/tag/tag.go);
// - `uninstall --revision <rev> -y` fails with "could not find target revision" when the
//   revision is absent (operator/cmd/mesh/uninstall.go), which we treat as done.

import { access } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import { PermanentErrors, type UpgradeActivities } from './contract.js';
import { beat, cancellationSignal, invalidInput } from './kubernetes-support.js';
import { requireRevision } from './kubernetes-validate.js';

export interface IstioctlOptions {
  /** Passed as --kubeconfig; without it istioctl uses KUBECONFIG / ~/.kube/config / in-cluster. */
  kubeconfig?: string;
  /** Appended to every `istioctl install` (e.g. ["--readiness-timeout", "10m"]). */
  extraInstallArgs?: string[];
}

export type IstioctlActivities = Pick<
  UpgradeActivities,
  'istioctlVersion' | 'istioctlPrecheck' | 'istioctlInstall' | 'istioctlTagSet' | 'istioctlUninstall'
>;

/** Type of retryable istioctl failures (timeouts, API server hiccups). Not in PermanentErrors on purpose. */
export const ISTIOCTL_ERROR = 'IstioctlError';

/** Per-command limits; install stays under the workflow's 15-minute ISTIOCTL_CALL. */
export const ISTIOCTL_TIMEOUTS_MS = {
  version: 30_000,
  precheck: 5 * 60_000,
  // istioctl waits up to --readiness-timeout (5m by default) after applying.
  install: 12 * 60_000,
  tagSet: 2 * 60_000,
  uninstall: 10 * 60_000,
} as const;

const HEARTBEAT_EVERY_MS = 10_000;
const PROFILE_PATTERN = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

// ---- command lines (pure) ----

export function versionArgs(): string[] {
  return ['version', '--remote=false', '-o', 'json'];
}

export function shortVersionArgs(): string[] {
  return ['version', '--remote=false', '--short'];
}

export function precheckArgs(revision: string): string[] {
  return ['x', 'precheck', '--revision', revision];
}

export function installArgs(input: { revision: string; profile: string; overlay?: string }, extra: readonly string[] = []): string[] {
  return [
    'install',
    '-y',
    '--set',
    `revision=${input.revision}`,
    '--set',
    `profile=${input.profile}`,
    ...(input.overlay ? ['-f', input.overlay] : []),
    ...extra,
  ];
}

export function tagSetArgs(tag: string, revision: string): string[] {
  return ['tag', 'set', tag, '--revision', revision, '--overwrite', '-y'];
}

export function uninstallArgs(revision: string): string[] {
  return ['uninstall', '--revision', revision, '-y'];
}

export function withKubeconfig(args: string[], kubeconfig: string | undefined): string[] {
  return kubeconfig ? [...args, '--kubeconfig', kubeconfig] : args;
}

// ---- reading output (pure) ----

/** clientVersion.version from `istioctl version -o json`. */
export function parseClientVersion(stdout: string): string | undefined {
  try {
    const parsed = JSON.parse(stdout) as { clientVersion?: { version?: unknown } };
    const version = parsed.clientVersion?.version;
    return typeof version === 'string' && version !== '' ? version : undefined;
  } catch {
    return undefined;
  }
}

/** `client version: 1.30.3` (current istioctl) or a bare `1.30.3` line (old ones). */
export function parseShortVersion(stdout: string): string | undefined {
  const labelled = /client version:\s*(\S+)/i.exec(stdout);
  if (labelled?.[1]) return labelled[1];
  const bare = stdout
    .split('\n')
    .map((line) => line.trim())
    .find((line) => /^\d+\.\d+\S*$/.test(line));
  return bare;
}

/** Errors that running the same command again cannot fix: bad flags, bad overlay, failed precheck. */
const PERMANENT_PATTERNS: RegExp[] = [
  /unknown (shorthand )?flag/i,
  /unknown command/i,
  /accepts \d+ arg|requires (at least|exactly) \d+ arg/i,
  /no such file or directory/i,
  /merge inputs:/i,
  /unable to parse file|could not unmarshal|unknown field|invalid schema for/i,
  /profile "[^"]*" not found/i,
  /invalid revision specified/i,
  /multiple IstioOperator CRs/i,
  /Issues found when checking the cluster/i,
];

export function isPermanentFailure(output: string): boolean {
  return PERMANENT_PATTERNS.some((pattern) => pattern.test(output));
}

/** `istioctl uninstall --revision X` when X is not installed (a retry after success). */
export function isAbsentRevision(output: string): boolean {
  return /could not find target revision/i.test(output);
}

/** The last lines of output, enough to explain a failure without flooding history. */
export function outputTail(output: string, maxLines = 30, maxChars = 4_000): string {
  const lines = output.trimEnd().split('\n');
  const tail = lines.slice(-maxLines).join('\n');
  return tail.length > maxChars ? `…${tail.slice(-maxChars)}` : tail;
}

// ---- running ----

interface Completed {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as istioctl wrote them. */
  all: string;
}

function requireBinary(istioctl: unknown): string {
  if (typeof istioctl !== 'string' || istioctl === '' || istioctl.startsWith('-') || istioctl.includes('\0')) {
    throw invalidInput(`istioctl ${JSON.stringify(istioctl)} must be a path or a command name`);
  }
  return istioctl;
}

function istioctlFailed(message: string, output: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, PermanentErrors.IstioctlFailed, { output: outputTail(output) });
}

export function createIstioctlActivities(options: IstioctlOptions = {}): IstioctlActivities {
  const extraInstallArgs = options.extraInstallArgs ?? [];

  /**
   * Runs istioctl and returns its exit code and output. Throws only when it could
   * not run to an exit: not found (permanent), timed out (retryable), cancelled.
   */
  async function run(istioctl: string, args: string[], timeoutMs: number): Promise<Completed> {
    const argv = withKubeconfig(args, options.kubeconfig);
    const command = `istioctl ${args.join(' ')}`;
    const signal = cancellationSignal();
    const started = Date.now();
    beat({ command, elapsedMs: 0 });
    const ticker = setInterval(() => beat({ command, elapsedMs: Date.now() - started }), HEARTBEAT_EVERY_MS);
    try {
      const result = await execa(istioctl, argv, {
        reject: false,
        timeout: timeoutMs,
        ...(signal && { cancelSignal: signal }),
        forceKillAfterDelay: 10_000,
        stdin: 'ignore',
        all: true,
        maxBuffer: 32 * 1024 * 1024,
        env: { NO_COLOR: '1' },
      });
      const all = result.all ?? `${result.stdout}\n${result.stderr}`;
      if (result.isCanceled) throw signal?.reason instanceof Error ? signal.reason : new Error(`${command} was cancelled`);
      if (result.timedOut) {
        throw ApplicationFailure.retryable(
          `${command} timed out after ${Math.round(timeoutMs / 1000)}s\n${outputTail(all)}`,
          ISTIOCTL_ERROR,
        );
      }
      if (result.exitCode === undefined) {
        // It never ran (or was killed by a signal).
        const code = (result as { code?: string }).code;
        if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR') {
          throw istioctlFailed(`cannot run istioctl at ${istioctl}: ${code}${code === 'ENOENT' ? ' (not found)' : ''}`, all);
        }
        throw ApplicationFailure.retryable(`${command} did not complete: ${result.message ?? 'killed'}`, ISTIOCTL_ERROR);
      }
      return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, all };
    } finally {
      clearInterval(ticker);
    }
  }

  /** Runs a command that must exit 0; classifies a non-zero exit. */
  async function runOk(istioctl: string, args: string[], timeoutMs: number): Promise<{ output: string; stdout: string }> {
    const done = await run(istioctl, args, timeoutMs);
    if (done.exitCode === 0) return { output: outputTail(done.all, 200, 16_000), stdout: done.stdout };
    throw failure(`istioctl ${args.join(' ')}`, done);
  }

  function failure(command: string, done: Completed): ApplicationFailure {
    const message = `${command} exited with ${done.exitCode}:\n${outputTail(done.all)}`;
    if (isPermanentFailure(done.all)) return istioctlFailed(message, done.all);
    return ApplicationFailure.create({ message, type: ISTIOCTL_ERROR, nonRetryable: false, details: [{ output: outputTail(done.all) }] });
  }

  return {
    async istioctlVersion({ istioctl }) {
      const binary = requireBinary(istioctl);
      const json = await run(binary, versionArgs(), ISTIOCTL_TIMEOUTS_MS.version);
      const fromJson = json.exitCode === 0 ? parseClientVersion(json.stdout) : undefined;
      if (fromJson) return { clientVersion: fromJson };
      // Older istioctl builds without -o json: fall back to the short form.
      const { stdout } = await runOk(binary, shortVersionArgs(), ISTIOCTL_TIMEOUTS_MS.version);
      const fromShort = parseShortVersion(stdout);
      if (!fromShort) throw istioctlFailed(`cannot read a version from ${binary} version --short`, stdout);
      return { clientVersion: fromShort };
    },

    async istioctlPrecheck({ istioctl, revision }) {
      const binary = requireBinary(istioctl);
      requireRevision(revision);
      const { output } = await runOk(binary, precheckArgs(revision), ISTIOCTL_TIMEOUTS_MS.precheck);
      return { output };
    },

    async istioctlInstall({ istioctl, revision, profile, overlay }) {
      const binary = requireBinary(istioctl);
      requireRevision(revision);
      if (typeof profile !== 'string' || !PROFILE_PATTERN.test(profile)) {
        throw invalidInput(`profile ${JSON.stringify(profile)} must be an istioctl profile name (lowercase letters, digits and '-')`);
      }
      if (overlay !== undefined) {
        if (typeof overlay !== 'string' || overlay === '' || overlay.startsWith('-') || overlay.includes('\0')) {
          throw invalidInput(`overlay ${JSON.stringify(overlay)} must be a file path`);
        }
        // The plan was checked where it was written; the overlay must also exist where istioctl runs.
        await access(overlay).catch(() => {
          throw istioctlFailed(`overlay ${overlay} is not readable on this worker`, '');
        });
      }
      const { output } = await runOk(binary, installArgs({ revision, profile, overlay }, extraInstallArgs), ISTIOCTL_TIMEOUTS_MS.install);
      return { output };
    },

    async istioctlTagSet({ istioctl, tag, revision }) {
      const binary = requireBinary(istioctl);
      requireRevision(tag, 'tag');
      requireRevision(revision);
      const { output } = await runOk(binary, tagSetArgs(tag, revision), ISTIOCTL_TIMEOUTS_MS.tagSet);
      return { output };
    },

    async istioctlUninstall({ istioctl, revision }) {
      const binary = requireBinary(istioctl);
      requireRevision(revision);
      const args = uninstallArgs(revision);
      const done = await run(binary, args, ISTIOCTL_TIMEOUTS_MS.uninstall);
      if (done.exitCode === 0) return { output: outputTail(done.all, 200, 16_000) };
      // Already gone (a retry after a successful uninstall, or never installed): converged.
      if (isAbsentRevision(done.all)) return { output: `revision ${revision} is not installed; nothing to uninstall` };
      throw failure(`istioctl ${args.join(' ')}`, done);
    },
  };
}
