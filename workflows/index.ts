export { istioCanaryUpgrade } from './upgrade.js';
export { migrateNamespace, restoreNamespace } from './namespace.js';
