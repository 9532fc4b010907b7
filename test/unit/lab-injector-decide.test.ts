import { describe, expect, it } from '@jest/globals';
import {
  decideInjection,
  istiodPolicySkip,
  resolveRevision,
  revisionsFromWebhookLabels,
  tagsFromWebhookLabels,
  type InjectionInput,
} from '../../lab/injector/decide.js';

const tags = { prod: '1-29-0', canary: '1-30-3' };
const revisions = ['1-29-0', '1-30-3'];

function decide(overrides: Partial<InjectionInput>) {
  return decideInjection({
    namespaceLabels: {},
    podLabels: {},
    podAnnotations: {},
    tags,
    revisions,
    namespace: 'shop',
    ...overrides,
  });
}

function revisionOf(overrides: Partial<InjectionInput>): string | null {
  const d = decide(overrides);
  return d.inject ? d.revision : null;
}

describe('decideInjection: namespace labels', () => {
  it('istio.io/rev naming a revision injects that revision (rev.namespace webhook)', () => {
    const d = decide({ namespaceLabels: { 'istio.io/rev': '1-29-0' } });
    expect(d).toMatchObject({ inject: true, revision: '1-29-0', webhook: 'rev.namespace.sidecar-injector.istio.io' });
  });

  it('istio.io/rev naming a tag injects the tag revision', () => {
    const d = decide({ namespaceLabels: { 'istio.io/rev': 'canary' } });
    expect(d).toMatchObject({ inject: true, revision: '1-30-3' });
    expect(d.inject && d.reason).toContain('tag canary -> revision 1-30-3');
  });

  it('istio.io/rev naming nothing installed injects nothing', () => {
    const d = decide({ namespaceLabels: { 'istio.io/rev': '1-28-0' } });
    expect(d.inject).toBe(false);
    expect(d.reason).toContain('no revision or tag named 1-28-0');
  });

  it('istio-injection=enabled means the default tag', () => {
    expect(revisionOf({ namespaceLabels: { 'istio-injection': 'enabled' }, tags: { ...tags, default: '1-29-0' } })).toBe('1-29-0');
  });

  it('istio-injection=enabled means the revision named default when there is no default tag', () => {
    expect(revisionOf({ namespaceLabels: { 'istio-injection': 'enabled' }, revisions: ['default', '1-30-3'] })).toBe('default');
  });

  it('the default tag wins over a revision named default (its tag deactivates the old webhook)', () => {
    expect(revisionOf({ namespaceLabels: { 'istio-injection': 'enabled' }, revisions: ['default', '1-30-3'], tags: { default: '1-30-3' } })).toBe(
      '1-30-3',
    );
  });

  it('istio-injection=enabled without a default tag or revision injects nothing', () => {
    expect(decide({ namespaceLabels: { 'istio-injection': 'enabled' } }).inject).toBe(false);
  });

  it('istio-injection=enabled takes precedence over istio.io/rev on the namespace (as the selectors do)', () => {
    expect(
      revisionOf({ namespaceLabels: { 'istio-injection': 'enabled', 'istio.io/rev': 'canary' }, tags: { ...tags, default: '1-29-0' } }),
    ).toBe('1-29-0');
  });

  it('istio-injection=disabled (or any other value) opts the namespace out, even with istio.io/rev', () => {
    expect(decide({ namespaceLabels: { 'istio-injection': 'disabled', 'istio.io/rev': 'canary' } })).toMatchObject({
      inject: false,
      reason: 'namespace istio-injection=disabled',
    });
    expect(decide({ namespaceLabels: { 'istio-injection': '' } }).inject).toBe(false);
  });

  it('an unlabelled namespace and pod are not injected (enableNamespacesByDefault is false)', () => {
    expect(decide({}).inject).toBe(false);
  });
});

