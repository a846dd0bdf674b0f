import { clip } from '../../../core/redact.js';
import { defineRule, type Report } from '../../../core/rule.js';
import type { ScanContext, ScanTarget } from '../../../core/scanner.js';
import type { KerasIssue, KerasIssueKind } from './analyze.js';

/**
 * Rules for what a Keras model config would do when loaded. Each rule's `check` reports the issues
 * of its kind from `analyzeKerasConfig`; `reportKerasIssues` routes a whole list. Used by the
 * `.keras`/JSON config format, the legacy HDF5 format and the SavedModel format alike.
 */

type Issues = readonly KerasIssue[];

function where(issue: KerasIssue): string {
  const layer = issue.layer === undefined ? '' : ` (layer "${clip(issue.layer, 60)}")`;
  return `${issue.path === '' ? '(root)' : clip(issue.path, 120)}${layer}`;
}

function evidenceOf(issue: KerasIssue): string {
  const parts = [`${issue.subject} at ${where(issue)}`];
  if (issue.names !== undefined && issue.names.length > 0) parts.push(`names: ${issue.names.slice(0, 20).join(', ')}`);
  if (issue.consts !== undefined && issue.consts.length > 0) parts.push(`strings: ${issue.consts.slice(0, 5).map((c) => JSON.stringify(clip(c, 40))).join(', ')}`);
  return parts.join('; ');
}

function reportEach(kind: KerasIssueKind, issues: Issues, report: Report<'found'>): void {
  for (const issue of issues) {
    if (issue.kind !== kind) continue;
    report({
      message: 'found',
      data: { subject: clip(issue.subject, 120), where: where(issue), reason: clip(issue.reason, 200) },
      severity: issue.severity,
      evidence: evidenceOf(issue),
      key: `${issue.path}\0${issue.subject}`,
      properties: { path: issue.path, ...(issue.layer === undefined ? {} : { layer: issue.layer }) },
    });
  }
}

export const kerasLambdaRule = defineRule<'found' | 'dangerous', Issues>({
  id: 'models/keras-lambda-layer',
  title: 'Keras Lambda layer (Python code in the model)',
  description:
    'A Keras Lambda layer (or any serialized Python lambda in the config) stores its function in the model: usually marshalled ' +
    'Python bytecode, sometimes source text, base64 of something else, or a named function. Loading it with `safe_mode=False` — ' +
    'and always for legacy HDF5 and tf.keras models (CVE-2024-3660, CVE-2025-9905) — rebuilds and runs that code. Every Lambda ' +
    'layer is reported, whatever form its function takes; bytecode is decoded and source text read, without running either, ' +
    'to show what it names.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:502', 'cwe:94', 'owasp-ml:ML06', 'format:keras'],
  remediation:
    'Replace the Lambda layer with a registered custom layer whose code you review and ship with the model, then re-save. ' +
    'Never load models from untrusted sources with safe_mode=False.',
  messages: {
    found: 'Lambda code at {{where}}: {{reason}}.',
    dangerous: 'Lambda code at {{where}} reaches {{names}}: {{reason}}.',
  },
  check(issues, report) {
    for (const issue of issues) {
      if (issue.kind !== 'lambda') continue;
      const dangerous = issue.dangerous ?? [];
      report({
        message: dangerous.length > 0 ? 'dangerous' : 'found',
        data: { where: where(issue), reason: clip(issue.reason, 200), names: dangerous.slice(0, 10).join(', ') },
        severity: issue.severity,
        evidence: evidenceOf(issue),
        key: `${issue.path}\0lambda`,
        properties: { path: issue.path, names: issue.names ?? [], ...(issue.layer === undefined ? {} : { layer: issue.layer }) },
      });
    }
  },
});

export const kerasUnsafeModuleRule = defineRule<'found', Issues>({
  id: 'models/keras-unsafe-module',
  title: 'Keras config imports a module outside Keras',
  description:
    'Keras configs name the module each class or function comes from, and the loader imports it. A config that names `os`, ' +
    '`subprocess`, `builtins.exec` or another module outside Keras runs code or reaches the system while the model loads, ' +
    'even in safe mode on Keras before 3.9 (CVE-2025-1550).',
  severity: 'critical',
  confidence: 'high',
  tags: ['cwe:502', 'cwe:470', 'owasp-ml:ML06', 'format:keras'],
  remediation: 'Do not load this model. Rebuild it from reviewed code; upgrade Keras to a version that restricts config modules to Keras.',
  messages: { found: 'Config references {{subject}} at {{where}}: {{reason}}.' },
  check(issues, report) {
    reportEach('unsafe-module', issues, report);
  },
});

