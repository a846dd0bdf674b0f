import { defineRule } from '../../core/rule.js';

/** Reported by the scanner (YAML errors, size) and by domains whose own parser finds problems (HCL). */
export const configUnreadableRule = defineRule<'yaml' | 'syntax' | 'tooLarge', void>({
  id: 'config/unreadable',
  title: 'A configuration file could not be read',
  description: 'A file recognised as configuration (Kubernetes, CI, CloudFormation, …) has syntax errors or is larger than the configuration limit, so the settings in it were not all checked. The tool that reads it may read it differently; it is reported rather than treated as clean.',
  severity: 'medium',
  confidence: 'high',
  tags: ['cwe:703'],
  remediation: 'Fix the syntax the message names (the consumer would fail or misread it too), or exclude the file if it is not configuration.',
  messages: {
    yaml: 'Not valid YAML: {{problem}}; settings after this point may not have been checked.',
    syntax: 'Not valid {{language}}: {{problem}}; settings after this point may not have been checked.',
    tooLarge: 'The file is {{size}} bytes, over the {{limit}}-byte configuration limit; it was not checked.',
  },
  check: () => undefined,
});

