import { resolve } from 'node:path';
import { CustodyError, isCustodyError } from '../../core/errors.js';
import { describeDiff, readPublicKeyFile, readTrustedKeys, verifyArtifact, type ManifestDiff, type PublicKeyInfo } from '../../integrity/index.js';
import { EXIT, parseCommandArgs, type CliIo, type Command } from '../command.js';
import { formatBytes } from '../../report/text.js';
import { parseJobs, progressBar, VERIFICATION_FAILURES } from './hash.js';
import { escapeForTerminal as e } from '../../core/terminal.js';
import { describeErrorMessage } from '../../scanners/redact-text.js';

const USAGE = `Usage: custody verify PATH --signature FILE (--key PUBLIC.pem | --trusted-keys DIR) [options]

Verifies a model or dataset against an OMS v1.0 signature (as written by \`custody sign\` or the
model_signing tool): the bundle, the signer's key, the DSSE signature, then every file re-hashed
with the settings recorded in the signature. Reports exactly what differs: modified, added,
removed and renamed files.

Options:
  --signature FILE      The signature bundle
  --key FILE            Trusted public key, PEM (SPKI); repeatable
  --trusted-keys DIR    Trust every *.pem / *.pub public key in DIR
  --ignore PATH         Also leave out PATH (relative to the model root); repeatable
  --format FORMAT       text | json (default: text)
  --jobs N              Threads hashing at once, this one included (default: the cores, at most
                        4; 0 or 1: this thread alone)
  -h, --help            Show this help

Exit codes: 0 verified; 1 verification failed (DIGEST_MISMATCH, MANIFEST_MISMATCH, SIGNATURE_INVALID,
KEY_UNTRUSTED, BUNDLE_INVALID, SYMLINK_REFUSED); 2 the tool could not run (a missing or unreadable
signature file, a bad key file: KEY_INVALID, a bundle format this build does not support).
`;

/** Reads --key files and/or a --trusted-keys directory. */
export async function readVerificationKeys(command: string, io: CliIo, keys: readonly string[] | undefined, dir: string | undefined): Promise<PublicKeyInfo[]> {
  const trusted: PublicKeyInfo[] = [];
  for (const file of keys ?? []) trusted.push(await readPublicKeyFile(resolve(io.cwd, file)));
  if (dir !== undefined) trusted.push(...(await readTrustedKeys(resolve(io.cwd, dir))));
  if (trusted.length === 0) throw new CustodyError('USAGE', `${command}: give the signer's public key with --key PUBLIC.pem or a directory of trusted keys with --trusted-keys DIR`);
  return trusted;
}

/** Prints a verification failure and returns exit 1, or rethrows a tool error (exit 2 in main). */
export function reportFailure(command: string, io: CliIo, error: unknown, format: string): number {
  if (!isCustodyError(error) || !VERIFICATION_FAILURES.has(error.code)) throw error;
  if (format === 'json') {
    io.stdout.write(`${JSON.stringify({ verified: false, error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } }, null, 2)}\n`);
  } else {
    const diff = error.details as Partial<ManifestDiff> | undefined;
    const lines = diff && Array.isArray(diff.modified) ? describeDiff(diff as ManifestDiff) : [];
    const [headline = ''] = error.message.split('\n');
    io.stderr.write(`custody ${command}: FAILED ${error.code}: ${describeErrorMessage(lines.length > 0 ? headline : error.message)}\n${lines.map((l) => `  ${e(l)}\n`).join('')}`);
  }
  return EXIT.findings;
}

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'Verify a model or dataset against an OMS signature; report what differs',
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs('verify', args, {
      signature: { type: 'string' },
      key: { type: 'string', multiple: true },
      'trusted-keys': { type: 'string' },
      ignore: { type: 'string', multiple: true },
      format: { type: 'string', default: 'text' },
      jobs: { type: 'string' },
    });
    if (positionals.length !== 1) throw new CustodyError('USAGE', 'verify: give exactly one PATH to verify (see `custody verify --help`)');
    if (values.signature === undefined) throw new CustodyError('USAGE', 'verify: --signature FILE is required');
    if (values.format !== 'text' && values.format !== 'json') throw new CustodyError('USAGE', `verify: --format must be text or json, found "${values.format}"`);
    const jobs = parseJobs('verify', values.jobs);
    const publicKeys = await readVerificationKeys('verify', io, values.key, values['trusted-keys']);
    const progress = progressBar(io, 'verifying');
    let proof;
    try {
      proof = await verifyArtifact(resolve(io.cwd, positionals[0] ?? ''), {
        signaturePath: resolve(io.cwd, values.signature),
        publicKeys,
        ...(values.ignore ? { ignorePaths: values.ignore } : {}),
        ...(jobs === undefined ? {} : { jobs }),
        ...(progress.onProgress ? { onProgress: progress.onProgress } : {}),
      });
    } catch (error) {
      progress.done();
      return reportFailure('verify', io, error, values.format);
    }
    progress.done();
    if (values.format === 'json') io.stdout.write(`${JSON.stringify({ verified: true, ...proof }, null, 2)}\n`);
    else {
      io.stdout.write(
        `verified ${e(positionals[0] ?? '')}: ${proof.files} files, ${formatBytes(proof.bytes)}, sha256:${proof.digest.sha256}\n` +
          `  signer ${proof.signer.method} ${proof.signer.algorithm} ${e(proof.signer.keyHint)}${proof.signer.keySource ? ` (${e(proof.signer.keySource)})` : ''}\n` +
          `  manifest ${proof.serialization.method}/${proof.serialization.hashType}, ${proof.resources} resources, subject "${e(proof.name)}"\n` +
          `  verified at ${proof.verifiedAt}\n`,
      );
    }
    return EXIT.ok;
  },
};
