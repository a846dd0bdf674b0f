import { defineRule } from '../../../core/rule.js';
import { attribute, parseHcl, type HclBlock, type HclValue } from '../hcl.js';
import type { ConfigDomain, ConfigFile, ConfigReport } from '../types.js';
import { configUnreadableRule } from '../unreadable.js';
import { entries, get, str, type YValue } from '../yaml.js';

/**
 * AWS infrastructure that ML platforms are built from, in Terraform, CloudFormation (YAML or JSON) and bare
 * IAM policy documents: IAM policies and attachments, and SageMaker notebooks, endpoints, models, domains,
 * pipelines and monitoring jobs. Both notations are read into one small model (a tree of plain values with
 * lines), so each rule is written once.
 */

const noCheck = (): undefined => undefined;

export const iamWildcardRule = defineRule<'adminStar' | 'serviceStar' | 'passRole' | 'notAction', void>({
  id: 'config/iam-wildcard',
  title: 'An IAM policy allows everything, or passes any role',
  description:
    'An Allow statement with `Action: "*"` on `Resource: "*"` is administrator access; `iam:PassRole` on `*` lets the ' +
    'holder hand any role (including admin roles) to a SageMaker job, notebook or Lambda and act as it; `NotAction` ' +
    'with Allow grants everything not listed. A training job or notebook holding such a role turns one malicious ' +
    'model file or dependency into an account takeover.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:269', 'cwe:732'],
  remediation: 'List the actions the workload uses on the resources it uses (SageMaker execution roles: the job\'s buckets, ECR repositories and log groups); restrict `iam:PassRole` to named role ARNs with an `iam:PassedToService` condition.',
  messages: {
    adminStar: 'An Allow statement grants Action "*" on Resource "*" (administrator access).',
    serviceStar: 'An Allow statement grants {{actions}} on Resource "*".',
    passRole: 'iam:PassRole is allowed on Resource "*": the holder can hand any role to a service and act as it.',
    notAction: 'An Allow statement uses NotAction: it grants every action not listed.',
  },
  check: noCheck,
});

export const iamManagedPolicyRule = defineRule<'attached', void>({
  id: 'config/iam-broad-managed-policy',
  title: 'A broad AWS managed policy is attached',
  description: '`AdministratorAccess`, `AmazonSageMakerFullAccess`, `AmazonS3FullAccess`, `IAMFullAccess` and their kin grant far more than an ML workload needs (`AmazonSageMakerFullAccess` alone includes `iam:PassRole` for SageMaker roles and read access to every bucket with "sagemaker" in its name).',
  severity: 'medium',
  confidence: 'high',
  tags: ['cwe:269'],
  remediation: 'Replace the managed policy with a customer-managed policy scoped to the job\'s resources (IAM Access Analyzer can generate one from CloudTrail activity).',
  messages: { attached: '{{policy}} is attached.' },
  check: noCheck,
});

export const sagemakerNotebookRule = defineRule<'internet' | 'root' | 'noVpc', void>({
  id: 'config/sagemaker-notebook-exposed',
  title: 'A SageMaker notebook instance has direct internet access or root',
  description: 'Notebook instances default to direct internet access and root access. Together with the execution role\'s credentials on the instance, a notebook that runs untrusted code (a model file, a pip package, a shared notebook) can exfiltrate data and credentials directly and modify the instance.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:668', 'owasp-ml:ML05'],
  remediation: 'Set `DirectInternetAccess: Disabled` / `direct_internet_access = "Disabled"` with a subnet and VPC endpoints, `RootAccess: Disabled`, and a subnet in a private VPC.',
  messages: {
    internet: 'Notebook instance {{name}} has direct internet access ({{how}}).',
    root: 'Notebook instance {{name}} gives users root access ({{how}}).',
    noVpc: 'Notebook instance {{name}} is not placed in a VPC subnet.',
  },
  check: noCheck,
});

export const sagemakerEncryptionRule = defineRule<'noKms' | 'interContainer', void>({
  id: 'config/sagemaker-unencrypted',
  title: 'SageMaker data is not encrypted with a key you control, or travels unencrypted',
  description: 'Without a KMS key, notebook volumes and endpoint storage use AWS-owned keys you cannot audit, rotate or revoke. With inter-container traffic encryption off, data and model parameters exchanged between instances of a distributed training or processing job cross the network in clear text.',
  severity: 'medium',
  confidence: 'high',
  tags: ['cwe:311'],
  remediation: 'Set a customer-managed KMS key (`KmsKeyId` / `kms_key_id` / `kms_key_arn`) and `EnableInterContainerTrafficEncryption: true`.',
  messages: {
    noKms: '{{resource}} {{name}} sets no KMS key.',
    interContainer: '{{resource}} {{name}} does not encrypt inter-container traffic.',
  },
  check: noCheck,
});

