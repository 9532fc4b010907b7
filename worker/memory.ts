// Process settings that keep the worker's resident memory small. They only take
// effect when node starts (V8 sizes each isolate's heap when it creates it, and
// glibc reads its tunables once), so whatever starts the worker passes them in
// its environment: `startLabWorker({ compiledDir })` does, and an image or a
// Deployment should set the same two variables.
//
// Measured with bench/worker-memory.ts (compiled worker, prebuilt bundle, 200
// workflows held at an activity, 2-core machine): Node's defaults sit at 257-272
// MB idle, 303-344 MB loaded, with peaks of 373-466 MB while the 200 start;
// with the first two settings 196-198 MB idle, 261-268 MB loaded, peaks
// 268-295 MB (3 runs); with all three 184-186 MB idle, 236-261 MB loaded, peaks
// 249-277 MB (2 runs); CPU under load within the runs' noise (8-11 s). Run from
// source through tsx, the same worker needs ~50 MB more.
//
// - --max-semi-space-size=1: Node 24 lets V8's young generation grow to tens of
//   MB in each isolate (the main thread and the SDK's workflow thread) and keeps
//   it committed; 1 MB semi-spaces cost more frequent scavenges, which this
//   mostly idle worker can afford.
// - MALLOC_ARENA_MAX=2: glibc otherwise gives each allocating thread (the Temporal
//   core's Tokio threads, V8's compiler threads, libuv's pool) an arena of its
//   own and rarely returns their free pages.
// - MALLOC_TRIM_THRESHOLD_=1048576: glibc's threshold for handing free memory
//   back otherwise rises with each large free (up to 64 MB), so a burst (a wave
//   of workflows starting) leaves its pages resident.
export const WORKER_MEMORY_ENV = {
  NODE_OPTIONS: '--max-semi-space-size=1',
  MALLOC_ARENA_MAX: '2',
  MALLOC_TRIM_THRESHOLD_: '1048576',
} as const;

/** `env` with WORKER_MEMORY_ENV added; settings already there are kept (NODE_OPTIONS's win, coming last). */
export function withWorkerMemoryEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const nodeOptions = [WORKER_MEMORY_ENV.NODE_OPTIONS, env.NODE_OPTIONS].filter(Boolean).join(' ');
  return { ...WORKER_MEMORY_ENV, ...env, NODE_OPTIONS: nodeOptions };
}
