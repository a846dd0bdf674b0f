import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread running the module `name` next to `base` (pass `import.meta.url`).
 * Built, both are .js. Under tsx (tests, benchmarks) they are .ts, and tsx registers its loader in
 * the main thread only, so the worker first registers it, then imports the TypeScript module.
 */
export function startWorker(base: string, name: string, options: WorkerOptions = {}): Worker {
  // The worker needs no flag of ours, and some (--input-type, --eval) would break it.
  if (!base.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, base), { execArgv: [], ...options });
  const api = import.meta.resolve('tsx/esm/api');
  const module = new URL(`./${name}.ts`, base).href;
  const source = `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(module)}); })`;
  return new Worker(source, { execArgv: [], ...options, eval: true });
}
