// Field paths of a JSON Schema and of a document, in one notation (`spec.waves[].name`,
// `*` for a map's keys), so tests can compare a schema with an example plan or a document.
// Only what zod's toJSONSchema emits is handled: properties, items, additionalProperties
// schemas, oneOf/anyOf/allOf and local `#/$defs/...` references.

type Schema = Record<string, unknown>;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function join(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}.${key}`;
}

/** Calls visit(path, node) for every schema node reachable from the root, refs resolved. */
function walkSchema(root: Schema, visit: (path: string, node: Schema) => void): void {
  const resolving = new Set<string>();
  const walk = (path: string, node: unknown): void => {
    if (!isObject(node)) return;
    const ref = node['$ref'];
    if (typeof ref === 'string') {
      if (resolving.has(ref)) return; // a recursive definition adds no new field names
      const target = resolveRef(root, ref);
      resolving.add(ref);
      walk(path, target);
      resolving.delete(ref);
    }
    visit(path, node);
    const properties = node['properties'];
    if (isObject(properties)) for (const [key, child] of Object.entries(properties)) walk(join(path, key), child);
    if (isObject(node['additionalProperties'])) walk(join(path, '*'), node['additionalProperties']);
    if (node['items'] !== undefined) walk(`${path}[]`, node['items']);
    for (const keyword of ['oneOf', 'anyOf', 'allOf']) {
      const options = node[keyword];
      if (Array.isArray(options)) for (const option of options) walk(path, option);
    }
  };
  walk('', root);
}

function resolveRef(root: Schema, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported, got ${ref}`);
  let node: unknown = root;
  for (const part of ref.slice(2).split('/')) node = isObject(node) ? node[part] : undefined;
  if (node === undefined) throw new Error(`unresolved $ref ${ref}`);
  return node;
}

/** Every field path the schema declares (objects and leaves), sorted and unique. */
export function schemaFieldPaths(schema: Schema): string[] {
  const paths = new Set<string>();
  walkSchema(schema, (path, node) => {
    if (isObject(node['properties'])) for (const key of Object.keys(node['properties'])) paths.add(join(path, key));
  });
  return [...paths].sort();
}

/** Paths of object schemas that accept fields they do not declare (a typo would pass). */
export function openObjectPaths(schema: Schema): string[] {
  const open = new Set<string>();
  walkSchema(schema, (path, node) => {
    if (isObject(node['properties']) && node['additionalProperties'] !== false) open.add(path || '(document)');
  });
  return [...open].sort();
}

/** Every field path present in a parsed document, in the schema's notation. */
export function documentFieldPaths(value: unknown, prefix = ''): string[] {
  const paths = new Set<string>();
  if (Array.isArray(value)) {
    for (const item of value) for (const path of documentFieldPaths(item, `${prefix}[]`)) paths.add(path);
  } else if (isObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      paths.add(join(prefix, key));
      for (const path of documentFieldPaths(child, join(prefix, key))) paths.add(path);
    }
  }
  return [...paths].sort();
}
