import { resolve } from 'node:path';
import { artifactPath, pullArtifact, pushArtifact, type RemoteVersion, type RemoteVersionDetail } from '../../client/artifacts.js';
import { pullStage } from '../../client/governance.js';
import { CustodyError } from '../../core/errors.js';
import { escapeForTerminal as e } from '../../core/terminal.js';
import { readBundle, type SigstoreBundle } from '../../integrity/bundle.js';
import { KIND_SEGMENTS, type ArtifactKind } from '../../registry/names.js';
import { formatBytes } from '../../report/text.js';
import { EXIT, parseCommandArgs, type CliIo, type Command } from '../command.js';
import { readSigningKey } from './sign.js';
import { readVerificationKeys } from './verify.js';
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, openSession, printJson, runClientCommand } from './registry-client.js';

/** `P/NAME@VERSION` (VERSION: the 64-character root digest; `sha256:` accepted). */
export function parseReference(command: string, text: string, needVersion: boolean): { project: string; name: string; version?: string } {
  const m = /^([^/@]+)\/([^/@]+)(?:@(?:sha256:)?([0-9a-f]{64}))?$/.exec(text);
  if (!m || (needVersion && m[3] === undefined)) {
    throw new CustodyError('USAGE', `${command}: expected PROJECT/NAME${needVersion ? '@VERSION' : '[@VERSION]'} (VERSION is the 64-character id \`custody push\` printed), found "${text.slice(0, 200)}"`);
  }
  return { project: m[1] as string, name: m[2] as string, ...(m[3] === undefined ? {} : { version: m[3] }) };
}

const PUSH_USAGE = `Usage: custody push PATH --project P (--model NAME | --dataset NAME) [--key PRIVATE.pem] [--attestation FILE]...

Pushes a model or dataset (a directory or one file) as a new immutable version: hashes it into an
OMS manifest (signing it when --key is given), sends the manifest, signature and attestations, then
the files the registry does not hold yet (each checked against the manifest on arrival), and
commits. Prints the version id (the manifest's root digest) on standard output alone.

Options:
  --project P            The project
  --model NAME           Push a model version named NAME (or --dataset NAME)
  --dataset NAME
  --key FILE             Sign with this private key (PEM); the project must trust its public key
  --passphrase-env VAR   The key's passphrase is in environment variable VAR
  --attestation FILE     Attach a signed attestation (a Sigstore bundle: SLSA provenance, test
                         results); repeatable
${CLIENT_OPTIONS_HELP}

Exit codes: 0 pushed (or the identical version existed), 1 the registry rejected the content
(DIGEST_MISMATCH: a file changed while pushing) or the log check failed, 2 the tool could not run.
`;

function kindFrom(command: string, model: string | undefined, dataset: string | undefined): { kind: ArtifactKind; name: string } {
  if ((model === undefined) === (dataset === undefined)) throw new CustodyError('USAGE', `${command}: give exactly one of --model NAME or --dataset NAME`);
  return model !== undefined ? { kind: 'model', name: model } : { kind: 'dataset', name: dataset as string };
}

export const pushCommand: Command = {
  name: 'push',
  summary: 'Push a model or dataset version to a registry (prints its id)',
  usage: PUSH_USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs('push', args, {
      ...CLIENT_OPTIONS,
      project: { type: 'string' },
      model: { type: 'string' },
      dataset: { type: 'string' },
      key: { type: 'string' },
      'passphrase-env': { type: 'string' },
      attestation: { type: 'string', multiple: true },
    });
    if (positionals.length !== 1) throw new CustodyError('USAGE', 'push: give exactly one PATH (see `custody push --help`)');
    if (values.project === undefined) throw new CustodyError('USAGE', 'push: --project P is required');
    const { kind, name } = kindFrom('push', values.model, values.dataset);
    const key = values.key === undefined ? undefined : await readSigningKey('push', io, values.key, values['passphrase-env']);
    const attestations: SigstoreBundle[] = [];
    for (const file of values.attestation ?? []) attestations.push(await readBundle(resolve(io.cwd, file)));
    return runClientCommand('push', io, values.format, async () => {
      const { client, json } = await openSession('push', io, values);
      const result = await pushArtifact(client, {
        project: values.project as string,
        kind,
        name,
        path: resolve(io.cwd, positionals[0] ?? ''),
        ...(key ? { key } : {}),
        attestations,
        ...(io.stderrIsTTY ? { onFile: (file: string, size: number) => void io.stderr.write(`  sending ${file} (${formatBytes(size)})\n`) } : {}),
      });
      if (json) printJson(io, { version: result.version, project: values.project, kind, name, existed: result.existed, sent: result.sent, skipped: result.skipped, signed: result.view?.signed ?? null });
      else {
        io.stdout.write(`${result.version}\n`);
        io.stderr.write(result.existed ? `${kind} ${values.project}/${name}@${result.version} already existed (identical content)\n` : `pushed ${kind} ${values.project}/${name}@${result.version}: ${result.sent} file(s) sent, ${result.skipped} already stored${result.view?.signed ? ', signature verified' : ''}\n`);
      }
      return EXIT.ok;
    });
  },
};

