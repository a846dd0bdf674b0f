import { resolve } from 'node:path';
import { artifactPath } from '../../client/artifacts.js';
import { CustodyError, isCustodyError } from '../../core/errors.js';
import { readRegularFile } from '../../core/safe-fs.js';
import type { Evaluation } from '../../registry/gates.js';
import { graphToDot, graphToMermaid, graphToText, impactToGraph, impactToText, type Graph, type ImpactResult } from '../../registry/lineage.js';
import { MAX_POLICY_BYTES, parsePolicy } from '../../registry/policy.js';
import { EXIT, parseCommandArgs, type CliIo, type Command } from '../command.js';
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, openSession, printJson, runClientCommand, type ClientFlags } from './registry-client.js';
import { parseReference } from './artifacts.js';

interface Outcome {
  promoted: boolean;
  project: string;
  name: string;
  version: string;
  target: string;
  fromStage?: string;
  forced?: boolean;
  policy: { version: number; digest: string };
  evaluations: Evaluation[];
  displaced?: string[];
}

/** Every requirement and its verdict, stage by stage. */
export function describeEvaluations(evaluations: readonly Evaluation[]): string {
  const lines: string[] = [];
  for (const e of evaluations) {
    lines.push(`  ${e.target}:`);
    if (e.requirements.length === 0) lines.push('    (no requirement)');
    for (const r of e.requirements) lines.push(`    ${r.passed ? 'PASS' : 'FAIL'}  ${r.id.padEnd(11)} ${r.reason}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A policy file: a regular file (a FIFO or device is SPECIAL_FILE, not read) of at most MAX_POLICY_BYTES. */
async function readText(command: string, io: CliIo, file: string): Promise<string> {
  try {
    return (await readRegularFile(resolve(io.cwd, file), { maxBytes: MAX_POLICY_BYTES })).toString('utf8');
  } catch (error) {
    if (error instanceof CustodyError) throw error;
    throw new CustodyError('IO_ERROR', `${command}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
}

/** Runs a command whose refusals (POLICY_UNMET, FORBIDDEN) are verdicts: exit 1, not a tool error. */
async function runVerdict(command: string, io: CliIo, format: string | undefined, work: () => Promise<number>): Promise<number> {
  return runClientCommand(command, io, format, async () => {
    try {
      return await work();
    } catch (error) {
      if (!isCustodyError(error) || (error.code !== 'POLICY_UNMET' && error.code !== 'FORBIDDEN')) throw error;
      const evaluation = error.details?.['evaluation'] as Outcome | undefined;
      if (format === 'json') printJson(io, { ok: false, error: { code: error.code, message: error.message }, ...(evaluation ? { outcome: { ...evaluation, promoted: false } } : {}) });
      else {
        if (evaluation) io.stdout.write(`refused: ${evaluation.project}/${evaluation.name}@${evaluation.version} to ${evaluation.target} (policy v${evaluation.policy.version})\n${describeEvaluations(evaluation.evaluations)}`);
        io.stderr.write(`custody ${command}: REFUSED ${error.code}: ${error.message}\n`);
      }
      return EXIT.findings;
    }
  });
}

const PROMOTE_USAGE = `Usage: custody promote P/NAME@VERSION --to STAGE|ALIAS [--break-glass REASON]

Evaluates the project's policy for moving a model version to a stage (staging, production,
archived) or an alias the policy declares, and promotes it only if every requirement passes. Both
outcomes print each requirement with PASS or FAIL and why. A promotion records a SLSA Verification
Summary signed by the registry, which \`custody pull P/NAME@STAGE\` verifies. Skipping a stage means
meeting that stage's policy too. Production holds one version (the previous one returns to staging)
unless the policy allows more.

Options:
  --to TARGET            staging | production | archived | an alias (e.g. champion)
  --break-glass REASON   Server admins: force the promotion with a written reason (logged; the
                         version is shown as forced everywhere; the policy can forbid it)
${CLIENT_OPTIONS_HELP}

Exit codes: 0 promoted, 1 refused (POLICY_UNMET, FORBIDDEN) or the log check failed, 2 the tool could not run.
`;

export const promoteCommand: Command = {
  name: 'promote',
  summary: 'Promote a model version to a stage or alias, if its policy is met (prints every requirement)',
  usage: PROMOTE_USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs('promote', args, { ...CLIENT_OPTIONS, to: { type: 'string' }, 'break-glass': { type: 'string' } });
    if (positionals.length !== 1) throw new CustodyError('USAGE', 'promote: give exactly one P/NAME@VERSION');
    if (values.to === undefined) throw new CustodyError('USAGE', 'promote: --to STAGE is required');
    const ref = parseReference('promote', positionals[0] ?? '', true);
    return runVerdict('promote', io, values.format, async () => {
      const { client, json } = await openSession('promote', io, values);
      const outcome = await client.json<Outcome>('POST', `${artifactPath({ project: ref.project, kind: 'model', name: ref.name })}/versions/${ref.version ?? ''}/promotions`, {
        body: { to: values.to, ...(values['break-glass'] === undefined ? {} : { breakGlass: values['break-glass'] }) },
      });
      if (json) printJson(io, outcome);
      else {
        io.stdout.write(`${outcome.forced ? 'FORCED (break-glass)' : 'promoted'}: ${outcome.project}/${outcome.name}@${outcome.version} ${outcome.fromStage ?? '?'} → ${outcome.target} (policy v${outcome.policy.version})\n${describeEvaluations(outcome.evaluations)}`);
        for (const d of outcome.displaced ?? []) io.stdout.write(`  ${d} left ${outcome.target} (back to staging)\n`);
      }
      return EXIT.ok;
    });
  },
};

function decisionCommand(decision: 'approve' | 'reject'): Command {
  const usage = `Usage: custody ${decision} P/NAME@VERSION --to STAGE|ALIAS [--comment TEXT]

${decision === 'approve' ? 'Approves' : 'Rejects'} a model version for a stage or alias. The decision binds the version's digest, the
target and the project's current policy version: another version, another target or a new policy
does not count it. People only (not service accounts); the uploader and the signers of a version
cannot decide on it, and the person who requests the promotion does not count either. One person
counts once, whatever the tokens; their latest decision counts, and a rejection blocks. Every
decision is signed by the registry and logged.

Options:
  --to TARGET            staging | production | archived | an alias
  --comment TEXT         Why (kept with the decision and in the audit log)
${CLIENT_OPTIONS_HELP}

Exit codes: 0 recorded, 1 refused (FORBIDDEN: for instance by the uploader) or the log check failed,
2 the tool could not run.
`;
  return {
    name: decision,
    summary: decision === 'approve' ? 'Approve a model version for a stage (two-person rule; signed, logged)' : 'Reject a model version for a stage (blocks its promotion; signed, logged)',
    usage,
    async run(args: string[], io: CliIo): Promise<number> {
      const { values, positionals } = parseCommandArgs(decision, args, { ...CLIENT_OPTIONS, to: { type: 'string' }, comment: { type: 'string' } });
      if (positionals.length !== 1) throw new CustodyError('USAGE', `${decision}: give exactly one P/NAME@VERSION`);
      if (values.to === undefined) throw new CustodyError('USAGE', `${decision}: --to STAGE is required`);
      const ref = parseReference(decision, positionals[0] ?? '', true);
      return runVerdict(decision, io, values.format, async () => {
        const { client, json } = await openSession(decision, io, values);
        const recorded = await client.json<{ id: number; account: string; target: string; policy: { version: number } }>('POST', `${artifactPath({ project: ref.project, kind: 'model', name: ref.name })}/versions/${ref.version ?? ''}/approvals`, {
          body: { to: values.to, decision, ...(values.comment === undefined ? {} : { comment: values.comment }) },
        });
        if (json) printJson(io, recorded);
        else io.stdout.write(`${decision === 'approve' ? 'approved' : 'rejected'} ${ref.project}/${ref.name}@${ref.version ?? ''} for ${recorded.target} as ${recorded.account} (policy v${recorded.policy.version}; decision ${recorded.id}, signed by the registry)\n`);
        return EXIT.ok;
      });
    },
  };
}

export const approveCommand = decisionCommand('approve');
export const rejectCommand = decisionCommand('reject');

const POLICY_USAGE = `Usage: custody policy show P [--version N]
       custody policy history P
       custody policy validate FILE
       custody policy propose P FILE [--comment TEXT]
       custody policy approve P VERSION [--comment TEXT]
       custody policy reject P VERSION [--comment TEXT]
       custody policy test P/NAME@VERSION --to STAGE [--file FILE]

A project's promotion policy (YAML; docs/governance.md) says, per stage and alias, what a model
version must show: signatures, SLSA provenance, the server's scan, evaluation metrics, approvals,
attestation age. A project without one has the default policy. A new version of the policy is
proposed and becomes active only once other people approve it (every step is logged).

show      The active policy (or version N; 0 is the default policy)
history   Every version: proposed, active, superseded, rejected
validate  Checks a policy file offline and prints every problem (exit 1 when invalid)
propose   Proposes FILE as the next version (project admins)
approve   Approves a proposed version (approvers and admins; not its proposer)
reject    Rejects a proposed version
test      Evaluates the policy (or FILE) for a version and target without promoting (exit 1 when
          a requirement fails)

${CLIENT_OPTIONS_HELP}
`;

export const policyCommand: Command = {
  name: 'policy',
  summary: 'Show, propose, approve and test promotion policies',
  usage: POLICY_USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    const { values, positionals } = parseCommandArgs(`policy ${sub ?? ''}`.trim(), rest, { ...CLIENT_OPTIONS, version: { type: 'string' }, comment: { type: 'string' }, to: { type: 'string' }, file: { type: 'string' } });
    const subs = ['show', 'history', 'validate', 'propose', 'approve', 'reject', 'test'];
    if (sub === undefined || !subs.includes(sub)) throw new CustodyError('USAGE', `policy: unknown subcommand "${sub ?? ''}"; expected ${subs.join(', ')}`);
    const want = sub === 'propose' || sub === 'approve' || sub === 'reject' ? 2 : 1;
    if (positionals.length !== want) throw new CustodyError('USAGE', `policy ${sub}: expected ${want} argument(s) (see \`custody policy --help\`)`);
    if (sub === 'validate') {
      try {
        parsePolicy(await readText('policy validate', io, positionals[0] ?? ''));
      } catch (error) {
        if (!isCustodyError(error, 'POLICY_INVALID')) throw error;
        io.stdout.write(`${error.message}\n`);
        return EXIT.findings;
      }
      io.stdout.write(`${positionals[0] ?? ''}: a valid policy\n`);
      return EXIT.ok;
    }
    const document = sub === 'propose' ? await readText('policy propose', io, positionals[1] ?? '') : values.file !== undefined ? await readText('policy test', io, values.file) : undefined;
    return runVerdict(`policy ${sub}`, io, values.format, async () => {
      const { client, json } = await openSession(`policy ${sub}`, io, values as ClientFlags);
      const project = positionals[0] ?? '';
      const base = `/v1/projects/${encodeURIComponent(project)}`;
      if (sub === 'show') {
        const shown = await client.json<{ version: number; status: string; digest: string; document: string | null; policy: unknown; createdBy: string | null }>('GET', `${base}/policy`, { query: { version: values.version } });
        if (json) printJson(io, shown);
        else io.stdout.write(`policy of ${project}: version ${shown.version} (${shown.status}${shown.version === 0 ? ', the default policy' : `, proposed by ${shown.createdBy ?? '?'}`}), sha256:${shown.digest}\n${shown.document ?? `${JSON.stringify(shown.policy, null, 2)}\n`}`);
        return EXIT.ok;
      }
      if (sub === 'history') {
        const { policies } = await client.json<{ policies: { version: number; status: string; createdBy: string; createdAt: string; comment: string }[] }>('GET', `${base}/policies`);
        if (json) printJson(io, { policies });
        else io.stdout.write(policies.map((p) => `v${p.version}  ${p.status.padEnd(10)} ${p.createdAt} by ${p.createdBy}${p.comment ? `  ${p.comment}` : ''}\n`).join('') || 'no policy of its own: the default policy applies\n');
        return EXIT.ok;
      }
      if (sub === 'propose') {
        const made = await client.json<{ version: number; approvalsNeeded: number }>('POST', `${base}/policies`, { body: { document, ...(values.comment === undefined ? {} : { comment: values.comment }) } });
        if (json) printJson(io, made);
        else io.stdout.write(`proposed policy version ${made.version} for ${project}; it becomes active after ${made.approvalsNeeded} approval(s) by others (custody policy approve ${project} ${made.version})\n`);
        return EXIT.ok;
      }
      if (sub === 'approve' || sub === 'reject') {
        const version = positionals[1] ?? '';
        if (!/^[1-9][0-9]{0,5}$/.test(version)) throw new CustodyError('USAGE', `policy ${sub}: VERSION is a policy version number`);
        const decided = await client.json<{ version: number; status: string; approvals: number; approvalsNeeded: number }>('POST', `${base}/policies/${version}/decisions`, { body: { decision: sub, ...(values.comment === undefined ? {} : { comment: values.comment }) } });
        if (json) printJson(io, decided);
        else io.stdout.write(`policy version ${decided.version} of ${project}: ${decided.status} (${decided.approvals} of ${decided.approvalsNeeded} approval(s))\n`);
        return EXIT.ok;
      }
      if (values.to === undefined) throw new CustodyError('USAGE', 'policy test: --to STAGE is required');
      const ref = parseReference('policy test', project, true);
      const tested = await client.json<{ passed: boolean; policy: { version: number }; evaluations: Evaluation[] }>('POST', `${artifactPath({ project: ref.project, kind: 'model', name: ref.name })}/versions/${ref.version ?? ''}/policy-test`, {
        body: { to: values.to, ...(document === undefined ? {} : { document }) },
      });
      if (json) printJson(io, tested);
      else io.stdout.write(`${tested.passed ? 'would pass' : 'would be refused'}: ${ref.project}/${ref.name}@${ref.version ?? ''} to ${values.to} (policy ${values.file ?? `v${tested.policy.version}`})\n${describeEvaluations(tested.evaluations)}`);
      return tested.passed ? EXIT.ok : EXIT.findings;
    });
  },
};

