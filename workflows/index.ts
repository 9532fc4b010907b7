export { istioCanaryUpgrade } from './upgrade.js';