const PULL_USAGE = `Usage: custody pull P/NAME@VERSION --output DIR [--dataset] [--trusted-key PUBLIC.pem]... [--allow-unsigned]
       custody pull P/NAME@STAGE --output DIR [--version VERSION] [--allow-forced]

Downloads a version into a temporary directory beside DIR, verifies the signature against trusted
keys and every file against the signed manifest, and only then moves it to DIR (which must not
exist). A failed pull leaves nothing behind. Trusted keys: --trusted-key, else the project's keys
as pinned by this client (fetched from the registry and pinned the first time).

P/NAME@STAGE (production, staging, or an alias such as champion) pulls what the stage holds now,
and first verifies the SLSA Verification Summary the registry signed when the version was promoted
there (with the registry's VSA key, pinned on first use): what a serving job pulls is exactly what
passed the gate. A version forced in by break-glass is refused unless --allow-forced.

Options:
  --output DIR           Where to put the files
  --dataset              The reference names a dataset (default: a model)
  --trusted-key FILE     Verify the signature with this public key; repeatable
  --trusted-keys DIR     Trust every *.pem / *.pub key in DIR
  --trust-server-keys    Re-pin the project's keys from the registry (after a key rotation)
  --allow-unsigned       Accept a version without a signature, checking digests against its id
  --version VERSION      With @STAGE: the version to pull when the stage holds several (canaries)
  --allow-forced         With @STAGE: accept a version forced into the stage by break-glass
  --vsa-key FILE         With @STAGE: verify the VSA with this public key (default: pinned)
${CLIENT_OPTIONS_HELP}

Exit codes: 0 pulled and verified, 1 verification failed (DIGEST_MISMATCH, SIGNATURE_INVALID,
KEY_UNTRUSTED, MANIFEST_MISMATCH, AUDIT_ROLLBACK, AUDIT_FORK), 2 the tool could not run.
`;