const GRAPH_FORMATS = ['text', 'json', 'mermaid', 'dot'];

function render(io: CliIo, format: string, graph: Graph, json: unknown, text: string): void {
  if (format === 'json') printJson(io, json);
  else if (format === 'mermaid') io.stdout.write(graphToMermaid(graph));
  else if (format === 'dot') io.stdout.write(graphToDot(graph));
  else io.stdout.write(text);
}

const LINEAGE_USAGE = `Usage: custody lineage P/NAME@VERSION [--dataset] [--format text|json|mermaid|dot]

What a version was made from, upstream and recursively: the dataset (and base model) versions its
provenance names, the code commit, the builder, the keys that signed it, the account and token that
pushed it — each registered version with the stage it is in now.

Options:
  --dataset              The reference names a dataset (default: a model)
${CLIENT_OPTIONS_HELP.replace('  --format FORMAT       text | json (default: text)', '  --format FORMAT       text | json | mermaid | dot (default: text)')}
`;

export const lineageCommand: Command = {
  name: 'lineage',
  summary: 'Show what a version was made from (datasets, code, builder, keys, tokens) as text, JSON, Mermaid or DOT',
  usage: LINEAGE_USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs('lineage', args, { ...CLIENT_OPTIONS, dataset: { type: 'boolean', default: false } });
    if (!GRAPH_FORMATS.includes(values.format)) throw new CustodyError('USAGE', `lineage: --format must be ${GRAPH_FORMATS.join(', ')}`);
    if (positionals.length !== 1) throw new CustodyError('USAGE', 'lineage: give exactly one P/NAME@VERSION');
    const ref = parseReference('lineage', positionals[0] ?? '', true);
    return runClientCommand('lineage', io, values.format, async () => {
      const { client } = await openSession('lineage', io, { ...values, format: values.format === 'json' ? 'json' : 'text' });
      const graph = await client.json<Graph>('GET', `${artifactPath({ project: ref.project, kind: values.dataset ? 'dataset' : 'model', name: ref.name })}/versions/${ref.version ?? ''}/lineage`);
      render(io, values.format, graph, graph, graphToText(graph));
      return EXIT.ok;
    });
  },
};

