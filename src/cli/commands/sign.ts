import { resolve } from 'node:path';
import { CustodyError } from '../../core/errors.js';
import { BUNDLE_LIMITS } from '../../integrity/bundle.js';
import { createKeySigner, KEY_ALGORITHMS, readPrivateKeyFile, serializeBundle, signArtifact, type PrivateKeyInfo } from '../../integrity/index.js';
import { EXIT, parseCommandArgs, type CliIo, type Command } from '../command.js';
import { formatBytes } from '../../report/text.js';
import { HASH_ARG_OPTIONS, HASH_OPTIONS_HELP, hashOptionsFrom, progressBar, warnInteropLimits, writeOutputFile } from './hash.js';
import { escapeForTerminal as e } from '../../core/terminal.js';

const USAGE = `Usage: custody sign PATH --key PRIVATE.pem --signature OUT [options]

Hashes a model or dataset and signs its manifest in the OpenSSF Model Signing (OMS) v1.0 format:
a Sigstore bundle v0.3 holding a DSSE envelope over an in-toto Statement v1 with predicate
https://model_signing/signature/v1.0. The signature file is left out of the manifest when it is
written inside the model directory.

Options:
  --key FILE            Private key, PEM (PKCS#8 as \`openssl\` or \`custody keygen\` write it):
                        ECDSA P-256, P-384 or P-521 (the OMS key registry), or Ed25519 with
                        --allow-ed25519
  --allow-ed25519       Sign with an Ed25519 key. It is not in the OMS key registry: model_signing
                        and other OMS verifiers refuse such signatures (Custody verifies them)
  --passphrase-env VAR  Read the key's passphrase from environment variable VAR
  --signature FILE      Where to write the bundle (conventionally model.sig)
  --format FORMAT       text | json: what to print about the signature (default: text)
${HASH_OPTIONS_HELP}
  -h, --help            Show this help

Exit codes: 0 signed, 2 the tool could not run (bad key: KEY_INVALID; SYMLINK_REFUSED; …).
`;

export async function readSigningKey(command: string, io: CliIo, keyPath: string | undefined, passphraseEnv: string | undefined): Promise<PrivateKeyInfo> {
  if (keyPath === undefined) throw new CustodyError('USAGE', `${command}: --key PRIVATE.pem is required (create one with \`custody keygen\`)`);
  let passphrase: string | undefined;
  if (passphraseEnv !== undefined) {
    passphrase = io.env[passphraseEnv];
    if (passphrase === undefined) throw new CustodyError('USAGE', `${command}: environment variable ${passphraseEnv} (--passphrase-env) is not set`);
  }
  return readPrivateKeyFile(resolve(io.cwd, keyPath), passphrase);
}

export const signCommand: Command = {
  name: 'sign',
  summary: 'Sign a model or dataset: an OMS v1.0 signature (Sigstore bundle, DSSE, in-toto)',
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs('sign', args, {
      ...HASH_ARG_OPTIONS,
      key: { type: 'string' },
      'passphrase-env': { type: 'string' },
      signature: { type: 'string' },
      format: { type: 'string', default: 'text' },
      'allow-ed25519': { type: 'boolean', default: false },
    });
    if (positionals.length !== 1) throw new CustodyError('USAGE', 'sign: give exactly one PATH to sign (see `custody sign --help`)');
    if (values.signature === undefined) throw new CustodyError('USAGE', 'sign: --signature OUT is required (where to write the bundle, e.g. model.sig)');
    if (values.format !== 'text' && values.format !== 'json') throw new CustodyError('USAGE', `sign: --format must be text or json, found "${values.format}"`);
    const hashOptions = hashOptionsFrom('sign', values);
    const key = await readSigningKey('sign', io, values.key, values['passphrase-env']);
    const signaturePath = resolve(io.cwd, values.signature);
    const progress = progressBar(io, 'hashing');
    let result;
    try {
      result = await signArtifact(resolve(io.cwd, positionals[0] ?? ''), {
        ...hashOptions,
        signer: createKeySigner(key),
        signaturePath,
        allowNonOmsKey: values['allow-ed25519'],
        ...(progress.onProgress ? { onProgress: progress.onProgress } : {}),
      });
    } finally {
      progress.done();
    }
    const bundleText = serializeBundle(result.bundle);
    const bundleBytes = Buffer.byteLength(bundleText, 'utf8');
    if (bundleBytes > BUNDLE_LIMITS.maxBytes) {
      // Never write a signature that verify would refuse to read.
      throw new CustodyError('INPUT_LIMIT', `sign: the signature would be ${bundleBytes} bytes, over the ${BUNDLE_LIMITS.maxBytes}-byte limit that verify reads; sign with a larger --shard-size, or sign parts of the tree separately`, {
        details: { limit: 'bytes', size: bundleBytes, max: BUNDLE_LIMITS.maxBytes },
      });
    }
    await writeOutputFile('sign', io, values.signature, bundleText);
    const { manifest } = result;
    warnInteropLimits('sign', io, manifest, { shardSize: hashOptions.shardSize, keyAlgorithm: KEY_ALGORITHMS[key.type] });
    if (values.format === 'json') {
      io.stdout.write(
        `${JSON.stringify({ signature: signaturePath, name: manifest.name, digest: { sha256: manifest.rootDigest }, keyHint: key.publicKey.hint, keyType: key.type, files: manifest.files, bytes: manifest.bytes, resources: manifest.resources.length }, null, 2)}\n`,
      );
    } else {
      io.stdout.write(`signed ${e(manifest.name)}: ${manifest.files} files, ${formatBytes(manifest.bytes)}, sha256:${manifest.rootDigest}\n  key ${key.type} ${key.publicKey.hint}\n  signature ${e(signaturePath)}\n`);
    }
    return EXIT.ok;
  },
};