export const pullCommand: Command = {
  name: 'pull',
  summary: 'Pull a version from a registry, verified before it lands',
  usage: PULL_USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs('pull', args, {
      ...CLIENT_OPTIONS,
      output: { type: 'string' },
      dataset: { type: 'boolean', default: false },
      'trusted-key': { type: 'string', multiple: true },
      'trusted-keys': { type: 'string' },
      'trust-server-keys': { type: 'boolean', default: false },
      'allow-unsigned': { type: 'boolean', default: false },
      version: { type: 'string' },
      'allow-forced': { type: 'boolean', default: false },
      'vsa-key': { type: 'string' },
    });
    if (positionals.length !== 1) throw new CustodyError('USAGE', 'pull: give exactly one P/NAME@VERSION or P/NAME@STAGE');
    if (values.output === undefined) throw new CustodyError('USAGE', 'pull: --output DIR is required');
    const keys = values['trusted-key'] || values['trusted-keys'] ? await readVerificationKeys('pull', io, values['trusted-key'], values['trusted-keys']) : undefined;
    const staged = /^([^/@]+)\/([^/@]+)@([a-z][a-z0-9-]{0,31})$/.exec(positionals[0] ?? '');
    if (staged && !/^[0-9a-f]{64}$/.test(staged[3] ?? '')) {
      if (values.dataset) throw new CustodyError('USAGE', 'pull: stages and aliases are for models');
      const vsaKey = values['vsa-key'] === undefined ? undefined : (await readVerificationKeys('pull', io, [values['vsa-key']], undefined))[0];
      return runClientCommand('pull', io, values.format, async () => {
        const { client, json, state } = await openSession('pull', io, values);
        const result = await pullStage(client, {
          project: staged[1] as string,
          name: staged[2] as string,
          target: staged[3] as string,
          output: resolve(io.cwd, values.output as string),
          ...(keys ? { trustedKeys: keys } : {}),
          ...(values.version === undefined ? {} : { version: values.version }),
          ...(vsaKey ? { vsaKey } : {}),
          allowUnsigned: values['allow-unsigned'],
          allowForced: values['allow-forced'],
          repinKeys: values['trust-server-keys'],
          state,
        });
        if (json) printJson(io, { ...result, verified: true });
        else io.stdout.write(`pulled ${staged[1]}/${staged[2]}@${result.target} = ${result.version} into ${result.output}: ${result.files} file(s), ${formatBytes(result.bytes)}, promotion verified (VSA ${result.vsa.timeVerified}, ${result.vsa.policy})${result.forced ? ', FORCED by break-glass' : ''}, ${result.signer ? `signature verified (key ${result.signer.keyHint})` : 'digests verified (unsigned)'}\n`);
        return EXIT.ok;
      });
    }
    const ref = parseReference('pull', positionals[0] ?? '', true);
    return runClientCommand('pull', io, values.format, async () => {
      const { client, json, state } = await openSession('pull', io, values);
      const result = await pullArtifact(client, {
        project: ref.project,
        kind: values.dataset ? 'dataset' : 'model',
        name: ref.name,
        version: ref.version as string,
        output: resolve(io.cwd, values.output as string),
        ...(keys ? { trustedKeys: keys } : {}),
        allowUnsigned: values['allow-unsigned'],
        repinKeys: values['trust-server-keys'],
        state,
      });
      if (json) printJson(io, { ...result, verified: true });
      else {
        io.stdout.write(`pulled ${ref.project}/${ref.name}@${result.version} into ${result.output}: ${result.files} file(s), ${formatBytes(result.bytes)}, ${result.signer ? `signature verified (key ${result.signer.keyHint})` : 'digests verified (unsigned)'}\n`);
        if (result.scan.result === 'FAILED') io.stderr.write(`warning: the registry's scan of this version FAILED (${result.scan.findings.length} finding(s)); see \`custody ${values.dataset ? 'datasets' : 'models'} show ${ref.project}/${ref.name}@${result.version}\`\n`);
      }
      return EXIT.ok;
    });
  },
};