const IMPACT_USAGE = `Usage: custody impact (--dataset P/D@V | --key HINT | --builder ID | --token ID) [--project P] [--format text|json|mermaid|dot]

The blast radius: every version downstream of a dataset version, a signing key, a builder or a token
— those it produced or that were trained on it, and those trained on them, and so on — with the
stage each is in now. Only projects your token can read are searched (--project narrows it).

${CLIENT_OPTIONS_HELP.replace('  --format FORMAT       text | json (default: text)', '  --format FORMAT       text | json | mermaid | dot (default: text)')}
`;

export const impactCommand: Command = {
  name: 'impact',
  summary: 'Blast radius: every version downstream of a dataset, key, builder or token, and its stage',
  usage: IMPACT_USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs('impact', args, { ...CLIENT_OPTIONS, dataset: { type: 'string' }, key: { type: 'string' }, builder: { type: 'string' }, token: { type: 'string' }, project: { type: 'string' }, 'api-token': { type: 'string' } });
    if (!GRAPH_FORMATS.includes(values.format)) throw new CustodyError('USAGE', `impact: --format must be ${GRAPH_FORMATS.join(', ')}`);
    if (positionals.length > 0) throw new CustodyError('USAGE', `impact: unexpected argument ${positionals[0] ?? ''}`);
    const given = [values.dataset !== undefined, values.key !== undefined, values.builder !== undefined, values.token !== undefined && values.token.startsWith('tok-')].filter(Boolean).length;
    if (given !== 1) throw new CustodyError('USAGE', 'impact: give exactly one of --dataset P/D@V, --key HINT, --builder ID or --token tok-… (the API token goes in CUSTODY_TOKEN or --token-file)');
    let query: Record<string, string>;
    if (values.dataset !== undefined) {
      const ref = parseReference('impact', values.dataset, true);
      query = { kind: 'dataset', ref: ref.version ?? '', project: ref.project, name: ref.name };
    } else if (values.key !== undefined) query = { kind: 'key', ref: values.key };
    else if (values.builder !== undefined) query = { kind: 'builder', ref: values.builder };
    else query = { kind: 'token', ref: values.token ?? '' };
    if (values.project !== undefined && query['project'] === undefined) query['project'] = values.project;
    // --token names the token searched for here; the API token comes from the environment or --token-file.
    const flags = { ...values, token: values['api-token'], format: values.format === 'json' ? 'json' : 'text' };
    return runClientCommand('impact', io, values.format, async () => {
      const { client } = await openSession('impact', io, flags);
      const result = await client.json<ImpactResult>('GET', '/v1/impact', { query });
      render(io, values.format, impactToGraph(result), result, impactToText(result));
      return EXIT.ok;
    });
  },
};
