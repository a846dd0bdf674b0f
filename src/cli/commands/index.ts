import type { Command } from '../command.js';

/** A command known by its name and summary; its module is loaded when it runs. */
export interface CommandEntry {
  readonly name: string;
  /** One line for `custody --help` (the same as the loaded command's; a test keeps them equal). */
  readonly summary: string;
  load(): Promise<Command>;
}

/**
 * Every command, sorted by name. Modules load on first use, so `custody hash` does not load every
 * scanner first (about 0.3 s of CPU at start-up, measured in bench/hash.bench.ts).
 */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'attest', summary: 'Make or verify signed attestations: SLSA provenance of a training run, scan results', load: async () => (await import('./attest.js')).attestCommand },
  { name: 'hash', summary: 'Hash a model or dataset into a manifest (SHA-256, BLAKE2b or BLAKE3, per file or shard)', load: async () => (await import('./hash.js')).hashCommand },
  { name: 'keygen', summary: 'Generate a signing key pair (ECDSA P-256 default, P-384, P-521, Ed25519) as PEM', load: async () => (await import('./keygen.js')).keygenCommand },
  { name: 'notebook', summary: 'Strip outputs and execution metadata from notebooks (refusing cells with secrets)', load: async () => (await import('./notebook.js')).notebookCommand },
  { name: 'rules', summary: 'List every rule with its id, severity and title', load: async () => (await import('./rules.js')).rulesCommand },
  { name: 'scan', summary: 'Scan model files, secrets and configs for risks', load: async () => (await import('./scan.js')).scanCommand },
  { name: 'sign', summary: 'Sign a model or dataset: an OMS v1.0 signature (Sigstore bundle, DSSE, in-toto)', load: async () => (await import('./sign.js')).signCommand },
  { name: 'verify', summary: 'Verify a model or dataset against an OMS signature; report what differs', load: async () => (await import('./verify.js')).verifyCommand },
];