export const sagemakerIsolationRule = defineRule<'model' | 'domain', void>({
  id: 'config/sagemaker-network-isolation',
  title: 'A SageMaker model or domain is not network-isolated',
  description: 'A model container without network isolation or a VPC can call out to the internet — a malicious model artifact or inference code can exfiltrate data or fetch a payload. A Studio domain with `PublicInternetOnly` access sends notebook traffic straight to the internet.',
  severity: 'medium',
  confidence: 'medium',
  tags: ['cwe:668', 'owasp-ml:ML05'],
  remediation: 'Set `EnableNetworkIsolation: true` (or a VpcConfig with private subnets) on models, and `AppNetworkAccessType: VpcOnly` on domains.',
  messages: {
    model: 'Model {{name}} has neither network isolation nor a VPC.',
    domain: 'Domain {{name}} uses PublicInternetOnly network access.',
  },
  check: noCheck,
});

/** A notation-neutral tree: values with lines. */
type Tree = { kind: 'map'; entries: Map<string, Tree>; line: number } | { kind: 'list'; items: Tree[]; line: number } | { kind: 'leaf'; value: string | number | boolean | null; line: number } | { kind: 'expr'; text: string; line: number };

function fromYaml(node: YValue | undefined): Tree | undefined {
  if (!node) return undefined;
  if (node.type === 'scalar') return { kind: 'leaf', value: node.value, line: node.line };
  if (node.type === 'seq') return { kind: 'list', items: node.items.map(fromYaml).filter((t): t is Tree => t !== undefined), line: node.line };
  const map = new Map<string, Tree>();
  for (const e of node.entries) {
    const t = fromYaml(e.value);
    if (t) map.set(e.key, t);
  }
  return { kind: 'map', entries: map, line: node.line };
}

