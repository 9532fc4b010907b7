// Typed search attributes that make upgrades findable in the Temporal UI and
// `istio-canary list`. The worker's dev server and tests register these names.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const PhaseAttr = defineSearchAttributeKey('IstioCanaryPhase', SearchAttributeType.KEYWORD);
export const ClusterAttr = defineSearchAttributeKey('IstioCanaryCluster', SearchAttributeType.KEYWORD);
export const SourceRevisionAttr = defineSearchAttributeKey('IstioCanarySourceRevision', SearchAttributeType.KEYWORD);
export const TargetRevisionAttr = defineSearchAttributeKey('IstioCanaryTargetRevision', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [PhaseAttr, ClusterAttr, SourceRevisionAttr, TargetRevisionAttr];
