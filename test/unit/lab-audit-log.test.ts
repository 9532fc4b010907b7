import { describe, expect, it } from '@jest/globals';
import { summarizeRequests } from '../../lab/audit-log.js';

const WORKER = 'system:serviceaccount:istio-canary:istio-canary-worker';

function event(fields: Record<string, unknown>): string {
  return JSON.stringify({ kind: 'Event', stage: 'ResponseComplete', user: { username: WORKER }, responseStatus: { code: 200 }, ...fields });
}

describe('summarizeRequests (audit log to RBAC-shaped rows)', () => {
  const log = [
    event({ verb: 'patch', objectRef: { resource: 'namespaces', name: 'cart', apiVersion: 'v1' } }),
    event({ verb: 'patch', objectRef: { resource: 'namespaces', name: 'cart' } }),
    event({ verb: 'patch', objectRef: { resource: 'namespaces', name: 'orders' } }),
    event({ verb: 'list', objectRef: { resource: 'secrets' } }),
    event({ verb: 'create', objectRef: { resource: 'pods', subresource: 'portforward', namespace: 'istio-system', name: 'istiod-x' }, responseStatus: { code: 403 } }),
    event({ verb: 'delete', objectRef: { apiGroup: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: 'istiod-clusterrole-1-29-4-istio-system' } }),
    event({ verb: 'get', requestURI: '/version?timeout=32s' }),
    // Not the worker, or not a completed request: left out.
    event({ verb: 'delete', objectRef: { resource: 'namespaces', name: 'cart' }, user: { username: 'kwok-admin' } }),
    event({ verb: 'delete', objectRef: { resource: 'namespaces', name: 'cart' }, stage: 'ResponseStarted' }),
    '',
  ];
  const rows = summarizeRequests(log, WORKER);

  it('groups by API group, resource with subresource, verb and scope, with the names touched', () => {
    expect(rows.find((r) => r.resource === 'namespaces')).toEqual({
      apiGroup: '',
      resource: 'namespaces',
      verb: 'patch',
      scope: '(cluster)',
      names: ['cart', 'orders'],
      denied: 0,
      count: 3,
    });
    expect(rows.find((r) => r.apiGroup === 'rbac.authorization.k8s.io')).toMatchObject({ resource: 'clusterroles', verb: 'delete', scope: '(cluster)' });
    expect(rows.find((r) => r.resource.startsWith('(url)'))).toMatchObject({ resource: '(url) /version', verb: 'get' });
  });

  it('counts what the API server refused', () => {
    expect(rows.find((r) => r.resource === 'pods/portforward')).toMatchObject({ scope: 'istio-system', denied: 1, count: 1 });
  });

  it("keeps only the user's completed requests", () => {
    expect(rows.filter((r) => r.verb === 'delete' && r.resource === 'namespaces')).toEqual([]);
    expect(rows.reduce((sum, r) => sum + r.count, 0)).toBe(7);
  });
});
