import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { runScan } from '../../src/scanners/engine.js';
import { attribute, parseHcl } from '../../src/scanners/config/hcl.js';

const dir = mkdtempSync(join(tmpdir(), 'custody-cloud-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

async function scan(files: Record<string, string>): Promise<Finding[]> {
  const root = join(dir, `p${counter++}`);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return (await runScan({ paths: [root], only: ['config'], config: defaultConfig(), jobs: 0 })).findings;
}

const summary = (findings: readonly Finding[]): string[] => findings.map((f) => `${f.location.path.split('/').pop()}:${f.ruleId.slice(7)}@${f.location.line}:${f.severity}`).sort();

describe('HCL reader', () => {
  it('blocks, labels, literals, interpolation, heredocs, jsonencode, comments and nesting, with lines', () => {
    const parsed = parseHcl([
      '# comment',
      'resource "aws_x" "y" {',
      '  name   = "n-${var.env}"',
      '  count  = 2 // trailing',
      '  flag   = true',
      '  list   = ["a", "b",',
      '            "c"]',
      '  policy = jsonencode({',
      '    Version = "2012-10-17"',
      '    Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }]',
      '  })',
      '  doc = <<-EOT',
      '    {"a": 1}',
      '    EOT',
      '  /* block',
      '     comment */',
      '  nested "label" {',
      '    ref = var.thing',
      '  }',
      '}',
    ].join('\n'));
    assert.deepEqual(parsed.problems, []);
    const block = parsed.body.blocks[0]!;
    assert.deepEqual([block.type, block.labels, block.line], ['resource', ['aws_x', 'y'], 2]);
    assert.equal(attribute(block, 'name')!.value.kind, 'expr');
    assert.deepEqual(attribute(block, 'count')!.value, { kind: 'number', value: 2, line: 4 });
    assert.equal(attribute(block, 'flag')!.value.kind, 'bool');
    const list = attribute(block, 'list')!.value;
    assert.ok(list.kind === 'tuple' && list.items.length === 3);
    const policy = attribute(block, 'policy')!.value;
    assert.ok(policy.kind === 'object' && policy.entries.map((e) => e.key).join() === 'Version,Statement');
    assert.deepEqual(attribute(block, 'doc')!.value, { kind: 'string', value: '{"a": 1}', line: 12 });
    assert.deepEqual([block.blocks[0]!.type, block.blocks[0]!.labels, attribute(block.blocks[0]!, 'ref')!.value.kind], ['nested', ['label'], 'expr']);
    assert.ok(parseHcl('resource "a" "b" {\n  x = "unterminated\n').problems.length > 0);
  });
});

describe('Terraform', () => {
  it('the risky plan: SageMaker notebook/endpoint/model/domain, IAM wildcards, PassRole, broad managed policies', async () => {
    const tf = [
      'resource "aws_sagemaker_notebook_instance" "nb" {', //           1
      '  name          = "research"',
      '  role_arn      = aws_iam_role.nb.arn',
      '  instance_type = "ml.t3.medium"',
      '}', //                                                          5
      'resource "aws_sagemaker_endpoint_configuration" "ec" {',
      '  name = "ec"',
      '}',
      'resource "aws_sagemaker_model" "m" {',
      '  name = "m"', //                                                 10
      '}',
      'resource "aws_sagemaker_domain" "d" {',
      '  domain_name = "d"',
      '}',
      'resource "aws_iam_policy" "wide" {', //                           15
      '  policy = jsonencode({',
      '    Version = "2012-10-17"',
      '    Statement = [',
      '      { Effect = "Allow", Action = "*", Resource = "*" },',
      '      { Effect = "Allow", Action = ["iam:PassRole"], Resource = "*" },', // 20
      '    ]',
      '  })',
      '}',
      'resource "aws_iam_role_policy_attachment" "sm" {',
      '  role       = aws_iam_role.nb.name', //                          25
      '  policy_arn = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"',
      '}',
      'data "aws_iam_policy_document" "s3" {',
      '  statement {',
      '    actions   = ["s3:*"]', //                                     30
      '    resources = ["*"]',
      '  }',
      '}',
      'resource "aws_sagemaker_data_quality_job_definition" "q" {',
      '  network_config {', //                                           35
      '    enable_inter_container_traffic_encryption = false',
      '  }',
      '}',
      '',
    ].join('\n');
    assert.deepEqual(summary(await scan({ 'main.tf': tf })), [
      'main.tf:iam-broad-managed-policy@26:medium',
      'main.tf:iam-wildcard@19:high',
      'main.tf:iam-wildcard@20:high',
      'main.tf:iam-wildcard@29:high',
      'main.tf:sagemaker-network-isolation@12:medium',
      'main.tf:sagemaker-network-isolation@9:medium',
      'main.tf:sagemaker-notebook-exposed@1:high',
      'main.tf:sagemaker-notebook-exposed@1:medium',
      'main.tf:sagemaker-notebook-exposed@1:medium',
      'main.tf:sagemaker-unencrypted@1:medium',
      'main.tf:sagemaker-unencrypted@36:medium',
      'main.tf:sagemaker-unencrypted@6:medium',
    ]);
  });

  it('the fixed twin is quiet', async () => {
    const tf = [
      'resource "aws_sagemaker_notebook_instance" "nb" {',
      '  name                   = "research"',
      '  direct_internet_access = "Disabled"',
      '  root_access            = "Disabled"',
      '  subnet_id              = aws_subnet.private.id',
      '  kms_key_id             = aws_kms_key.ml.arn',
      '}',
      'resource "aws_sagemaker_endpoint_configuration" "ec" {',
      '  kms_key_arn = aws_kms_key.ml.arn',
      '}',
      'resource "aws_sagemaker_model" "m" {',
      '  enable_network_isolation = true',
      '}',
      'resource "aws_sagemaker_domain" "d" {',
      '  app_network_access_type = "VpcOnly"',
      '}',
      'resource "aws_iam_policy" "narrow" {',
      '  policy = <<EOF',
      '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::models/*"}]}',
      'EOF',
      '}',
      '',
    ].join('\n');
    assert.deepEqual(summary(await scan({ 'main.tf': tf })), []);
  });
});

describe('Terraform syntax', () => {
  it('a file the HCL reader cannot read is reported with the line', async () => {
    const findings = await scan({ 'broken.tf': 'resource "aws_sagemaker_model" "m" {\n  name = "m"\n' });
    assert.ok(summary(findings).includes('broken.tf:unreadable@1:medium'), summary(findings).join());
  });
});

describe('CloudFormation and policy documents', () => {
  it('YAML and JSON templates, and bare policy JSON', async () => {
    const cfn = [
      'AWSTemplateFormatVersion: "2010-09-09"',
      'Resources:',
      '  Notebook:',
      '    Type: AWS::SageMaker::NotebookInstance',
      '    Properties:', //                                                5
      '      InstanceType: ml.t3.medium',
      '      DirectInternetAccess: Enabled',
      '      RootAccess: Disabled',
      '      SubnetId: subnet-1',
      '      KmsKeyId: alias/ml', //                                        10
      '  Role:',
      '    Type: AWS::IAM::Role',
      '    Properties:',
      '      ManagedPolicyArns:',
      '        - arn:aws:iam::aws:policy/AdministratorAccess', //          15
      '      Policies:',
      '        - PolicyName: p',
      '          PolicyDocument:',
      '            Statement:',
      '              - Effect: Allow', //                                  20
      '                NotAction: iam:*',
      '                Resource: "*"',
      '',
    ].join('\n');
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sagemaker:*', Resource: '*' }, { Effect: 'Deny', Action: '*', Resource: '*' }] }, null, 2);
    assert.deepEqual(summary(await scan({ 'template.yaml': cfn, 'policy.json': policy, 'package.json': '{"name": "x", "version": "1.0.0"}' })), [
      'policy.json:iam-wildcard@4:high',
      'template.yaml:iam-broad-managed-policy@15:high',
      'template.yaml:iam-wildcard@20:medium',
      'template.yaml:sagemaker-notebook-exposed@7:high',
    ]);
  });
});
