import { describe, expect, it } from '@jest/globals';
import { controlPlanePorts } from '../../lab/cluster.js';

describe('controlPlanePorts (LAB_KUBE_APISERVER_PORT)', () => {
  it('leaves the choice to kwokctl when unset', () => {
    expect(controlPlanePorts({})).toBe('');
  });

  it('pins the API server and the five components after it, each on its own port', () => {
    const lines = controlPlanePorts({ LAB_KUBE_APISERVER_PORT: '26543' }).trim().split('\n').map((l) => l.trim());
    expect(lines).toEqual([
      'kubeApiserverPort: 26543',
      'etcdPort: 26544',
      'etcdPeerPort: 26545',
      'kubeControllerManagerPort: 26546',
      'kubeSchedulerPort: 26547',
      'kwokControllerPort: 26548',
    ]);
  });

  it.each(['http', '80', '42443', '1.5'])('refuses %j', (raw) => {
    expect(() => controlPlanePorts({ LAB_KUBE_APISERVER_PORT: raw })).toThrow(/LAB_KUBE_APISERVER_PORT must be a port number/);
  });
});
