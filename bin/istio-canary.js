#!/usr/bin/env node
// Runs the istio-canary CLI. In a checkout (cli/main.ts is there) it runs the TypeScript
// sources through tsx, so a dist/ left behind by `npm pack` is never run stale; an
// installed package ships only the compiled dist/ and never needs tsx.
import { existsSync } from 'node:fs';

const source = new URL('../cli/main.ts', import.meta.url);

if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import(new URL('../dist/cli/main.js', import.meta.url).href);
}
