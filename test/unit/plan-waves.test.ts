import { batches, resolveWaveNamespaces } from '../../plan/waves.js';
import type { WaveSpec } from '../../plan/types.js';

const wave = (fields: Partial<WaveSpec>): WaveSpec => ({ name: 'w', maxParallel: 1, soakMs: 60_000, approval: 'none', ...fields });

describe('resolveWaveNamespaces', () => {
  it('takes explicit namespaces as written, in order', () => {
    expect(resolveWaveNamespaces(wave({ namespaces: ['search', 'catalog'] }), undefined, ['canary-test'])).toEqual({
      namespaces: ['search', 'catalog'],
      skipped: [],
    });
  });

  it('returns a copy, so the caller cannot change the plan through it', () => {
    const spec = wave({ namespaces: ['a'] });
    resolveWaveNamespaces(spec, undefined, []).namespaces.push('b');
    expect(spec.namespaces).toEqual(['a']);
  });

  it('sorts selector matches and skips namespaces already assigned', () => {
    const result = resolveWaveNamespaces(
      wave({ selector: 'team in (payments, checkout)' }),
      ['payments-b', 'canary-test', 'checkout', 'payments-a', 'catalog'],
      ['canary-test', 'catalog', 'search'],
    );
    expect(result).toEqual({ namespaces: ['checkout', 'payments-a', 'payments-b'], skipped: ['canary-test', 'catalog'] });
  });

  it('counts a namespace matched twice once', () => {
    expect(resolveWaveNamespaces(wave({ selector: 'a' }), ['x', 'x'], [])).toEqual({ namespaces: ['x'], skipped: [] });
  });

  it('returns nothing to migrate when the selector matches nothing new', () => {
    expect(resolveWaveNamespaces(wave({ selector: 'a' }), ['x'], ['x'])).toEqual({ namespaces: [], skipped: ['x'] });
    expect(resolveWaveNamespaces(wave({ selector: 'a' }), [], ['x'])).toEqual({ namespaces: [], skipped: [] });
  });

  it('refuses a selector wave without its matches', () => {
    expect(() => resolveWaveNamespaces(wave({ name: 'rest', selector: 'a' }), undefined, [])).toThrow(
      'wave rest has a selector but no selector matches were given',
    );
  });
});

describe('batches', () => {
  it.each([
    [[1, 2, 3, 4, 5], 2, [[1, 2], [3, 4], [5]]],
    [[1, 2, 3], 1, [[1], [2], [3]]],
    [[1, 2, 3], 5, [[1, 2, 3]]],
    [[1, 2, 3], 3, [[1, 2, 3]]],
    [[], 2, []],
  ])('splits %j by %d', (items, maxParallel, expected) => {
    expect(batches(items, maxParallel)).toEqual(expected);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses maxParallel %d', (maxParallel) => {
    expect(() => batches([1], maxParallel)).toThrow(RangeError);
  });
});
