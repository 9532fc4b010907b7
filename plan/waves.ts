// Wave expansion at run time. The workflow sandbox imports this file: no Node built-ins, no zod.

import type { WaveSpec } from './types.js';

export interface WaveNamespaces {
  /** Namespaces this wave migrates, in order. */
  namespaces: string[];
  /** Selector matches left out because the canary or an earlier wave already migrates them. */
  skipped: string[];
}

/**
 * The namespaces a wave migrates. Explicit namespaces are taken as written (validation already
 * keeps them unique across the plan). A selector's matches come from the cluster when the wave
 * starts; those already assigned are skipped, so a namespace never migrates twice, and the rest
 * are sorted so a replayed or retried run sees the same order.
 */
export function resolveWaveNamespaces(
  wave: WaveSpec,
  selectorMatches: string[] | undefined,
  alreadyAssigned: readonly string[],
): WaveNamespaces {
  if (wave.namespaces !== undefined) return { namespaces: [...wave.namespaces], skipped: [] };
  if (selectorMatches === undefined) throw new Error(`wave ${wave.name} has a selector but no selector matches were given`);
  const assigned = new Set(alreadyAssigned);
  const matches = [...new Set(selectorMatches)].sort();
  return {
    namespaces: matches.filter((namespace) => !assigned.has(namespace)),
    skipped: matches.filter((namespace) => assigned.has(namespace)),
  };
}

/** Splits `items` into consecutive batches of at most `maxParallel`. */
export function batches<T>(items: readonly T[], maxParallel: number): T[][] {
  if (!Number.isInteger(maxParallel) || maxParallel < 1) throw new RangeError(`maxParallel must be an integer >= 1, got ${maxParallel}`);
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += maxParallel) result.push(items.slice(start, start + maxParallel));
  return result;
}