function fromHcl(value: HclValue | undefined): Tree | undefined {
  if (!value) return undefined;
  switch (value.kind) {
    case 'string':
      // A heredoc or string holding a JSON policy document is read as one.
      if (/^\s*\{[\s\S]*"Statement"/.test(value.value)) {
        try {
          return fromJson(JSON.parse(value.value), value.line);
        } catch {
          return { kind: 'leaf', value: value.value, line: value.line };
        }
      }
      return { kind: 'leaf', value: value.value, line: value.line };
    case 'number':
    case 'bool':
      return { kind: 'leaf', value: value.value, line: value.line };
    case 'null':
      return { kind: 'leaf', value: null, line: value.line };
    case 'tuple':
      return { kind: 'list', items: value.items.map(fromHcl).filter((t): t is Tree => t !== undefined), line: value.line };
    case 'object': {
      const map = new Map<string, Tree>();
      for (const e of value.entries) {
        const t = fromHcl(e.value);
        if (t) map.set(e.key, t.kind === 'leaf' || t.kind === 'expr' ? { ...t, line: e.line } : t);
      }
      return { kind: 'map', entries: map, line: value.line };
    }
    default:
      return { kind: 'expr', text: value.text, line: value.line };
  }
}

function fromJson(value: unknown, line: number): Tree {
  if (Array.isArray(value)) return { kind: 'list', items: value.map((v) => fromJson(v, line)), line };
  if (value !== null && typeof value === 'object') return { kind: 'map', entries: new Map(Object.entries(value).map(([k, v]) => [k, fromJson(v, line)])), line };
  return { kind: 'leaf', value: value as string | number | boolean | null, line };
}

function field(tree: Tree | undefined, key: string): Tree | undefined {
  return tree?.kind === 'map' ? tree.entries.get(key) : undefined;
}

function text(tree: Tree | undefined): string | undefined {
  return tree?.kind === 'leaf' && tree.value !== null ? String(tree.value) : undefined;
}

function strings(tree: Tree | undefined): string[] {
  if (!tree) return [];
  if (tree.kind === 'list') return tree.items.map(text).filter((s): s is string => s !== undefined);
  const single = text(tree);
  return single === undefined ? [] : [single];
}

const BROAD_MANAGED = /arn:aws[\w-]*:iam::aws:policy\/(?:AdministratorAccess|PowerUserAccess|IAMFullAccess|AmazonSageMakerFullAccess|AmazonS3FullAccess|AmazonEC2FullAccess|AWSLambda_FullAccess|AmazonECS_FullAccess|SecretsManagerReadWrite)$/;

function checkStatements(document: Tree | undefined, file: ConfigFile, report: ConfigReport, key: string): void {
  const statement = field(document, 'Statement');
  const list = statement?.kind === 'list' ? statement.items : statement ? [statement] : [];
  for (const [index, s] of list.entries()) {
    if ((text(field(s, 'Effect')) ?? 'Allow') !== 'Allow') continue;
    const actions = strings(field(s, 'Action')).map((a) => a.toLowerCase());
    const resources = strings(field(s, 'Resource'));
    const line = s.line;
    const evidence = file.lineText(line).slice(0, 200);
    const condition = field(s, 'Condition');
    if (field(s, 'NotAction')) report(iamWildcardRule, { message: 'notAction', line, column: 1, evidence, severity: 'medium', key: `${key}:${index}:notaction` });
    if (!resources.includes('*')) continue;
    if (actions.includes('*')) report(iamWildcardRule, { message: 'adminStar', line, column: 1, evidence, key: `${key}:${index}:star` });
    else {
      const serviceStar = actions.filter((a) => /^[a-z0-9-]+:\*$/.test(a) && a !== 'logs:*' && a !== 'cloudwatch:*');
      if (serviceStar.length > 0) report(iamWildcardRule, { message: 'serviceStar', data: { actions: serviceStar.join(', ') }, line, column: 1, evidence, severity: /^(?:iam|sts|kms|secretsmanager|s3|sagemaker):/.test(serviceStar[0]!) ? 'high' : 'medium', key: `${key}:${index}:service` });
      if (actions.some((a) => a === 'iam:passrole' || a === 'iam:*' || a === 'iam:pass*') && !condition) report(iamWildcardRule, { message: 'passRole', line, column: 1, evidence, key: `${key}:${index}:passrole` });
    }
  }
}

function checkManaged(arns: readonly { arn: string; line: number }[], file: ConfigFile, report: ConfigReport): void {
  for (const { arn, line } of arns) {
    if (!BROAD_MANAGED.test(arn)) continue;
    const name = arn.slice(arn.lastIndexOf('/') + 1);
    report(iamManagedPolicyRule, { message: 'attached', data: { policy: name }, line, column: 1, evidence: file.lineText(line).slice(0, 200), ...(name === 'AdministratorAccess' || name === 'IAMFullAccess' ? { severity: 'high' as const } : {}), key: `${arn}:${line}` });
  }
}

/** SageMaker resources in either notation, under CloudFormation's property names. */
interface SageMakerResource {
  type: 'NotebookInstance' | 'EndpointConfig' | 'Model' | 'Domain' | 'Other';
  name: string;
  props: Tree;
  line: number;
}

function checkSageMaker(resource: SageMakerResource, file: ConfigFile, report: ConfigReport): void {
  const { name, props, line } = resource;
  const at = (t: Tree | undefined): { line: number; column: number; evidence: string } => ({ line: t?.line ?? line, column: 1, evidence: file.lineText(t?.line ?? line).slice(0, 200) });
  if (resource.type === 'NotebookInstance') {
    const internet = field(props, 'DirectInternetAccess');
    if ((text(internet) ?? 'Enabled') === 'Enabled') report(sagemakerNotebookRule, { message: 'internet', data: { name, how: internet ? 'Enabled' : 'the default' }, ...at(internet), key: `${name}:internet` });
    const root = field(props, 'RootAccess');
    if ((text(root) ?? 'Enabled') === 'Enabled') report(sagemakerNotebookRule, { message: 'root', data: { name, how: root ? 'Enabled' : 'the default' }, ...at(root), severity: 'medium', key: `${name}:root` });
    if (!field(props, 'SubnetId')) report(sagemakerNotebookRule, { message: 'noVpc', data: { name }, ...at(undefined), severity: 'medium', key: `${name}:vpc` });
    if (!field(props, 'KmsKeyId')) report(sagemakerEncryptionRule, { message: 'noKms', data: { resource: 'Notebook instance', name }, ...at(undefined), key: `${name}:kms` });
  } else if (resource.type === 'EndpointConfig') {
    if (!field(props, 'KmsKeyId')) report(sagemakerEncryptionRule, { message: 'noKms', data: { resource: 'Endpoint configuration', name }, ...at(undefined), key: `${name}:kms` });
  } else if (resource.type === 'Model') {
    const isolation = text(field(props, 'EnableNetworkIsolation'));
    if (isolation !== 'true' && !field(props, 'VpcConfig')) report(sagemakerIsolationRule, { message: 'model', data: { name }, ...at(field(props, 'EnableNetworkIsolation')), key: `${name}:isolation` });
  } else if (resource.type === 'Domain') {
    const access = field(props, 'AppNetworkAccessType');
    if ((text(access) ?? 'PublicInternetOnly') === 'PublicInternetOnly') report(sagemakerIsolationRule, { message: 'domain', data: { name }, ...at(access), key: `${name}:domain` });
  }
  // Inter-container traffic encryption, wherever a job definition or pipeline step sets it off.
  const visit = (tree: Tree | undefined, depth: number): void => {
    if (!tree || depth > 30) return;
    if (tree.kind === 'list') tree.items.forEach((t) => visit(t, depth + 1));
    if (tree.kind !== 'map') return;
    for (const [key, value] of tree.entries) {
      if (key === 'EnableInterContainerTrafficEncryption' && text(value) === 'false') report(sagemakerEncryptionRule, { message: 'interContainer', data: { resource: 'Job', name }, ...at(value), key: `${name}:${value.line}:icte` });
      else visit(value, depth + 1);
    }
  };
  visit(props, 0);
  // Training steps of a pipeline definition that leave the setting out.
  const body = text(field(field(props, 'PipelineDefinition'), 'PipelineDefinitionBody'));
  if (body !== undefined) {
    try {
      const definition = JSON.parse(body) as { Steps?: { Name?: string; Type?: string; Arguments?: Record<string, unknown> }[] };
      for (const step of definition.Steps ?? []) {
        if ((step.Type === 'Training' || step.Type === 'Processing') && step.Arguments?.['EnableInterContainerTrafficEncryption'] !== true) {
          report(sagemakerEncryptionRule, { message: 'interContainer', data: { resource: `Pipeline step ${step.Name ?? '?'} of`, name }, ...at(field(props, 'PipelineDefinition')), key: `${name}:${step.Name ?? '?'}:icte` });
        }
      }
    } catch {
      // not JSON (a template with substitutions): nothing to read
    }
  }
}

const CFN_SAGEMAKER: Readonly<Record<string, SageMakerResource['type']>> = {
  'AWS::SageMaker::NotebookInstance': 'NotebookInstance',
  'AWS::SageMaker::EndpointConfig': 'EndpointConfig',
  'AWS::SageMaker::Model': 'Model',
  'AWS::SageMaker::Domain': 'Domain',
};

function checkCloudFormation(file: ConfigFile, report: ConfigReport): void {
  for (const doc of file.yaml ?? []) {
    for (const { key: name, value } of entries(get(doc.root, 'Resources'))) {
      const type = str(get(value, 'Type')) ?? '';
      const props = fromYaml(get(value, 'Properties')) ?? { kind: 'map' as const, entries: new Map(), line: value.line };
      if (type.startsWith('AWS::SageMaker::')) checkSageMaker({ type: CFN_SAGEMAKER[type] ?? 'Other', name, props, line: value.line }, file, report);
      if (type === 'AWS::IAM::Policy' || type === 'AWS::IAM::ManagedPolicy') checkStatements(field(props, 'PolicyDocument'), file, report, name);
      if (type === 'AWS::IAM::Role' || type === 'AWS::IAM::User' || type === 'AWS::IAM::Group') {
        const policies = field(props, 'Policies');
        for (const policy of policies?.kind === 'list' ? policies.items : []) checkStatements(field(policy, 'PolicyDocument'), file, report, `${name}:${policy.line}`);
        const arns = field(props, 'ManagedPolicyArns');
        checkManaged((arns?.kind === 'list' ? arns.items : []).map((a) => ({ arn: text(a) ?? '', line: a.line })), file, report);
      }
    }
  }
}

function checkPolicyDocument(file: ConfigFile, report: ConfigReport): void {
  for (const doc of file.yaml ?? []) checkStatements(fromYaml(doc.root), file, report, 'document');
}

/** Terraform attribute and nested-block names → CloudFormation property names, for the SageMaker rules. */
const TF_SAGEMAKER: Readonly<Record<string, { type: SageMakerResource['type']; props: Readonly<Record<string, string>> }>> = {
  aws_sagemaker_notebook_instance: { type: 'NotebookInstance', props: { direct_internet_access: 'DirectInternetAccess', root_access: 'RootAccess', subnet_id: 'SubnetId', kms_key_id: 'KmsKeyId' } },
  aws_sagemaker_endpoint_configuration: { type: 'EndpointConfig', props: { kms_key_arn: 'KmsKeyId' } },
  aws_sagemaker_model: { type: 'Model', props: { enable_network_isolation: 'EnableNetworkIsolation', vpc_config: 'VpcConfig' } },
  aws_sagemaker_domain: { type: 'Domain', props: { app_network_access_type: 'AppNetworkAccessType', kms_key_id: 'KmsKeyId' } },
};

function blockTree(block: HclBlock, rename: Readonly<Record<string, string>>): Tree {
  const map = new Map<string, Tree>();
  for (const a of block.attributes) {
    const t = fromHcl(a.value);
    if (t) map.set(rename[a.name] ?? a.name, t.kind === 'leaf' || t.kind === 'expr' ? { ...t, line: a.line } : t);
  }
  for (const b of block.blocks) {
    const key = rename[b.type] ?? b.type;
    // enable_inter_container_traffic_encryption inside network_config blocks, under the CloudFormation name
    const child = blockTree(b, { enable_inter_container_traffic_encryption: 'EnableInterContainerTrafficEncryption', ...rename });
    map.set(key, child);
  }
  return { kind: 'map', entries: map, line: block.line };
}

function checkTerraform(file: ConfigFile, report: ConfigReport): void {
  const parsed = parseHcl(file.text);
  const first = parsed.problems[0];
  if (first) report(configUnreadableRule, { message: 'syntax', data: { language: 'HCL', problem: first.message }, line: first.line, column: 1, key: `hcl:${first.line}` });
  for (const block of parsed.body.blocks) {
    const [type, name] = block.labels;
    if (type === undefined) continue;
    if (block.type === 'resource') {
      const sagemaker = TF_SAGEMAKER[type];
      if (sagemaker) checkSageMaker({ type: sagemaker.type, name: name ?? '?', props: blockTree(block, sagemaker.props), line: block.line }, file, report);
      else if (type.startsWith('aws_sagemaker_')) checkSageMaker({ type: 'Other', name: name ?? '?', props: blockTree(block, { enable_inter_container_traffic_encryption: 'EnableInterContainerTrafficEncryption' }), line: block.line }, file, report);
      if (/^aws_iam_(?:role_|user_|group_)?policy$/.test(type)) {
        const policy = attribute(block, 'policy');
        checkStatements(fromHcl(policy?.value), file, report, `${type}.${name}`);
      }
      if (type === 'aws_iam_role') {
        for (const inline of block.blocks.filter((b) => b.type === 'inline_policy')) checkStatements(fromHcl(attribute(inline, 'policy')?.value), file, report, `${name}:${inline.line}`);
        const arns = attribute(block, 'managed_policy_arns');
        const tree = fromHcl(arns?.value);
        checkManaged((tree?.kind === 'list' ? tree.items : []).map((a) => ({ arn: text(a) ?? '', line: arns!.line })), file, report);
      }
      if (/^aws_iam_(?:role_|user_|group_)?policy_attachment$/.test(type)) {
        const arn = attribute(block, 'policy_arn');
        if (arn?.value.kind === 'string') checkManaged([{ arn: arn.value.value, line: arn.line }], file, report);
      }
    } else if (block.type === 'data' && type === 'aws_iam_policy_document') {
      // statement { effect, actions, not_actions, resources, condition { … } } blocks
      const statements: Tree[] = block.blocks.filter((b) => b.type === 'statement').map((s) => {
        const map = new Map<string, Tree>();
        const put = (from: string, to: string): void => {
          const t = fromHcl(attribute(s, from)?.value);
          if (t) map.set(to, t);
        };
        put('effect', 'Effect');
        put('actions', 'Action');
        put('not_actions', 'NotAction');
        put('resources', 'Resource');
        if (s.blocks.some((b) => b.type === 'condition')) map.set('Condition', { kind: 'leaf', value: true, line: s.line });
        return { kind: 'map', entries: map, line: s.line };
      });
      checkStatements({ kind: 'map', entries: new Map([['Statement', { kind: 'list', items: statements, line: block.line }]]), line: block.line }, file, report, `data.${name}`);
    }
  }
}

export const cloudDomain: ConfigDomain = {
  name: 'cloud',
  kinds: ['terraform', 'cloudformation', 'iam-policy'],
  rules: [iamManagedPolicyRule, iamWildcardRule, sagemakerEncryptionRule, sagemakerIsolationRule, sagemakerNotebookRule],
  check: (file, report) => {
    if (file.kind === 'terraform') checkTerraform(file, report);
    else if (file.kind === 'cloudformation') checkCloudFormation(file, report);
    else checkPolicyDocument(file, report);
  },
};

