import { defineRule } from '../../core/rule.js';

/** Rules the history scan reports itself; their `check` is unused (reported directly). */
export const blobNotScannedRule = defineRule<'tooLarge' | 'missing', void>({
  id: 'history/blob-not-scanned',
  title: 'A file version in git history could not be scanned',
  description:
    'While scanning git history, a version of a file (a blob) was larger than the history size limit, or ' +
    'its object was missing from the repository (a shallow or partial clone). Its content is unknown, so it ' +
    'is reported rather than treated as clean.',
  severity: 'medium',
  confidence: 'high',
  tags: ['cwe:703'],
  remediation:
    'For large blobs, check out the commit and scan the file directly (`git show <commit>:<path> > file && custody scan file`), ' +
    'or raise the limit. For missing objects, scan a full clone (`git fetch --unshallow`, no `--filter`).',
  messages: {
    tooLarge: 'Version of {{historyPath}} introduced in {{commit}} is {{size}} bytes, above the {{limit}}-byte history limit; it was not scanned.',
    missing: 'Version of {{historyPath}} introduced in {{commit}} is missing from the repository (shallow or partial clone?); it was not scanned.',
  },
  check: () => undefined,
});

export const historyRules = [blobNotScannedRule] as const;
