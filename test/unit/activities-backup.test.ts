import { describe, expect, it } from '@jest/globals';
import {
  ISTIO_BACKUP_KINDS,
  kindFile,
  kindName,
  parseObjects,
  renderObjects,
  restoreOrder,
  servedVersion,
  stripServerFields,
} from '../../activities/backup.js';

const virtualService = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: {
    name: 'reviews',
    namespace: 'bookinfo',
    labels: { app: 'reviews' },
    annotations: { note: 'on' },
    resourceVersion: '12345',
    uid: '6b1c1f3e-0000-4000-8000-000000000000',
    creationTimestamp: '2026-01-01T00:00:00Z',
    generation: 3,
    managedFields: [{ manager: 'kubectl' }],
    selfLink: '/apis/networking.istio.io/v1/namespaces/bookinfo/virtualservices/reviews',
  },
  spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] },
  status: { observedGeneration: 3 },
};

describe('the 13 kinds', () => {
  it('are the seed backup script list, named plural.group', () => {
    expect(ISTIO_BACKUP_KINDS.map(kindName)).toEqual([
      'virtualservices.networking.istio.io',
      'destinationrules.networking.istio.io',
      'gateways.networking.istio.io',
      'serviceentries.networking.istio.io',
      'sidecars.networking.istio.io',
      'envoyfilters.networking.istio.io',
      'workloadentries.networking.istio.io',
      'workloadgroups.networking.istio.io',
      'authorizationpolicies.security.istio.io',
      'peerauthentications.security.istio.io',
      'requestauthentications.security.istio.io',
      'telemetries.telemetry.istio.io',
      'wasmplugins.extensions.istio.io',
    ]);
    expect(kindFile(ISTIO_BACKUP_KINDS[0]!)).toBe('virtualservices.networking.istio.io.yaml');
  });
});

describe('stripServerFields', () => {
  it('drops status and server-managed metadata, keeps everything else', () => {
    const stripped = stripServerFields(virtualService);
    expect(stripped).toEqual({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'reviews', namespace: 'bookinfo', labels: { app: 'reviews' }, annotations: { note: 'on' } },
      spec: virtualService.spec,
    });
  });

  it('does not modify its input', () => {
    const copy = structuredClone(virtualService);
    stripServerFields(virtualService);
    expect(virtualService).toEqual(copy);
  });
});

describe('servedVersion', () => {
  const crd = (versions: Array<{ name: string; served: boolean; storage: boolean }>) => ({ spec: { versions } }) as never;

  it('prefers the served storage version', () => {
    expect(servedVersion(crd([{ name: 'v1alpha3', served: true, storage: false }, { name: 'v1', served: true, storage: true }]))).toBe('v1');
  });
  it('falls back to the first served version', () => {
    expect(servedVersion(crd([{ name: 'v1beta1', served: false, storage: true }, { name: 'v1alpha3', served: true, storage: false }]))).toBe('v1alpha3');
  });
  it('is undefined when nothing is served', () => {
    expect(servedVersion(crd([]))).toBeUndefined();
  });
});

describe('YAML files', () => {
  it('round-trip objects, sorted by namespace and name', () => {
    const a = stripServerFields({ ...virtualService, metadata: { ...virtualService.metadata, namespace: 'b', name: 'x' } });
    const b = stripServerFields({ ...virtualService, metadata: { ...virtualService.metadata, namespace: 'a', name: 'y' } });
    const text = renderObjects([a, b]);
    expect(parseObjects(text)).toEqual([b, a]);
  });

  it('quote YAML 1.1 booleans-lookalikes so kubectl keeps them strings', () => {
    const text = renderObjects([stripServerFields(virtualService)]);
    expect(text).toMatch(/note: "on"/);
  });

  it('render an empty kind as an empty file that parses to nothing', () => {
    expect(renderObjects([])).toBe('');
    expect(parseObjects('')).toEqual([]);
  });

  it('reject invalid YAML', () => {
    expect(() => parseObjects('a: [unclosed')).toThrow(/invalid YAML/);
  });
});

describe('restoreOrder', () => {
  it('applies policies, service entries and destination rules before routes, then the rest', () => {
    const names = ISTIO_BACKUP_KINDS.map(kindName);
    const order = restoreOrder(names);
    expect(order.slice(0, 6)).toEqual([
      'peerauthentications.security.istio.io',
      'serviceentries.networking.istio.io',
      'destinationrules.networking.istio.io',
      'virtualservices.networking.istio.io',
      'gateways.networking.istio.io',
      'authorizationpolicies.security.istio.io',
    ]);
    expect(order).toHaveLength(13);
    expect(new Set(order)).toEqual(new Set(names));
  });
});