describe('decideInjection: pod labels and annotations', () => {
  it('the pod istio.io/rev label selects a revision when the namespace has no injection label (rev.object)', () => {
    expect(decide({ podLabels: { 'istio.io/rev': '1-30-3' } })).toMatchObject({
      inject: true,
      revision: '1-30-3',
      webhook: 'rev.object.sidecar-injector.istio.io',
    });
    expect(revisionOf({ podLabels: { 'istio.io/rev': 'prod' } })).toBe('1-29-0');
  });

  it('the namespace istio.io/rev wins over the pod istio.io/rev', () => {
    expect(revisionOf({ namespaceLabels: { 'istio.io/rev': 'prod' }, podLabels: { 'istio.io/rev': 'canary' } })).toBe('1-29-0');
  });

  it('istio-injection=enabled on the namespace wins over the pod istio.io/rev', () => {
    expect(
      revisionOf({ namespaceLabels: { 'istio-injection': 'enabled' }, podLabels: { 'istio.io/rev': 'canary' }, tags: { ...tags, default: '1-29-0' } }),
    ).toBe('1-29-0');
  });

  it('pod label sidecar.istio.io/inject=true alone means the default tag (object webhook)', () => {
    const d = decide({ podLabels: { 'sidecar.istio.io/inject': 'true' }, tags: { ...tags, default: '1-30-3' } });
    expect(d).toMatchObject({ inject: true, revision: '1-30-3', webhook: 'object.sidecar-injector.istio.io' });
  });

  it('pod label sidecar.istio.io/inject=false opts out', () => {
    expect(decide({ namespaceLabels: { 'istio.io/rev': 'prod' }, podLabels: { 'sidecar.istio.io/inject': 'false' } }).inject).toBe(false);
  });

  it('pod annotation sidecar.istio.io/inject=false opts out (istiod policy), but the label wins over it', () => {
    const ns = { 'istio.io/rev': 'prod' };
    expect(decide({ namespaceLabels: ns, podAnnotations: { 'sidecar.istio.io/inject': 'false' } }).inject).toBe(false);
    expect(
      revisionOf({ namespaceLabels: ns, podLabels: { 'sidecar.istio.io/inject': 'true' }, podAnnotations: { 'sidecar.istio.io/inject': 'false' } }),
    ).toBe('1-29-0');
  });

  it('already injected pods are left alone', () => {
    const d = decide({
      namespaceLabels: { 'istio.io/rev': 'prod' },
      podAnnotations: { 'sidecar.istio.io/status': '{"revision":"1-29-0"}' },
    });
    expect(d).toEqual({ inject: false, reason: 'already injected (sidecar.istio.io/status is set)' });
  });

  it('host network pods and system namespaces are never injected', () => {
    expect(decide({ namespaceLabels: { 'istio.io/rev': 'prod' }, hostNetwork: true }).inject).toBe(false);
    expect(decide({ namespaceLabels: { 'istio.io/rev': 'prod' }, namespace: 'kube-system' }).inject).toBe(false);
  });
});

describe('helpers', () => {
  it('resolveRevision prefers a tag, then a revision', () => {
    expect(resolveRevision('canary', tags, revisions)).toEqual({ revision: '1-30-3', via: 'canary' });
    expect(resolveRevision('1-29-0', tags, revisions)).toEqual({ revision: '1-29-0' });
    expect(resolveRevision('nope', tags, revisions)).toBeUndefined();
  });

  it('istiodPolicySkip is undefined for an ordinary pod', () => {
    expect(istiodPolicySkip({ podLabels: { app: 'a' }, podAnnotations: {}, namespace: 'shop' })).toBeUndefined();
  });

  it('reads tags and revisions from webhook configuration labels the way istioctl does', () => {
    const webhooks: Array<{ name: string; labels: Record<string, string> }> = [
      { name: 'istio-sidecar-injector-1-29-0', labels: { app: 'sidecar-injector', 'istio.io/rev': '1-29-0' } },
      { name: 'istio-sidecar-injector-1-30-3', labels: { app: 'sidecar-injector', 'istio.io/rev': '1-30-3' } },
      { name: 'istio-revision-tag-default', labels: { app: 'sidecar-injector', 'istio.io/rev': '1-29-0', 'istio.io/tag': 'default' } },
      { name: 'istio-revision-tag-canary', labels: { app: 'sidecar-injector', 'istio.io/rev': '1-30-3', 'istio.io/tag': 'canary' } },
      { name: 'unrelated', labels: { app: 'other' } },
    ];
    expect(tagsFromWebhookLabels(webhooks)).toEqual({ default: '1-29-0', canary: '1-30-3' });
    expect(revisionsFromWebhookLabels(webhooks)).toEqual(['1-29-0', '1-30-3']);
  });
});