export const kerasDangerousFunctionRule = defineRule<'found', Issues>({
  id: 'models/keras-dangerous-function',
  title: 'Keras config calls a Keras function that touches files or disables safe mode',
  description:
    'Some functions and layers inside the Keras namespace pass the safe-mode module check yet download, read or write files, ' +
    'load further models or switch safe mode off: `keras.utils.get_file` (CVE-2025-8747), `keras.config.enable_unsafe_deserialization` ' +
    '(CVE-2025-9906), `TFSMLayer`, lookup layers whose vocabulary is a file path.',
  severity: 'critical',
  confidence: 'high',
  tags: ['cwe:502', 'cwe:73', 'owasp-ml:ML06', 'format:keras'],
  remediation: 'Do not load this model; upgrade Keras (3.11 or later) and re-create the model without these references.',
  messages: { found: 'Config calls {{subject}} at {{where}}: {{reason}}.' },
  check(issues, report) {
    reportEach('dangerous-function', issues, report);
  },
});

export const kerasTfOpLambdaRule = defineRule<'found', Issues>({
  id: 'models/keras-tf-op-lambda',
  title: 'Keras TFOpLambda layer calls a TensorFlow function that touches files or Python',
  description:
    'tf.keras records TensorFlow API calls made in a functional model as `TFOpLambda`/`SlicingOpLambda` layers naming the function. ' +
    'A config can name `tf.io.write_file`, `tf.io.read_file`, `tf.py_function` or `tf.raw_ops.*` file ops, which then run with ' +
    'the model.',
  severity: 'critical',
  confidence: 'high',
  tags: ['cwe:502', 'cwe:73', 'owasp-ml:ML06', 'format:keras'],
  remediation: 'Do not load this model; rebuild it without TF calls that touch files or Python.',
  messages: { found: 'TFOpLambda calls {{subject}} at {{where}}: {{reason}}.' },
  check(issues, report) {
    reportEach('tf-op-lambda', issues, report);
  },
});

export const kerasCustomObjectRule = defineRule<'found', Issues>({
  id: 'models/keras-custom-object',
  title: 'Keras config needs custom code to load',
  description:
    'The config refers to classes or functions outside Keras (registered custom objects, functions of the loading program, ' +
    'third-party packages) or disguises one with `registered_name`. Loading it imports and runs that code, so the model is only ' +
    'as trustworthy as the code the loader supplies.',
  severity: 'medium',
  confidence: 'medium',
  tags: ['cwe:829', 'owasp-ml:ML06', 'format:keras'],
  remediation: 'Check that every custom object is code you trust and pin it; pass custom objects explicitly (`custom_objects=`).',
  messages: { found: 'Config needs {{subject}} at {{where}}: {{reason}}.' },
  check(issues, report) {
    reportEach('custom-object', issues, report);
  },
});

export const kerasMalformedRule = defineRule<'found', Issues>({
  id: 'models/keras-malformed',
  title: 'Keras config could not be fully read',
  description:
    'A Keras model config is not valid JSON, or exceeds the bounds Custody reads (size, nesting, number of values). What could ' +
    'not be read cannot be judged, so it is reported rather than passed.',
  severity: 'high',
  confidence: 'medium',
  tags: ['cwe:20', 'format:keras'],
  remediation: 'Re-save the model with a current Keras; inspect the config by hand if it really is this large.',
  messages: { found: 'Keras config at {{where}} could not be fully read: {{reason}}.' },
  check(issues, report) {
    reportEach('malformed', issues, report);
  },
});

export const kerasRules = [kerasCustomObjectRule, kerasDangerousFunctionRule, kerasLambdaRule, kerasMalformedRule, kerasTfOpLambdaRule, kerasUnsafeModuleRule] as const;

/**
 * Reports issues from `analyzeKerasConfig` through the Keras rules (synchronously). `member`, when given, is
 * appended to the target's member path (e.g. `keras_metadata.pb`).
 */
export function reportKerasIssues(issues: readonly KerasIssue[], target: ScanTarget, context: ScanContext, member?: string): void {
  if (issues.length === 0) return;
  for (const rule of kerasRules) {
    const report = context.reporter<string>(rule, target);
    const routed: Report<string> = member === undefined ? report : (input) => report({ ...input, member });
    // Every Keras rule's check is synchronous, so reports land before this returns.
    void rule.check(issues, routed);
  }
}
