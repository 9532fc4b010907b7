// `istio-canary backup` / `istio-canary restore`: the upgrade's backup step on
// demand, and its inverse. They talk to the cluster directly (the kubeconfig the
// worker would use), not through Temporal: a restore is what you reach for when
// the orchestrator itself is in doubt.
import type { Command } from 'commander';
import { ExitCode } from '../exit-codes.js';
import type { CliContext } from '../context.js';
import { addExamples, addOutputOption, type OutputOptions } from '../options.js';

interface BackupOptions extends OutputOptions {
  cluster: string;
  dir?: string;
}

export function registerBackupCommand(program: Command, ctx: CliContext): void {
  const command = program
    .command('backup')
    .description('export every Istio custom resource (the 13 kinds), server-managed fields stripped')
    .requiredOption('--cluster <name>', 'cluster name, used in the backup path')
    .option('--dir <path>', 'backup root (default: $ISTIO_CANARY_BACKUP_DIR or ~/.istio-canary/backups)');
  addOutputOption(command);
  addExamples(command, ['istio-canary backup --cluster prod-eu', 'KUBECONFIG=~/.kube/prod istio-canary backup --cluster prod-eu --dir /srv/backups']);
  command.action(async (options: BackupOptions) => {
    const { loadActivitiesConfig } = await import('../../activities/config.js');
    const { createBackupActivities } = await import('../../activities/backup.js');
    const config = loadActivitiesConfig({ ...ctx.env, ...(options.dir ? { ISTIO_CANARY_BACKUP_DIR: options.dir } : {}) });
    const upgradeId = `manual-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const result = await createBackupActivities(config.kubeConfig, { backupDir: config.backupDir }).backupIstioResources({
      cluster: options.cluster,
      upgradeId,
    });
    const total = Object.values(result.counts).reduce((a, b) => a + b, 0);
    const lines = Object.entries(result.counts).map(([kind, n]) => `  ${String(n).padStart(5)}  ${kind}`);
    ctx.emit({ data: result, human: [`backed up ${total} objects to ${result.location}`, ...lines, `restore with: istio-canary restore ${result.location}`].join('\n') }, options.output);
  });
}

export function registerRestoreCommand(program: Command, ctx: CliContext): void {
  const command = program
    .command('restore')
    .description('apply a backup made by `backup` or by an upgrade (server-side apply, field manager istio-canary)')
    .argument('<location>', 'backup folder (the one holding manifest.json)');
  addOutputOption(command);
  addExamples(command, ['istio-canary restore ~/.istio-canary/backups/prod-eu/istio-canary-prod-eu-<run id>']);
  command.action(async (location: string, options: OutputOptions) => {
    const { loadActivitiesConfig } = await import('../../activities/config.js');
    const { restoreBackup } = await import('../../activities/backup.js');
    const result = await restoreBackup(loadActivitiesConfig(ctx.env).kubeConfig, location);
    const applied = Object.values(result.applied).reduce((a, b) => a + b, 0);
    const human = [
      `applied ${applied} objects from ${location}`,
      ...result.failed.map((f) => `  failed: ${f.kind} ${f.namespace}/${f.name}: ${f.error}`),
    ].join('\n');
    ctx.emit({ data: result, human, ...(result.failed.length ? { exitCode: ExitCode.Refused } : {}) }, options.output);
  });
}
