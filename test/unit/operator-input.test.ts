// What an operator's update may carry (workflows/operator-input.ts), and the CLI's
// argument parsers that apply the same rules before anything is sent.
import { describe, expect, it } from '@jest/globals';
import { InvalidArgumentError } from 'commander';
import { parseActor, parseCluster, parseReason, parseRunId, parseWorkflowId } from '../../cli/options.js';
import { actorProblem, reasonProblem, updateInputProblems } from '../../workflows/operator-input.js';
import { gateEvidence } from '../../workflows/state.js';

describe('actorProblem', () => {
  it.each([
    [undefined, 'must be given'],
    ['', 'must be given'],
    [42, 'must be a string, got number 42'],
    ['   ', 'must not be blank'],
    [' alice', 'must not start or end with spaces'],
    ['a'.repeat(129), 'at most 128 characters, got 129'],
    ['alice\nbob', 'one line without control characters'],
    ['alice\u001b[2J', 'control characters'],
    ['alice\u2028bob', 'control characters'],
  ])('refuses %j', (by, reason) => {
    expect(actorProblem(by)).toContain(reason);
  });

  it.each(['alice', 'Alice Smith', 'ci-bot@example.com', 'a'.repeat(128)])('accepts %j', (by) => {
    expect(actorProblem(by)).toBeUndefined();
  });
});

describe('reasonProblem', () => {
  it('accepts no reason and a plain one', () => {
    expect(reasonProblem(undefined)).toBeUndefined();
    expect(reasonProblem('canary clean for 30m (INC-4521)')).toBeUndefined();
  });
  it.each([
    [null, 'must be a string, got null'],
    [{ text: 'x' }, 'got an object'],
    ['  ', 'must not be blank'],
    ['x'.repeat(1001), 'at most 1000 characters, got 1001'],
    ['line one\nline two', 'one line'],
  ])('refuses %j', (reason, message) => {
    expect(reasonProblem(reason)).toContain(message);
  });
});

describe('updateInputProblems', () => {
  it('accepts the shapes the CLI sends', () => {
    expect(updateInputProblems({ by: 'alice' })).toEqual([]);
    expect(updateInputProblems({ by: 'alice', reason: 'ok' })).toEqual([]);
    expect(updateInputProblems({ by: 'alice', reason: 'ok', rollback: false }, { rollback: true })).toEqual([]);
  });

  it('refuses a payload that is not one object', () => {
    expect(updateInputProblems(undefined)).toEqual(['the update takes one object {by, reason}, got nothing']);
    expect(updateInputProblems('alice')).toEqual(['the update takes one object {by, reason}, got a string "alice"']);
    expect(updateInputProblems([{ by: 'alice' }], { rollback: true })).toEqual(['the update takes one object {by, reason, rollback}, got a list']);
  });

  it('names every bad field at once', () => {
    expect(updateInputProblems({ by: 7, reason: '', rolback: true, rollback: 'yes' }, { rollback: true })).toEqual([
      'by: must be a string, got number 7',
      'reason: must not be blank; give a reason or leave it out',
      'rollback: must be true or false, got a string "yes"',
      'rolback: unknown field (allowed: by, reason, rollback)',
    ]);
  });

  it('refuses rollback where the update has none', () => {
    expect(updateInputProblems({ by: 'alice', rollback: true })).toEqual(['rollback: unknown field (allowed: by, reason)']);
  });
});

describe('CLI argument parsers', () => {
  const refusal = (parse: (text: string) => string, text: string): string => {
    try {
      parse(text);
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidArgumentError);
      return (err as Error).message;
    }
    throw new Error(`${JSON.stringify(text)} was accepted`);
  };

  it('cluster: a DNS-1123 label, as spec.cluster', () => {
    expect(parseCluster('prod-eu')).toBe('prod-eu');
    expect(refusal(parseCluster, 'Prod_EU')).toContain('DNS-1123 label');
    expect(refusal(parseCluster, "x' OR '1'='1")).toContain('DNS-1123 label');
  });

  it('workflow id: non-empty, no spaces or control characters, at most 1000 characters', () => {
    expect(parseWorkflowId('istio-canary-prod-eu')).toBe('istio-canary-prod-eu');
    expect(refusal(parseWorkflowId, '')).toBe('must not be empty');
    expect(refusal(parseWorkflowId, 'a b')).toContain('spaces');
    expect(refusal(parseWorkflowId, 'a\tb')).toContain('control characters');
    expect(refusal(parseWorkflowId, 'x'.repeat(1001))).toContain('at most 1000 characters');
  });

  it('run id: a UUID', () => {
    expect(parseRunId('0196A7B2-5A4E-7C1D-9F00-2B1F6C3D4E5F')).toBe('0196A7B2-5A4E-7C1D-9F00-2B1F6C3D4E5F');
    expect(refusal(parseRunId, '42')).toContain('must be a run id');
  });

  it('--by and --reason follow the workflow rules', () => {
    expect(parseActor('alice')).toBe('alice');
    expect(refusal(parseActor, '')).toContain('must be given');
    expect(refusal(parseActor, 'alice\nbob')).toContain('one line');
    expect(parseReason('canary clean')).toBe('canary clean');
    expect(refusal(parseReason, ' ')).toContain('must not be blank');
  });
});

describe('gateEvidence', () => {
  it('keeps every metric of every check with its numbers, and a failed query as its reason', () => {
    const evidence = gateEvidence([
      {
        stage: 'canary',
        at: '2026-11-26T09:00:00.000Z',
        index: 1,
        namespaces: ['canary-test'],
        windowMs: 60_000,
        measurements: [
          { metric: 'error-rate', query: 'q', value: 0.05, requests: 400, phase: 'fail', reason: '0.05 > max 0.01', threshold: 'max 0.01' },
          { metric: 'p99-latency', query: 'q', value: null, requests: null, error: 'connection refused', phase: 'error', reason: 'query failed', threshold: 'max 500ms' },
        ],
      },
    ]);
    expect(evidence).toEqual([
      { stage: 'canary', check: 1, at: '2026-11-26T09:00:00.000Z', metric: 'error-rate', phase: 'fail', value: 0.05, requests: 400, threshold: 'max 0.01', reason: '0.05 > max 0.01' },
      { stage: 'canary', check: 1, at: '2026-11-26T09:00:00.000Z', metric: 'p99-latency', phase: 'error', value: null, requests: null, threshold: 'max 500ms', reason: 'connection refused' },
    ]);
  });
});
