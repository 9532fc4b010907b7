// The JSON schema of the UpgradePlan document, for editors and `istio-canary schema`. Generated
// from the zod schema so the two never disagree; it describes the input, so defaulted fields are
// optional. Cross-field rules (unique namespaces, window >= interval, ...) are not expressible
// here and are only enforced by parsePlan.

import { z } from 'zod';
import { planSchema } from './schema.js';

export function planJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(planSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'istio-canary UpgradePlan',
  };
}
