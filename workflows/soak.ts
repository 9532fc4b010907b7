// Soak: evaluate the gates every interval for the soak duration. The numbers
// are gathered by an activity, judged by pure functions (gates/verdict), and
// every check is kept as evidence.
import { sleep } from '@temporalio/workflow';
import { assessGate, evaluateSample, plannedChecks } from '../gates/verdict.js';
import { formatDuration } from '../plan/duration.js';
import type { GateCheck } from './messages.js';
import { countGateVerdict } from './metrics.js';
import { call, METRICS_CALL } from './activities.js';
import { awaitResume } from './approval.js';
import { gateFacts, notify } from './notify.js';
import type { Run } from './run.js';
import { UpgradeStopped } from './run.js';
import { gateEvidence } from './state.js';

export async function soak(run: Run, stage: string, namespaces: string[], soakMs: number, traffic: 'served' | 'ingress' = 'served'): Promise<void> {
  const { plan, state, control } = run;
  const { gates } = plan;
  const planned = plannedChecks(soakMs, gates.intervalMs);
  let checks: GateCheck[] = [];
  // Checks keep a fixed cadence from the start of the soak: sleeping a full
  // interval after each query would stretch every soak by the queries' time.
  let cadenceFrom = Date.now();
  for (;;) {
    const dueIn = Math.max(1, cadenceFrom + (checks.length + 1) * gates.intervalMs - Date.now());
    state.setStep(`soaking ${stage}: check ${checks.length + 1}/${planned} in ${formatDuration(dueIn)}`);
    await sleep(dueIn, { summary: `${stage} gate: wait for check ${checks.length + 1}` });
    await control.checkpoint();
    // After a pause the cadence goes on from now, rather than catching up with checks in a row.
    const late = Date.now() - (cadenceFrom + (checks.length + 1) * gates.intervalMs);
    if (late > gates.intervalMs) cadenceFrom += late;
    const samples = await call(
      'measureGate',
      METRICS_CALL,
      `Gate ${stage}: ${gates.metrics.map((m) => m.name).join(', ')} over ${namespaces.join(', ')}`,
      { prometheusUrl: plan.prometheus.url, namespaces, revision: plan.target.revision, windowMs: gates.windowMs, metrics: gates.metrics, ...(traffic === 'ingress' ? { traffic } : {}) },
    );
    const check: GateCheck = {
      stage,
      at: state.now(),
      index: checks.length + 1,
      namespaces,
      windowMs: gates.windowMs,
      measurements: gates.metrics.map((metric) => {
        const sample = samples.find((s) => s.metric === metric.name) ?? { metric: metric.name, query: '', value: null, requests: null, error: 'no sample returned' };
        return evaluateSample(metric, sample);
      }),
    };
    checks.push(check);
    state.recordCheck(check);

    const assessment = assessGate(checks, { plannedChecks: planned, failureLimit: gates.failureLimit, inconclusiveLimit: gates.inconclusiveLimit });
    countGateVerdict(plan.cluster, stage, assessment.verdict);
    if (assessment.verdict === 'passed') {
      state.decide({ kind: 'gate', by: 'istio-canary', reason: `passed: ${assessment.reason}`, subject: `${stage} gate`, evidence: gateEvidence(checks) });
      notify(run, 'wave-done', `${stage} done: ${namespaces.join(', ')} on ${plan.target.revision}, gate passed: ${assessment.reason}`);
      return;
    }
    if (assessment.verdict === 'failed') {
      state.decide({ kind: 'gate', by: 'istio-canary', reason: `failed: ${assessment.reason}`, subject: `${stage} gate`, evidence: gateEvidence(checks) });
      notify(run, 'gate-failed', `${stage} gate failed: ${assessment.reason}; rolling back`, gateFacts(checks));
      throw new UpgradeStopped('gate', `${stage} gate failed: ${assessment.reason}`, checks);
    }
    if (assessment.verdict === 'inconclusive') {
      state.decide({ kind: 'gate', by: 'istio-canary', reason: `inconclusive: ${assessment.reason} (onInconclusive ${gates.onInconclusive})`, subject: `${stage} gate`, evidence: gateEvidence(checks) });
      if (gates.onInconclusive === 'rollback') {
        notify(run, 'gate-failed', `${stage} gate inconclusive: ${assessment.reason}; rolling back (onInconclusive rollback)`, gateFacts(checks));
        throw new UpgradeStopped('inconclusive', `${stage} gate inconclusive: ${assessment.reason}`, checks);
      }
      await awaitResume(run, `${stage} gate inconclusive: ${assessment.reason}`);
      checks = [];
      cadenceFrom = Date.now();
    }
  }
}
