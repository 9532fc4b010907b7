// Kubernetes and Istio naming rules. Every name in a plan reaches a label selector, a PromQL
// query or an istioctl argument, so these checks are also what keeps quotes, braces, `|`, `;`
// and `$` out of them. Pure: the workflow sandbox may import this file.

/** RFC 1123 label: lowercase alphanumerics and '-', alphanumeric at both ends, 1-63 characters. */
export const DNS1123_LABEL_PATTERN = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

export const DNS1123_LABEL_RULE =
  "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";

/** Istio names the revision's Service `istiod-<revision>`, itself a 63-character label. */
export const MAX_REVISION_LENGTH = 63 - 'istiod-'.length;

const DNS1123_SUBDOMAIN_PATTERN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME_PATTERN = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export function isDns1123Label(name: string): boolean {
  return DNS1123_LABEL_PATTERN.test(name);
}

/** Why `revision` cannot name an Istio revision, or undefined when it can. */
export function revisionProblem(revision: string): string | undefined {
  if (revision.includes('.')) {
    return `must not contain '.' (Istio revisions are DNS-1123 labels); did you mean ${deriveRevision(revision)}?`;
  }
  if (!isDns1123Label(revision)) return DNS1123_LABEL_RULE;
  if (revision.length > MAX_REVISION_LENGTH) return `must be at most ${MAX_REVISION_LENGTH} characters (istiod-<revision> is a Service name)`;
  return undefined;
}

/** Semantic version without build metadata: 1.30.3, 1.30.0-beta.1. */
export const VERSION_PATTERN = /^(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/** The revision Istio users conventionally give a version: "1.30.3" -> "1-30-3". */
export function deriveRevision(version: string): string {
  return version.toLowerCase().replaceAll('.', '-');
}

/** Why `key` is not a Kubernetes label key (`[prefix/]name`), or undefined when it is. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN_PATTERN.test(prefix))) {
    return `label key prefix ${JSON.stringify(prefix)} must be a DNS-1123 subdomain (lowercase, at most 253 characters)`;
  }
  if (!LABEL_NAME_PATTERN.test(name)) {
    return `label key ${JSON.stringify(key)} must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Why `value` is not a Kubernetes label value, or undefined when it is (the empty value is valid). */
export function labelValueProblem(value: string): string | undefined {
  if (value === '' || LABEL_NAME_PATTERN.test(value)) return undefined;
  return `label value ${JSON.stringify(value)} must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
}

export type LabelOperator = 'exists' | 'doesNotExist' | 'equals' | 'notEquals' | 'in' | 'notIn';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

export type LabelSelectorParse = { ok: true; requirements: LabelRequirement[] } | { ok: false; errors: string[] };

/**
 * Checks Kubernetes equality- and set-based selector syntax (`a=b`, `a==b`, `a!=b`, `a in (x, y)`,
 * `a notin (x)`, `a`, `!a`, comma-separated). Stricter than the API server in two places, both
 * typos in practice: the empty selector (which matches everything) and empty values inside a set.
 */
export function parseLabelSelector(selector: string): LabelSelectorParse {
  if (selector.trim() === '') return { ok: false, errors: ['is empty, and an empty selector matches every namespace'] };
  const split = splitRequirements(selector);
  if (typeof split === 'string') return { ok: false, errors: [split] };
  const requirements: LabelRequirement[] = [];
  const errors: string[] = [];
  for (const text of split) {
    const parsed = parseRequirement(text.trim());
    if (typeof parsed === 'string') errors.push(text.trim() === '' ? parsed : `"${text.trim()}": ${parsed}`);
    else requirements.push(parsed);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, requirements };
}

/** Splits at the commas that separate requirements, not the ones inside `in (...)`. */
function splitRequirements(selector: string): string[] | string {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const char = selector[i];
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (depth < 0) return `unbalanced parentheses: unexpected ")" at character ${i + 1}`;
    if (depth > 1) return `nested parentheses at character ${i + 1}`;
    if (char === ',' && depth === 0) {
      parts.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) return 'unbalanced parentheses: missing ")"';
  parts.push(selector.slice(start));
  return parts;
}

type Token = { kind: 'word'; text: string } | { kind: 'symbol'; text: '!' | '=' | '==' | '!=' | '(' | ')' | ',' };

function tokenize(text: string): Token[] | string {
  const tokens: Token[] = [];
  const pattern = /\s*(?:(==|!=|[!=(),])|([<>])|([^\s!=(),<>]+))/gy;
  let match: RegExpExecArray | null;
  while (pattern.lastIndex < text.length && (match = pattern.exec(text)) !== null) {
    const [, symbol, comparison, word] = match;
    if (comparison !== undefined) return `operator "${comparison}" is not supported (use =, !=, in or notin)`;
    if (symbol !== undefined) tokens.push({ kind: 'symbol', text: symbol as '!' });
    else if (word !== undefined) tokens.push({ kind: 'word', text: word });
  }
  return tokens;
}

function parseRequirement(text: string): LabelRequirement | string {
  if (text === '') return 'empty requirement between commas';
  const tokens = tokenize(text);
  if (typeof tokens === 'string') return tokens;
  const [first, second, ...rest] = tokens;

  if (first?.kind === 'symbol' && first.text === '!') {
    if (second?.kind !== 'word') return 'expected a label key after "!"';
    if (rest.length > 0) return '"!key" takes no operator or value';
    return withKey(second.text, 'doesNotExist', []);
  }
  if (first?.kind !== 'word') return 'expected a label key first';
  if (second === undefined) return withKey(first.text, 'exists', []);

  if (second.kind === 'symbol' && (second.text === '=' || second.text === '==' || second.text === '!=')) {
    if (rest.length > 1 || (rest[0] !== undefined && rest[0].kind !== 'word')) return `expected one value after "${second.text}"`;
    return withKey(first.text, second.text === '!=' ? 'notEquals' : 'equals', [rest[0]?.text ?? '']);
  }
  if (second.kind === 'word' && (second.text === 'in' || second.text === 'notin')) {
    const values = parseValueSet(second.text, rest);
    if (typeof values === 'string') return values;
    return withKey(first.text, second.text === 'in' ? 'in' : 'notIn', values);
  }
  return `expected =, ==, !=, in or notin after "${first.text}", found "${second.text}"`;
}

function parseValueSet(operator: string, tokens: Token[]): string[] | string {
  const open = tokens[0];
  const close = tokens[tokens.length - 1];
  if (open?.text !== '(' || close?.text !== ')' || tokens.length < 2) return `expected "(value, ...)" after ${operator}`;
  const values: string[] = [];
  const inner = tokens.slice(1, -1);
  for (let i = 0; i < inner.length; i += 2) {
    const value = inner[i];
    const separator = inner[i + 1];
    if (value?.kind !== 'word') return 'every value in the set must be non-empty';
    if (separator !== undefined && separator.text !== ',') return `expected "," between values, found "${separator.text}"`;
    if (separator !== undefined && i + 2 >= inner.length) return 'every value in the set must be non-empty';
    values.push(value.text);
  }
  if (values.length === 0) return `the set after ${operator} must list at least one value`;
  return values;
}

function withKey(key: string, operator: LabelOperator, values: string[]): LabelRequirement | string {
  const problem = labelKeyProblem(key) ?? values.map(labelValueProblem).find((p) => p !== undefined);
  return problem ?? { key, operator, values };
}
