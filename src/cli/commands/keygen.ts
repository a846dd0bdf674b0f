import { lstat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CustodyError } from '../../core/errors.js';
import { writeFileSafely } from '../../core/safe-fs.js';
import { generateKeyPair, isKeyType, KEY_TYPES } from '../../integrity/index.js';
import { EXIT, parseCommandArgs, type CliIo, type Command } from '../command.js';

const USAGE = `Usage: custody keygen [--type TYPE] [--out PREFIX] [--force]

Generates a signing key pair in standard PEM: PREFIX.pem (PKCS#8 private key, file mode 0600) and
PREFIX.pub.pem (SubjectPublicKeyInfo public key), the forms \`openssl\` reads and writes. Prints the
key hint (SHA-256 of the public PEM) that signatures carry to name the key.

Options:
  --type TYPE     ${KEY_TYPES.join(' | ')} (default: p256, ECDSA P-256 with SHA-256).
                  ed25519 is not in the OMS key registry: model signatures made with it need
                  \`custody sign --allow-ed25519\`, and other OMS verifiers refuse them
  --out PREFIX    Path prefix of the two files (default: custody-signing)
  --force         Overwrite existing files
  -h, --help      Show this help

Keep the private key secret (a secrets manager or CI secret); share the .pub.pem with verifiers.
`;

/**
 * Writes a key file whole or not at all, with exactly `mode` (also over an existing file), never
 * through a symbolic link planted at its name; without `force` an existing file is refused.
 */
async function writeKeyFile(path: string, text: string, mode: number, force: boolean): Promise<void> {
  try {
    await writeFileSafely(path, text, { mode, forceMode: true, overwrite: force });
  } catch (error) {
    if (error instanceof CustodyError) throw new CustodyError(error.code, `keygen: ${error.message}`, { cause: error, ...(error.details ? { details: error.details } : {}) });
    throw error;
  }
}

export const keygenCommand: Command = {
  name: 'keygen',
  summary: 'Generate a signing key pair (ECDSA P-256 default, P-384, P-521, Ed25519) as PEM',
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs('keygen', args, {
      type: { type: 'string', default: 'p256' },
      out: { type: 'string', default: 'custody-signing' },
      force: { type: 'boolean', default: false },
    });
    if (positionals.length > 0) throw new CustodyError('USAGE', `keygen: unexpected argument "${positionals[0] ?? ''}" (see \`custody keygen --help\`)`);
    const type = values.type.toLowerCase().replace(/-/g, '');
    if (!isKeyType(type)) throw new CustodyError('USAGE', `keygen: --type must be one of ${KEY_TYPES.join(', ')}, found "${values.type}"`);
    const pair = generateKeyPair(type);
    const privatePath = resolve(io.cwd, `${values.out}.pem`);
    const publicPath = resolve(io.cwd, `${values.out}.pub.pem`);
    if (!values.force) {
      // Refuse before writing either file, so a half-written pair never replaces a good one.
      // lstat, not open: a dangling link counts as taken, and a FIFO there cannot block us.
      for (const path of [privatePath, publicPath]) {
        const exists = await lstat(path).then(
          () => true,
          () => false,
        );
        if (exists) throw new CustodyError('USAGE', `keygen: ${path} exists; pass --force to overwrite it or choose another --out`);
      }
    }
    await writeKeyFile(privatePath, pair.privateKeyPem, 0o600, values.force);
    await writeKeyFile(publicPath, pair.publicKeyPem, 0o644, values.force);
    if (type === 'ed25519') {
      io.stderr.write('custody keygen: warning: Ed25519 is not in the OMS key registry: `custody sign` needs --allow-ed25519 to use it, and model_signing and other OMS verifiers refuse its model signatures (attestations are fine)\n');
    }
    io.stdout.write(`private key: ${privatePath} (keep secret)\npublic key:  ${publicPath}\ntype:        ${type}\nkey hint:    ${pair.hint}\n`);
    return EXIT.ok;
  },
};