function artifactsCommand(kind: ArtifactKind): Command {
  const plural = KIND_SEGMENTS[kind];
  const usage = `Usage: custody ${plural} list P
       custody ${plural} show P/NAME[@VERSION]
       custody ${plural} attach P/NAME@VERSION BUNDLE...

list   The ${plural} of project P, with their number of versions.
show   The versions of a ${kind} (newest first), or one version: files, signature, attestations and
       the registry's scan findings.
attach Attach signed attestations (Sigstore bundles: an evaluation from \`custody attest evaluation\`,
       SLSA provenance, scan results) to a version already pushed. The registry verifies each against
       the project's trusted keys and records the outcome, which is printed; exit 1 when one does not
       verify.

${CLIENT_OPTIONS_HELP}
`;
  return {
    name: plural,
    summary: `Browse the ${plural} of a registry`,
    usage,
    async run(args: string[], io: CliIo): Promise<number> {
      const [sub, ...rest] = args;
      const { values, positionals } = parseCommandArgs(`${plural} ${sub ?? ''}`.trim(), rest, { ...CLIENT_OPTIONS });
      if (sub !== 'list' && sub !== 'show' && sub !== 'attach') throw new CustodyError('USAGE', `${plural}: unknown subcommand "${sub ?? ''}"; expected list, show or attach`);
      if (sub === 'attach') {
        if (positionals.length < 2) throw new CustodyError('USAGE', `${plural} attach: expected P/NAME@VERSION and at least one bundle file (see \`custody ${plural} --help\`)`);
        const ref = parseReference(`${plural} attach`, positionals[0] ?? '', true);
        const bundles: SigstoreBundle[] = [];
        for (const file of positionals.slice(1)) bundles.push(await readBundle(resolve(io.cwd, file)));
        return runClientCommand(`${plural} attach`, io, values.format, async () => {
          const { client, json } = await openSession(`${plural} attach`, io, values);
          const path = `${artifactPath({ project: ref.project, kind, name: ref.name })}/versions/${ref.version ?? ''}/attestations`;
          const results: RemoteVersionDetail['attachments'] = [];
          for (const bundle of bundles) results.push(await client.json<RemoteVersionDetail['attachments'][number]>('POST', path, { body: { bundle } }));
          if (json) printJson(io, { attachments: results });
          else io.stdout.write(results.map((a, i) => `${e(positionals[i + 1] ?? '')}: ${e(a.kind)} ${e(a.predicateType)} ${a.verified ? 'verified' : `NOT verified: ${e(a.error?.code ?? '?')} ${e(a.error?.message ?? '')}`}\n`).join(''));
          return results.every((a) => a.verified) ? EXIT.ok : EXIT.findings;
        });
      }
      if (positionals.length !== 1) throw new CustodyError('USAGE', `${plural} ${sub}: expected one argument (see \`custody ${plural} --help\`)`);
      return runClientCommand(`${plural} ${sub}`, io, values.format, async () => {
        const { client, json } = await openSession(`${plural} ${sub}`, io, values);
        if (sub === 'list') {
          const project = positionals[0] ?? '';
          const body = await client.json<Record<string, { name: string; versions: number; latest: string | null }[]>>('GET', `/v1/projects/${encodeURIComponent(project)}/${plural}`);
          const list = body[plural] ?? [];
          if (json) printJson(io, { [plural]: list });
          else io.stdout.write(list.map((a) => `${project}/${a.name}  ${a.versions} version(s)  latest ${a.latest ?? '-'}\n`).join('') || `no ${plural}\n`);
          return EXIT.ok;
        }
        const ref = parseReference(`${plural} show`, positionals[0] ?? '', false);
        const path = artifactPath({ project: ref.project, kind, name: ref.name });
        if (ref.version === undefined) {
          const { versions } = await client.json<{ versions: RemoteVersion[] }>('GET', path);
          if (json) printJson(io, { versions });
          else io.stdout.write(versions.map((v) => `${v.version}  ${v.stage ?? v.status}${v.forced ? ' FORCED' : ''}${v.aliases && v.aliases.length > 0 ? ` [${v.aliases.join(',')}]` : ''}  ${v.createdAt}  by ${v.createdBy}  ${v.files} file(s) ${formatBytes(v.bytes)}  ${v.signed ? 'signed' : 'unsigned'}  scan ${v.scan.status}\n`).join('') || 'no versions\n');
          return EXIT.ok;
        }
        const detail = await client.json<RemoteVersionDetail>('GET', `${path}/versions/${ref.version}`);
        if (json) printJson(io, detail);
        else io.stdout.write(describeVersion(detail));
        return EXIT.ok;
      });
    },
  };
}

function describeVersion(v: RemoteVersionDetail): string {
  const lines = [
    `${v.kind} ${v.project}/${v.name}@${v.version}`,
    `  status ${v.status}, stage ${v.stage ?? 'candidate'}${v.forced ? ' (FORCED by break-glass)' : ''}${v.aliases && v.aliases.length > 0 ? `, aliases ${v.aliases.join(', ')}` : ''}, pushed ${v.createdAt} by ${v.createdBy}`,
    `  ${v.files} file(s), ${formatBytes(v.bytes)}`,
    ...v.fileList.map((f) => `    ${f.name}  ${formatBytes(f.size)}  sha256:${f.sha256}`),
    '  attachments:',
    ...v.attachments.map((a) => `    ${a.kind}  ${a.predicateType}  ${a.verified ? `verified${a.keyHint ? ` (key ${a.keyHint.slice(0, 16)}…)` : ''}` : `NOT verified: ${a.error?.code ?? '?'} ${a.error?.message ?? ''}`}`),
    `  scan: ${v.scan.status}${v.scan.bySeverity ? ` (${Object.entries(v.scan.bySeverity).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(', ') || 'no findings'})` : ''}`,
    ...v.scan.findings.map((f) => `    ${f.severity}  ${f.ruleId}  ${f.path}${f.member ? `!${f.member}` : ''}: ${f.message}`),
  ];
  return `${lines.join('\n')}\n`;
}

export const modelsCommand = artifactsCommand('model');
export const datasetsCommand = artifactsCommand('dataset');
