import { durationProblem, formatDuration, parseDuration } from '../../plan/duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['10m', 600_000],
    ['24h', 86_400_000],
    ['1h30m', 5_400_000],
    ['1m30s500ms', 90_500],
    ['1.5s', 1_500],
    ['1.1s', 1_100],
    ['0.5h', 1_800_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['', 'must not be empty'],
    ['10', 'needs a unit'],
    ['1.5', 'needs a unit'],
    ['-5m', 'must not be negative'],
    ['0s', 'must be greater than zero'],
    ['0m0s', 'must be greater than zero'],
    ['2d', 'unknown unit "d"'],
    ['10M', 'unknown unit "M"'],
    ['10 m', 'is not a duration'],
    [' 10m', 'is not a duration'],
    ['m', 'is not a duration'],
    ['1.s', 'is not a duration'],
    ['+5m', 'is not a duration'],
    ['0.0001s', 'whole number of milliseconds'],
    ['99999999999999999999h', 'too large'],
  ])('refuses %j: %s', (text, reason) => {
    expect(durationProblem(text)).toContain(reason);
    expect(() => parseDuration(text)).toThrow(reason);
  });

  it('accepts zero only when the caller allows it', () => {
    expect(parseDuration('0s', { allowZero: true })).toBe(0);
    expect(durationProblem('0s', { allowZero: true })).toBeUndefined();
    expect(durationProblem('-1s', { allowZero: true })).toContain('negative');
  });
});

describe('formatDuration', () => {
  it.each([
    [600_000, '10m'],
    [5_400_000, '1h30m'],
    [86_400_000, '24h'],
    [500, '500ms'],
    [90_500, '1m30s500ms'],
    [0, '0s'],
    [-30_000, '-30s'],
    [1_499.6, '1s500ms'],
  ])('formats %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through parseDuration', () => {
    for (const ms of [1, 999, 1_000, 61_001, 3_600_000, 93_784_005]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });

  it('refuses a non-finite number', () => {
    expect(() => formatDuration(Number.NaN)).toThrow(RangeError);
  });
});
