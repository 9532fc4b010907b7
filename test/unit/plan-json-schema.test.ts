import { planJsonSchema } from '../../plan/json-schema.js';

const schema: any = planJsonSchema();
const spec = schema.properties.spec;

describe('planJsonSchema', () => {
  it('describes the document with its fixed apiVersion and kind', () => {
    expect(schema.title).toBe('istio-canary UpgradePlan');
    expect(schema.required).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(schema.properties.apiVersion.const).toBe('istio-canary/v1');
    expect(schema.properties.kind.const).toBe('UpgradePlan');
  });

  it('refuses unknown fields everywhere', () => {
    expect(schema.additionalProperties).toBe(false);
    expect(spec.additionalProperties).toBe(false);
    expect(spec.properties.canary.additionalProperties).toBe(false);
  });

  it('marks defaulted fields optional and publishes their defaults', () => {
    expect(spec.required).toEqual(['cluster', 'target', 'canary', 'gates', 'prometheus']);
    expect(spec.properties.gates.properties.interval.default).toBe('1m');
    expect(spec.properties.gates.properties.failureLimit.default).toBe(2);
    expect(spec.properties.rollout.properties.kinds.default).toEqual(['Deployment']);
  });

  it('publishes name and duration patterns', () => {
    expect(spec.properties.cluster.pattern).toBe('^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$');
    expect(new RegExp(spec.properties.canary.properties.soak.pattern).test('1h30m')).toBe(true);
  });

  it('offers one schema per metric type', () => {
    const types = spec.properties.gates.properties.metrics.items.oneOf.map(
      (option: { properties: { type: { const: string } } }) => option.properties.type.const,
    );
    expect(types).toEqual(['errorRate', 'latencyP99', 'requestVolume', 'xdsRejects']);
  });
});
