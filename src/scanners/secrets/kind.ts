import type { TextKind } from './types.js';

const BY_EXTENSION: Readonly<Record<string, TextKind>> = {
  py: 'code', pyw: 'code', pyi: 'code', ipy: 'code', js: 'code', mjs: 'code', cjs: 'code', jsx: 'code', ts: 'code', mts: 'code',
  cts: 'code', tsx: 'code', go: 'code', java: 'code', kt: 'code', kts: 'code', scala: 'code', sc: 'code', rb: 'code', php: 'code',
  cs: 'code', rs: 'code', r: 'code', jl: 'code', swift: 'code', c: 'code', cc: 'code', cpp: 'code', cxx: 'code', h: 'code',
  hpp: 'code', m: 'code', lua: 'code', pl: 'code', groovy: 'code', gradle: 'code', dart: 'code', ex: 'code', exs: 'code',
  clj: 'code', hs: 'code', sql: 'code', tf: 'code', hcl: 'code', vue: 'code', svelte: 'code',
  sh: 'shell', bash: 'shell', zsh: 'shell', ksh: 'shell', fish: 'shell', ps1: 'shell', psm1: 'shell', bat: 'shell', cmd: 'shell',
  mk: 'shell', envrc: 'shell',
  env: 'env',
  yml: 'yaml', yaml: 'yaml',
  json: 'json', jsonc: 'json', json5: 'json', jsonl: 'json', ndjson: 'json', ipynb: 'json', geojson: 'json',
  ini: 'ini', cfg: 'ini', conf: 'ini', config: 'ini', properties: 'ini', npmrc: 'ini', pypirc: 'ini', gitconfig: 'ini', pgpass: 'ini',
  toml: 'toml',
  netrc: 'netrc',
};

const BY_NAME: Readonly<Record<string, TextKind>> = {
  dockerfile: 'dockerfile', containerfile: 'dockerfile', makefile: 'shell', gnumakefile: 'shell', procfile: 'shell', jenkinsfile: 'code',
  '.env': 'env', '.envrc': 'shell', '.netrc': 'netrc', _netrc: 'netrc', credentials: 'ini', '.npmrc': 'ini', '.pypirc': 'ini',
  '.gitconfig': 'ini', '.pgpass': 'ini', '.bashrc': 'shell', '.zshrc': 'shell', '.profile': 'shell', '.bash_profile': 'shell',
  'pip.conf': 'ini', 'pip.ini': 'ini', '.s3cfg': 'ini', '.boto': 'ini', '.dockercfg': 'json',
};

/** The base name of a display path or member path (`a/b.zip!c/d.env` → `d.env`), lowercase. */
export function baseNameOf(path: string): string {
  const last = path.slice(path.lastIndexOf('!') + 1);
  return last.slice(Math.max(last.lastIndexOf('/'), last.lastIndexOf('\\')) + 1).toLowerCase();
}

/** Decides how a file is read from its name: `.env.production` is env, `Dockerfile.gpu` is a Dockerfile. */
export function textKindOf(baseName: string): TextKind {
  const name = baseName.toLowerCase();
  const exact = BY_NAME[name];
  if (exact !== undefined) return exact;
  if (name.startsWith('.env.') || name.endsWith('.env') || name === 'env') return 'env';
  if (name.startsWith('dockerfile') || name.endsWith('.dockerfile') || name.startsWith('containerfile')) return 'dockerfile';
  const dot = name.lastIndexOf('.');
  if (dot >= 0) {
    const byExt = BY_EXTENSION[name.slice(dot + 1)];
    if (byExt !== undefined) return byExt;
  }
  return 'text';
}

export function isNotebookName(baseName: string): boolean {
  return baseName.endsWith('.ipynb');
}
