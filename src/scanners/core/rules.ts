import { defineRule } from '../../core/rule.js';

/** Rules the engine itself reports; their `check` is unused (the engine reports them directly). */
export const scanErrorRule = defineRule<'failed', void>({
  id: 'core/scan-error',
  title: 'File could not be fully scanned',
  description:
    'A scanner failed on this file before reading all of it. Custody never treats an unread file as clean: ' +
    'whatever the unread part holds is unknown, so the file is reported.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:703'],
  remediation: 'Inspect the file by hand, or report the error message to the Custody maintainers if the file is valid.',
  messages: { failed: 'The {{scanner}} scanner could not finish this file: {{reason}}' },
  check: () => undefined,
});

export const invalidSuppressionRule = defineRule<'noReason' | 'unknownRule', void>({
  id: 'core/invalid-suppression',
  title: 'Suppression comment without a reason or with an unknown rule',
  description:
    'Inline suppressions (`custody-ignore <rule-id> -- <reason>`) must name a known rule and give a reason, ' +
    'so that every silenced finding is explained in review. A suppression that does not is ignored and reported.',
  severity: 'low',
  confidence: 'high',
  tags: ['cwe:1078'],
  remediation: 'Write the suppression as `custody-ignore <rule-id> -- <why this is safe>`.',
  messages: {
    noReason: 'Suppression of {{rule}} has no reason; it is ignored. Add `-- <reason>`.',
    unknownRule: 'Suppression names unknown rule {{rule}}; it is ignored.',
  },
  check: () => undefined,
});

export const nestingLimitRule = defineRule<'tooDeep', void>({
  id: 'core/nesting-limit',
  title: 'Containers nested too deeply to scan',
  description:
    'A container (zip, tar, compressed stream, image layer) holds further containers deeper than `limits.maxNesting`. ' +
    'The innermost content was not scanned, so it is reported rather than passed.',
  severity: 'high',
  confidence: 'medium',
  tags: ['cwe:409'],
  remediation: 'Unpack the artifact and scan its parts, or raise `limits.maxNesting` in .custody.yml if the nesting is legitimate.',
  messages: { tooDeep: 'Nested container {{member}} is deeper than {{limit}} levels and was not scanned.' },
  check: () => undefined,
});

export const findingsCappedRule = defineRule<'capped', void>({
  id: 'core/findings-capped',
  title: 'More findings of one rule than are listed',
  description:
    'One file produced more findings of a rule than `limits.maxFindingsPerRule`. The first ones are listed; the rest are ' +
    'counted in this finding, which carries the highest severity among them, so the exit code still reflects every one.',
  severity: 'info',
  confidence: 'high',
  tags: ['cwe:400'],
  remediation: 'Fix the listed findings and scan again, or raise `limits.maxFindingsPerRule` in .custody.yml to list them all.',
  messages: { capped: '{{count}} more {{rule}} finding(s) in this file are not listed (limits.maxFindingsPerRule is {{limit}}).' },
  check: () => undefined,
});

export const linkOutsideRootRule = defineRule<'outside', void>({
  id: 'core/link-outside-root',
  title: 'Symbolic link leads outside the scanned tree',
  description:
    'A symbolic link inside the scanned tree points to a place outside every scanned path (and outside a Hugging Face ' +
    "cache repository's own blobs). Custody does not follow it, so whatever a loader would read through it was not " +
    'scanned; such a link can also make a tool that serves or packs the tree read files of the machine it runs on.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:59'],
  remediation: 'Replace the link with the file it points to, or scan the target too (name it on the command line).',
  messages: { outside: 'Symbolic link to {{target}} leads outside the scanned tree; it was not followed and its target was not scanned.' },
  check: () => undefined,
});

export const specialFileRule = defineRule<'special', void>({
  id: 'core/special-file',
  title: 'FIFO, socket or device where a file was expected',
  description:
    'A path to scan is a FIFO, socket or device rather than a regular file. Its content is not read (reading it could ' +
    'block forever or never end), so it is reported rather than passed: a loader that opens it reads whatever the other ' +
    'end provides.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:703'],
  remediation: 'Remove it from the tree, or copy what it should hold into a regular file and scan that.',
  messages: { special: 'This path is {{type}}, not a regular file; it was not read.' },
  check: () => undefined,
});

export const coreRules = [findingsCappedRule, invalidSuppressionRule, linkOutsideRootRule, nestingLimitRule, scanErrorRule, specialFileRule] as const;
