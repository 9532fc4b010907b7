// Every activity the worker registers, one adapter per outside system, as the
// UpgradeActivities contract the workflow (and its test doubles) rely on.

import { createBackupActivities } from './backup.js';
import type { ActivitiesOptions } from './config.js';
import type { UpgradeActivities } from './contract.js';
import { createIstioctlActivities } from './istioctl.js';
import { createKubernetesActivities } from './kubernetes.js';
import { createNotificationActivities } from './notifications.js';
import { createPrometheusActivities } from './prometheus.js';

export function createActivities(options: ActivitiesOptions): UpgradeActivities {
  return {
    ...createKubernetesActivities(options.kubeConfig),
    ...createBackupActivities(options.kubeConfig, { backupDir: options.backupDir }),
    ...createIstioctlActivities({
      ...(options.kubeconfigPath && { kubeconfig: options.kubeconfigPath }),
      ...(options.extraInstallArgs && { extraInstallArgs: options.extraInstallArgs }),
    }),
    ...createPrometheusActivities(),
    ...createNotificationActivities(),
  };
}

export { restoreBackup, type RestoreResult } from './backup.js';
export { loadActivitiesConfig, type ActivitiesOptions } from './config.js';
