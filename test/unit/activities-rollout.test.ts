import { describe, expect, it } from '@jest/globals';
import { rolloutProgress, type WorkloadObject } from '../../activities/kubernetes-rollout.js';

function deployment(spec: WorkloadObject['spec'], status: WorkloadObject['status'], generation = 2): WorkloadObject {
  return { metadata: { name: 'web', generation }, spec, status: { observedGeneration: generation, ...status } };
}

describe('Deployment rollout', () => {
  const done = { replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 };

  it('is complete when every replica is updated, ready and available and no old one remains', () => {
    const progress = rolloutProgress('Deployment', deployment({ replicas: 3 }, done));
    expect(progress).toMatchObject({ state: 'complete', lacking: [], replicas: 3, readyReplicas: 3 });
  });

  it('waits until the controller has observed the new generation', () => {
    const progress = rolloutProgress('Deployment', { metadata: { generation: 3 }, spec: { replicas: 3 }, status: { ...done, observedGeneration: 2 } });
    expect(progress.state).toBe('progressing');
    expect(progress.lacking).toEqual(['controller has not observed generation 3 yet (observed 2)']);
  });

  it('waits for old replicas to go away', () => {
    const progress = rolloutProgress('Deployment', deployment({ replicas: 3 }, { ...done, replicas: 4 }));
    expect(progress.state).toBe('progressing');
    expect(progress.lacking).toEqual(['1 old replicas pending termination']);
  });

  it('names every missing number', () => {
    const progress = rolloutProgress('Deployment', deployment({ replicas: 3 }, { replicas: 3, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2 }));
    expect(progress.lacking).toEqual(['1/3 replicas updated', '2 old replicas pending termination', '2/3 replicas ready', '2/3 replicas available']);
  });

  it('defaults spec.replicas to 1 and missing status numbers to 0', () => {
    expect(rolloutProgress('Deployment', deployment({}, {})).lacking).toEqual(['0/1 replicas updated', '0/1 replicas ready', '0/1 replicas available']);
  });

  it('treats a Deployment scaled to zero as complete', () => {
    expect(rolloutProgress('Deployment', deployment({ replicas: 0 }, {})).state).toBe('complete');
  });

  it('fails on ProgressDeadlineExceeded', () => {
    const progress = rolloutProgress(
      'Deployment',
      deployment({ replicas: 2 }, {
        replicas: 3,
        updatedReplicas: 1,
        readyReplicas: 2,
        availableReplicas: 2,
        conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "web-7d" has timed out progressing.' }],
      }),
    );
    expect(progress.state).toBe('failed');
    expect(progress.lacking[0]).toBe('progress deadline exceeded: ReplicaSet "web-7d" has timed out progressing.');
  });

  it('fails when paused with work left, but a paused complete Deployment is complete', () => {
    expect(rolloutProgress('Deployment', deployment({ replicas: 2, paused: true }, { replicas: 2, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2 })).state).toBe('failed');
    expect(rolloutProgress('Deployment', deployment({ replicas: 3, paused: true }, done)).state).toBe('complete');
  });

  it('changes its fingerprint when the numbers move, and only then', () => {
    const a = rolloutProgress('Deployment', deployment({ replicas: 3 }, { replicas: 4, updatedReplicas: 1, readyReplicas: 3, availableReplicas: 3 }));
    const same = rolloutProgress('Deployment', deployment({ replicas: 3 }, { replicas: 4, updatedReplicas: 1, readyReplicas: 3, availableReplicas: 3 }));
    const moved = rolloutProgress('Deployment', deployment({ replicas: 3 }, { replicas: 4, updatedReplicas: 2, readyReplicas: 3, availableReplicas: 3 }));
    expect(same.fingerprint).toBe(a.fingerprint);
    expect(moved.fingerprint).not.toBe(a.fingerprint);
  });
});

describe('StatefulSet rollout', () => {
  const sts = (spec: WorkloadObject['spec'], status: WorkloadObject['status']): WorkloadObject => ({
    metadata: { generation: 1 },
    spec,
    status: { observedGeneration: 1, ...status },
  });
  const done = { replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, currentRevision: 'db-2', updateRevision: 'db-2' };

  it('is complete when the update revision is current and every replica is ready', () => {
    expect(rolloutProgress('StatefulSet', sts({ replicas: 3 }, done)).state).toBe('complete');
  });

  it('waits while the update revision is not yet current', () => {
    const progress = rolloutProgress('StatefulSet', sts({ replicas: 3 }, { ...done, updatedReplicas: 2, currentRevision: 'db-1' }));
    expect(progress.state).toBe('progressing');
    expect(progress.lacking).toEqual(['2/3 replicas updated', 'revision db-2 not yet current']);
  });

  it('only expects the ordinals above a partition to update', () => {
    const progress = rolloutProgress(
      'StatefulSet',
      sts({ replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }, { ...done, updatedReplicas: 1, currentRevision: 'db-1' }),
    );
    expect(progress.state).toBe('complete');
  });

  it('fails fast with OnDelete, which a restart cannot roll', () => {
    const progress = rolloutProgress('StatefulSet', sts({ replicas: 3, updateStrategy: { type: 'OnDelete' } }, { ...done, updatedReplicas: 0, currentRevision: 'db-1' }));
    expect(progress.state).toBe('failed');
    expect(progress.lacking[0]).toMatch(/OnDelete/);
  });

  it('falls back to readyReplicas when availableReplicas is not reported', () => {
    const { availableReplicas: _unused, ...withoutAvailable } = done;
    expect(rolloutProgress('StatefulSet', sts({ replicas: 3 }, withoutAvailable)).state).toBe('complete');
  });
});

describe('DaemonSet rollout', () => {
  const ds = (status: WorkloadObject['status'], spec: WorkloadObject['spec'] = {}): WorkloadObject => ({
    metadata: { generation: 4 },
    spec,
    status: { observedGeneration: 4, ...status },
  });

  it('is complete when every scheduled pod is updated and available', () => {
    const progress = rolloutProgress('DaemonSet', ds({ desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberReady: 3, numberAvailable: 3 }));
    expect(progress).toMatchObject({ state: 'complete', replicas: 3, readyReplicas: 3 });
  });

  it('waits for updated and available pods', () => {
    const progress = rolloutProgress('DaemonSet', ds({ desiredNumberScheduled: 3, updatedNumberScheduled: 2, numberReady: 3, numberAvailable: 2 }));
    expect(progress.lacking).toEqual(['2/3 pods updated', '2/3 pods available']);
  });

  it('fails fast with OnDelete', () => {
    const progress = rolloutProgress('DaemonSet', ds({ desiredNumberScheduled: 3, updatedNumberScheduled: 0, numberReady: 3, numberAvailable: 3 }, { updateStrategy: { type: 'OnDelete' } }));
    expect(progress.state).toBe('failed');
  });
});
