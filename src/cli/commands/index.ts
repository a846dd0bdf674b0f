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
  { name: 'account', summary: 'Create or list registry accounts (users and service accounts)', load: async () => (await import('./identity.js')).accountCommand },
  { name: 'approve', summary: 'Approve a model version for a stage (two-person rule; signed, logged)', load: async () => (await import('./governance.js')).approveCommand },
  { name: 'attest', summary: 'Make or verify signed attestations: SLSA provenance of a training run, evaluation metrics, scan results, data checks', load: async () => (await import('./attest.js')).attestCommand },
  { name: 'audit', summary: 'Work with the registry audit log: export it, query it, verify an export offline', load: async () => (await import('./audit.js')).auditCommand },
  { name: 'data', summary: 'Fingerprint, profile and check training-data versions (poisoning, label flips, drift)', load: async () => (await import('./data.js')).dataCommand },
  { name: 'datasets', summary: 'Browse the datasets of a registry', load: async () => (await import('./artifacts.js')).datasetsCommand },
  { name: 'grant', summary: 'Give an account a role in a registry project', load: async () => (await import('./identity.js')).grantCommand },
  { name: 'hash', summary: 'Hash a model or dataset into a manifest (SHA-256, BLAKE2b or BLAKE3, per file or shard)', load: async () => (await import('./hash.js')).hashCommand },
  { name: 'impact', summary: 'Blast radius: every version downstream of a dataset, key, builder or token, and its stage', load: async () => (await import('./governance.js')).impactCommand },
  { name: 'keygen', summary: 'Generate a signing key pair (ECDSA P-256 default, P-384, P-521, Ed25519) as PEM', load: async () => (await import('./keygen.js')).keygenCommand },
  { name: 'lineage', summary: 'Show what a version was made from (datasets, code, builder, keys, tokens) as text, JSON, Mermaid or DOT', load: async () => (await import('./governance.js')).lineageCommand },
  { name: 'login', summary: 'Log in to a registry with an account and password; save the token', load: async () => (await import('./identity.js')).loginCommand },
  { name: 'models', summary: 'Browse the models of a registry', load: async () => (await import('./artifacts.js')).modelsCommand },
  { name: 'notebook', summary: 'Strip outputs and execution metadata from notebooks (refusing cells with secrets)', load: async () => (await import('./notebook.js')).notebookCommand },
  { name: 'policy', summary: 'Show, propose, approve and test promotion policies', load: async () => (await import('./governance.js')).policyCommand },
  { name: 'project', summary: 'Create, list and show registry projects; trust signing keys', load: async () => (await import('./identity.js')).projectCommand },
  { name: 'promote', summary: 'Promote a model version to a stage or alias, if its policy is met (prints every requirement)', load: async () => (await import('./governance.js')).promoteCommand },
  { name: 'pull', summary: 'Pull a version from a registry, verified before it lands', load: async () => (await import('./artifacts.js')).pullCommand },
  { name: 'push', summary: 'Push a model or dataset version to a registry (prints its id)', load: async () => (await import('./artifacts.js')).pushCommand },
  { name: 'registry', summary: 'Run the model and dataset registry (serve), or mint a recovery admin token', load: async () => (await import('./registry.js')).registryCommand },
  { name: 'reject', summary: 'Reject a model version for a stage (blocks its promotion; signed, logged)', load: async () => (await import('./governance.js')).rejectCommand },
  { name: 'rules', summary: 'List every rule with its id, severity and title', load: async () => (await import('./rules.js')).rulesCommand },
  { name: 'scan', summary: 'Scan model files, secrets and configs for risks', load: async () => (await import('./scan.js')).scanCommand },
  { name: 'sign', summary: 'Sign a model or dataset: an OMS v1.0 signature (Sigstore bundle, DSSE, in-toto)', load: async () => (await import('./sign.js')).signCommand },
  { name: 'token', summary: 'Create, list or revoke registry API tokens; the credential hygiene report; exchange a workload OIDC token', load: async () => (await import('./identity.js')).tokenCommand },
  { name: 'verify', summary: 'Verify a model or dataset against an OMS signature; report what differs', load: async () => (await import('./verify.js')).verifyCommand },
];
