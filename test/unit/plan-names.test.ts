import {
  deriveRevision,
  isDns1123Label,
  labelKeyProblem,
  labelValueProblem,
  parseLabelSelector,
  revisionProblem,
} from '../../plan/names.js';

describe('isDns1123Label', () => {
  it.each(['a', 'canary-test', '1-30-3', 'a'.repeat(63), '0'])('accepts %s', (name) => {
    expect(isDns1123Label(name)).toBe(true);
  });

  it.each([
    '',
    'A',
    'Canary',
    '-a',
    'a-',
    'a.b',
    'a_b',
    'a'.repeat(64),
    'a b',
    'a"b',
    "a'b",
    'a{b}',
    'a|b',
    'a;b',
    '$a',
    'a`b',
    'a\nb',
  ])('refuses %j', (name) => {
    expect(isDns1123Label(name)).toBe(false);
  });
});

describe('deriveRevision', () => {
  it.each([
    ['1.30.3', '1-30-3'],
    ['1.30.0-beta.1', '1-30-0-beta-1'],
    ['1.30.0-RC.1', '1-30-0-rc-1'],
  ])('%s -> %s', (version, revision) => {
    expect(deriveRevision(version)).toBe(revision);
  });
});

describe('revisionProblem', () => {
  it('accepts a label', () => {
    expect(revisionProblem('1-30-3')).toBeUndefined();
  });
  it('explains a dot and suggests the dashed form', () => {
    expect(revisionProblem('1.30.3')).toContain("must not contain '.'");
    expect(revisionProblem('1.30.3')).toContain('did you mean 1-30-3?');
  });
  it('refuses more than 56 characters, since istiod-<revision> must fit a label', () => {
    expect(revisionProblem('a'.repeat(56))).toBeUndefined();
    expect(revisionProblem('a'.repeat(57))).toContain('at most 56');
  });
  it('refuses uppercase', () => {
    expect(revisionProblem('Canary')).toContain('DNS-1123');
  });
});

describe('label keys and values', () => {
  it.each(['app', 'istio.io/rev', 'app.kubernetes.io/name', 'A_b.c-D'])('accepts key %s', (key) => {
    expect(labelKeyProblem(key)).toBeUndefined();
  });
  it.each(['', '/app', 'Istio.io/rev', 'a/b/c', '-app', 'app-', 'a'.repeat(64), 'a"b'])('refuses key %j', (key) => {
    expect(labelKeyProblem(key)).toBeDefined();
  });
  it.each(['', 'v1', 'A.b_c-1'])('accepts value %j', (value) => {
    expect(labelValueProblem(value)).toBeUndefined();
  });
  it.each(['-x', 'x-', 'a b', "'x'", '$x', 'a'.repeat(64)])('refuses value %j', (value) => {
    expect(labelValueProblem(value)).toBeDefined();
  });
});

describe('parseLabelSelector', () => {
  it.each([
    ['a=b', [{ key: 'a', operator: 'equals', values: ['b'] }]],
    ['a==b', [{ key: 'a', operator: 'equals', values: ['b'] }]],
    ['a!=b', [{ key: 'a', operator: 'notEquals', values: ['b'] }]],
    ['a=', [{ key: 'a', operator: 'equals', values: [''] }]],
    ['team in (payments, checkout)', [{ key: 'team', operator: 'in', values: ['payments', 'checkout'] }]],
    ['team notin (x)', [{ key: 'team', operator: 'notIn', values: ['x'] }]],
    ['team notin(x)', [{ key: 'team', operator: 'notIn', values: ['x'] }]],
    ['istio.io/rev', [{ key: 'istio.io/rev', operator: 'exists', values: [] }]],
    ['!legacy', [{ key: 'legacy', operator: 'doesNotExist', values: [] }]],
    [
      ' tier = web , env in (prod,staging), !legacy ',
      [
        { key: 'tier', operator: 'equals', values: ['web'] },
        { key: 'env', operator: 'in', values: ['prod', 'staging'] },
        { key: 'legacy', operator: 'doesNotExist', values: [] },
      ],
    ],
  ])('parses %j', (selector, requirements) => {
    expect(parseLabelSelector(selector)).toEqual({ ok: true, requirements });
  });

  it.each([
    ['', 'empty selector matches every namespace'],
    ['   ', 'empty selector matches every namespace'],
    ['a=b,', 'empty requirement'],
    ['a=b,,c', 'empty requirement'],
    ['a in (x', 'missing ")"'],
    ['a in x)', 'unexpected ")"'],
    ['a in ((x))', 'nested parentheses'],
    ['a in ()', 'at least one value'],
    ['a in (x,)', 'must be non-empty'],
    ['a in (,x)', 'must be non-empty'],
    ['a in (x y)', 'expected ","'],
    ['a in x', 'expected "(value, ...)" after in'],
    ['a notin', 'expected "(value, ...)" after notin'],
    ['a > 1', 'operator ">" is not supported'],
    ['a=b=c', 'expected one value after "="'],
    ['a b', 'expected =, ==, !=, in or notin'],
    ['!', 'expected a label key after "!"'],
    ['!a=b', 'takes no operator'],
    ['=b', 'expected a label key first'],
    ['a="b"', 'label value "\\"b\\""'],
    ['a=$(rm)', 'expected one value after "="'],
    ['a=$x', 'label value "$x"'],
    ['a=x;y', 'label value "x;y"'],
    ['a|b', 'label key "a|b"'],
    ['Bad.Prefix/x=y', 'DNS-1123 subdomain'],
  ])('refuses %j: %s', (selector, reason) => {
    const parsed = parseLabelSelector(selector);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.errors.join('\n')).toContain(reason);
  });

  it('reports every bad requirement, naming each', () => {
    const parsed = parseLabelSelector('a=ok, b in (), c=d e');
    expect(parsed).toEqual({
      ok: false,
      errors: ['"b in ()": the set after in must list at least one value', '"c=d e": expected one value after "="'],
    });
  });
});
