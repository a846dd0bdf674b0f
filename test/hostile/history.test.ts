/**
 * Red-team cases for `custody scan --history`: a repository whose configuration, hooks, object store
 * or surroundings are hostile. Each repository is built here with real git; every planted payload
 * touches a file in the sandbox's canary directory, which must stay empty. Each case must end in a
 * finding (the malicious pickle committed and deleted in history) or a coded error, within bounds,
 * with nothing outside the tree written.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertFindingOrCodedError, assertNoCommandRan, assertUnchanged, canaryCommand, makeSandbox, removeSandbox, runCustody, snapshot, type RunBounds, type Sandbox } from '../support/hostile.js';

/** Runs git to build a fixture, with the test's own clean environment (never the repository's payloads). */
function git(cwd: string, args: readonly string[], input?: string): string {
  const result = spawnSync('git', ['-c', 'core.hooksPath=/dev/null', '-c', 'protocol.allow=never', ...args], {
    cwd,
    input,
    encoding: 'utf8',
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: cwd,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: 'Red Team',
      GIT_AUTHOR_EMAIL: 'red@example.invalid',
      GIT_COMMITTER_NAME: 'Red Team',
      GIT_COMMITTER_EMAIL: 'red@example.invalid',
      GIT_NO_LAZY_FETCH: '1',
      GIT_ALLOW_PROTOCOL: 'none_',
    },
  });
  assert.equal(result.status, 0, `git ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

/** A pickle that calls os.system: the history scan must report it (it is data here, never run). */
function maliciousPickle(box: Sandbox): Buffer {
  return Buffer.from(`cos\nsystem\n(S'${canaryCommand(box, 'pickle-loaded')}'\ntR.`, 'latin1');
}

interface Repo {
  dir: string;
  gitDir: string;
  /** Blob id of notes.txt (a blob no payload depends on, to remove for lazy-fetch cases). */
  notesBlob: string;
}

/**
 * The tree as a repository: the malicious pickle committed, then a note, then the pickle deleted,
 * so only a history scan finds it.
 */
function buildRepo(box: Sandbox): Repo {
  const dir = box.tree;
  git(dir, ['init', '-q', '-b', 'main']);
  writeFileSync(join(dir, 'README.md'), '# project\n');
  writeFileSync(join(dir, 'model.pkl'), maliciousPickle(box));
  git(dir, ['add', '.']);
  git(dir, ['commit', '-q', '-m', 'add model']);
  writeFileSync(join(dir, 'notes.txt'), 'release notes\n');
  git(dir, ['add', 'notes.txt']);
  git(dir, ['commit', '-q', '-m', 'notes']);
  git(dir, ['rm', '-q', 'model.pkl']);
  git(dir, ['commit', '-q', '-m', 'remove model']);
  return { dir, gitDir: join(dir, '.git'), notesBlob: git(dir, ['rev-parse', 'HEAD:notes.txt']) };
}

/** Removes a loose object (the repository becomes a partial clone missing it). */
function removeObject(repo: Repo, sha: string): void {
  rmSync(join(repo.gitDir, 'objects', sha.slice(0, 2), sha.slice(2)));
}

function setConfig(repo: Repo, entries: Record<string, string>): void {
  for (const [key, value] of Object.entries(entries)) git(repo.dir, ['config', '--add', key, value]);
}

/** Makes the repository a partial clone whose promisor remote `origin` is `url`, with `notes.txt`'s blob missing. */
function makePartialClone(repo: Repo, url: string, extra: Record<string, string> = {}): void {
  setConfig(repo, { 'core.repositoryformatversion': '1', 'extensions.partialClone': 'origin', 'remote.origin.url': url, 'remote.origin.promisor': 'true', 'remote.origin.partialclonefilter': 'blob:none', ...extra });
  removeObject(repo, repo.notesBlob);
}

function commitAttributes(repo: Repo, text: string): void {
  writeFileSync(join(repo.dir, '.gitattributes'), text);
  git(repo.dir, ['add', '.gitattributes']);
  git(repo.dir, ['commit', '-q', '-m', 'attributes']);
}

/** An executable script that touches the canary (for hooks, helpers and drivers git runs by path). */
function payloadScript(box: Sandbox, path: string, label: string): void {
  writeFileSync(path, `#!/bin/sh\n${canaryCommand(box, label)}\ncat >/dev/null 2>&1\nexit 0\n`);
  chmodSync(path, 0o755);
}

const HOOKS = ['pre-commit', 'post-checkout', 'post-merge', 'post-rewrite', 'reference-transaction', 'pre-auto-gc', 'post-index-change', 'fsmonitor-watchman', 'pre-push', 'post-update', 'push-to-checkout'];

interface Case {
  name: string;
  plant(box: Sandbox, repo: Repo): void;
  /** Extra environment for the custody process (the caller's environment). */
  env?(box: Sandbox, repo: Repo): Record<string, string>;
  /** A coded error is the right ending (the default expects the pickle finding). */
  code?: string;
  bounds?: RunBounds;
}

const CASES: Case[] = [
  {
    name: 'partial clone: a missing blob makes git lazy-fetch from a promisor remote whose uploadpack is a shell command',
    plant(box, repo) {
      makePartialClone(repo, repo.dir, { 'remote.origin.uploadpack': `${canaryCommand(box, 'uploadpack')}; git-upload-pack` });
    },
  },
  {
    name: 'partial clone: the repository re-allows every protocol (protocol.allow, protocol.file.allow = always)',
    plant(box, repo) {
      makePartialClone(repo, repo.dir, { 'remote.origin.uploadpack': `${canaryCommand(box, 'uploadpack-allowed')}; git-upload-pack`, 'protocol.allow': 'always', 'protocol.file.allow': 'always' });
    },
  },
  {
    name: 'partial clone: an ext:: remote (a command line as transport) with protocol.ext.allow = always',
    plant(box, repo) {
      makePartialClone(repo, `ext::sh -c ${canaryCommand(box, 'ext').replace(/ /g, '% ')}`, { 'protocol.ext.allow': 'always' });
    },
  },
  {
    name: 'partial clone: an ssh remote whose core.sshCommand is a payload',
    plant(box, repo) {
      makePartialClone(repo, 'ssh://example.invalid/repo.git', { 'core.sshCommand': canaryCommand(box, 'ssh'), 'protocol.ssh.allow': 'always' });
    },
  },
  {
    name: 'partial clone: a remote helper of any name (<name>::url) that is on PATH, allowed by the repository',
    plant(box, repo) {
      makePartialClone(repo, 'custodyevil::whatever', { 'protocol.custodyevil.allow': 'always' });
    },
    env(box) {
      const bin = join(box.home, 'bin');
      mkdirSync(bin, { recursive: true });
      payloadScript(box, join(bin, 'git-remote-custodyevil'), 'remote-helper');
      return { PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}` };
    },
  },
  {
    name: 'partial clone: an http remote with a credential helper and an askpass payload',
    plant(box, repo) {
      makePartialClone(repo, 'http://127.0.0.1:9/repo.git', { 'credential.helper': `!${canaryCommand(box, 'credential')}`, 'core.askPass': join(box.tree, 'askpass.sh'), 'protocol.http.allow': 'always' });
      payloadScript(box, join(box.tree, 'askpass.sh'), 'askpass');
    },
  },
  {
    name: 'partial clone with a tree missing: git cannot walk the history (a coded error, never a fetch)',
    plant(box, repo) {
      const tree = git(repo.dir, ['rev-parse', 'HEAD~1^{tree}']);
      makePartialClone(repo, repo.dir, { 'remote.origin.uploadpack': `${canaryCommand(box, 'uploadpack-tree')}; git-upload-pack` });
      removeObject(repo, tree);
    },
    code: 'IO_ERROR',
  },
  {
    name: 'core.fsmonitor is a command',
    plant(box, repo) {
      setConfig(repo, { 'core.fsmonitor': canaryCommand(box, 'fsmonitor'), 'core.fsmonitorHookVersion': '2' });
    },
  },
  {
    name: 'every hook, in .git/hooks and in a core.hooksPath directory',
    plant(box, repo) {
      const hooksPath = join(box.tree, 'hooks');
      mkdirSync(hooksPath);
      for (const hook of HOOKS) {
        payloadScript(box, join(repo.gitDir, 'hooks', hook), `hook-${hook}`);
        payloadScript(box, join(hooksPath, hook), `hooksPath-${hook}`);
      }
      setConfig(repo, { 'core.hooksPath': hooksPath });
    },
  },
  {
    name: 'a pager: core.pager, pager.log, pager.cat-file',
    plant(box, repo) {
      setConfig(repo, { 'core.pager': canaryCommand(box, 'core-pager'), 'pager.log': canaryCommand(box, 'pager-log'), 'pager.cat-file': canaryCommand(box, 'pager-cat-file') });
    },
    env: (box) => ({ PAGER: canaryCommand(box, 'env-pager') }),
  },
  {
    name: 'external diff and textconv drivers named by .gitattributes',
    plant(box, repo) {
      commitAttributes(repo, '* diff=evil\n');
      setConfig(repo, { 'diff.external': canaryCommand(box, 'diff-external'), 'diff.evil.command': canaryCommand(box, 'diff-command'), 'diff.evil.textconv': canaryCommand(box, 'textconv'), 'diff.evil.cachetextconv': 'true' });
    },
  },
  {
    name: 'clean, smudge and process filters named by .gitattributes',
    plant(box, repo) {
      commitAttributes(repo, '* filter=evil\n');
      setConfig(repo, { 'filter.evil.clean': canaryCommand(box, 'clean'), 'filter.evil.smudge': canaryCommand(box, 'smudge'), 'filter.evil.process': canaryCommand(box, 'process'), 'filter.evil.required': 'true' });
    },
  },
  {
    name: 'a signed commit with log.showSignature and gpg.program / gpg.ssh.program payloads',
    plant(box, repo) {
      const head = git(repo.dir, ['cat-file', 'commit', 'HEAD']);
      const [headers = '', message = ''] = head.split('\n\n');
      const signed = `${headers}\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n wsBcBAABCAAQBQJjAAAACRAAAAAAAAAAAAAA\n -----END PGP SIGNATURE-----\n\n${message}\n`;
      const sha = git(repo.dir, ['hash-object', '-t', 'commit', '-w', '--stdin'], signed);
      git(repo.dir, ['update-ref', 'refs/heads/main', sha]);
      payloadScript(box, join(box.tree, 'gpg.sh'), 'gpg');
      setConfig(repo, { 'log.showSignature': 'true', 'gpg.program': join(box.tree, 'gpg.sh'), 'gpg.openpgp.program': join(box.tree, 'gpg.sh'), 'gpg.ssh.program': join(box.tree, 'gpg.sh') });
    },
  },
  {
    name: 'core.alternateRefsCommand with an alternate object store',
    plant(box, repo) {
      const other = join(box.tree, 'vendor');
      mkdirSync(other);
      git(other, ['init', '-q', '--bare']);
      writeFileSync(join(repo.gitDir, 'objects', 'info', 'alternates'), `${join(other, 'objects')}\n`);
      setConfig(repo, { 'core.alternateRefsCommand': canaryCommand(box, 'alternate-refs'), 'core.alternateRefsPrefixes': 'refs/heads' });
    },
  },
  {
    name: 'include.path and includeIf pull in a config of payloads (fsmonitor, pager, uploadpack on a partial clone)',
    plant(box, repo) {
      const included = join(box.tree, 'evil.gitconfig');
      writeFileSync(included, `[core]\n\tfsmonitor = ${canaryCommand(box, 'include-fsmonitor')}\n\tpager = ${canaryCommand(box, 'include-pager')}\n[remote "origin"]\n\tuploadpack = ${canaryCommand(box, 'include-uploadpack')}; git-upload-pack\n[protocol]\n\tallow = always\n`);
      makePartialClone(repo, repo.dir);
      setConfig(repo, { 'include.path': included, [`includeIf.gitdir:${repo.gitDir}/.path`]: included });
    },
  },
  {
    name: "the caller's environment: GIT_CONFIG_COUNT/KEY/VALUE, GIT_CONFIG_PARAMETERS, GIT_EXTERNAL_DIFF, GIT_PAGER, GIT_SSH_COMMAND",
    plant(box, repo) {
      makePartialClone(repo, 'ssh://example.invalid/repo.git');
    },
    env: (box) => ({
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: 'core.fsmonitor',
      GIT_CONFIG_VALUE_0: canaryCommand(box, 'env-config-fsmonitor'),
      GIT_CONFIG_KEY_1: 'protocol.ssh.allow',
      GIT_CONFIG_VALUE_1: 'always',
      GIT_CONFIG_PARAMETERS: `'core.pager'='${canaryCommand(box, 'env-parameters-pager')}'`,
      GIT_EXTERNAL_DIFF: canaryCommand(box, 'env-external-diff'),
      GIT_PAGER: canaryCommand(box, 'env-git-pager'),
      GIT_SSH_COMMAND: canaryCommand(box, 'env-ssh-command'),
      GIT_ALLOW_PROTOCOL: 'ssh:file:ext',
    }),
  },
  {
    name: 'PATH holds "." and the repository ships an executable named git (and git-upload-pack)',
    plant(box, repo) {
      payloadScript(box, join(repo.dir, 'git'), 'shipped-git');
      payloadScript(box, join(repo.dir, 'git-upload-pack'), 'shipped-upload-pack');
      makePartialClone(repo, repo.dir);
    },
    env: () => ({ PATH: `.::${process.env['PATH'] ?? '/usr/bin:/bin'}` }),
  },
  {
    name: 'grafts, replace refs and a lying log.diffMerges cannot hide the commit that added the pickle',
    plant(_box, repo) {
      // Cut the commit before HEAD off from its parents twice: a replace ref and info/grafts.
      const notes = git(repo.dir, ['rev-parse', 'HEAD~1']);
      git(repo.dir, ['replace', '--graft', notes]);
      writeFileSync(join(repo.gitDir, 'info', 'grafts'), `${git(repo.dir, ['rev-parse', 'HEAD'])}\n${notes}\n`);
      setConfig(repo, { 'log.diffMerges': 'combined', 'log.follow': 'true', 'diff.renames': 'copies' });
    },
  },
  {
    name: 'a planted shallow file hides the commit that added the pickle',
    plant(_box, repo) {
      writeFileSync(join(repo.gitDir, 'shallow'), `${git(repo.dir, ['rev-parse', 'HEAD~1'])}\n`);
    },
  },
  {
    name: 'a FIFO as .mailmap in the work tree, and diff.orderFile / core.attributesFile / mailmap.file naming FIFOs and /dev/zero',
    plant(box, repo) {
      mkfifo(join(repo.dir, '.mailmap'));
      mkfifo(join(box.tree, 'order.fifo'));
      setConfig(repo, { 'diff.orderFile': join(box.tree, 'order.fifo'), 'core.attributesFile': '/dev/zero', 'mailmap.file': join(box.tree, 'order.fifo'), 'log.mailmap': 'true' });
    },
  },
  {
    name: 'a loose object replaced by a FIFO',
    plant(_box, repo) {
      const path = join(repo.gitDir, 'objects', repo.notesBlob.slice(0, 2), repo.notesBlob.slice(2));
      rmSync(path);
      mkfifo(path);
    },
    code: 'SPECIAL_FILE',
  },
  {
    name: 'objects/info/alternates is a symbolic link to /dev/zero',
    plant(_box, repo) {
      symlinkSync('/dev/zero', join(repo.gitDir, 'objects', 'info', 'alternates'));
    },
    code: 'SPECIAL_FILE',
  },
  {
    name: 'an alternate object store (in the work tree) holding a FIFO pack',
    plant(box, repo) {
      const store = join(box.tree, 'store');
      mkdirSync(join(store, 'pack'), { recursive: true });
      mkfifo(join(store, 'pack', 'pack-0000000000000000000000000000000000000000.idx'));
      writeFileSync(join(repo.gitDir, 'objects', 'info', 'alternates'), '../../store\n');
    },
    code: 'SPECIAL_FILE',
  },
  {
    name: 'a config include naming a FIFO',
    plant(box, repo) {
      mkfifo(join(box.tree, 'include.fifo'));
      setConfig(repo, { 'include.path': '../include.fifo' });
    },
    code: 'SPECIAL_FILE',
  },
  {
    name: '.git/HEAD is a FIFO',
    plant(_box, repo) {
      const head = join(repo.gitDir, 'HEAD');
      renameSync(head, join(repo.gitDir, 'HEAD.real'));
      mkfifo(head);
    },
    code: 'SPECIAL_FILE',
  },
];

function mkfifo(path: string): void {
  const result = spawnSync('mkfifo', [path]);
  assert.equal(result.status, 0, `mkfifo ${path}`);
}

describe('hostile repositories: custody scan --history runs nothing, fetches nothing, never hangs', { concurrency: 2 }, () => {
  for (const hostile of CASES) {
    it(hostile.name, () => {
      const box = makeSandbox('history');
      try {
        const repo = buildRepo(box);
        hostile.plant(box, repo);
        const env = hostile.env?.(box, repo) ?? {};
        writeFileSync(join(box.outside, 'victim.txt'), 'keep me\n');
        const before = snapshot(box.outside);
        const result = runCustody(box, ['scan', '--history', '--only', 'models', '--format', 'json', '--fail-on', 'medium', '.'], { env, ...hostile.bounds });
        assertNoCommandRan(box);
        assertUnchanged(before, box.outside);
        if (hostile.code !== undefined) assertFindingOrCodedError(result, { code: hostile.code });
        else {
          assertFindingOrCodedError(result, { rule: 'models/pickle-' });
          // The finding is the deleted pickle, attributed to the commit that added it.
          const report = JSON.parse(result.stdout) as { findings: { ruleId: string; location: { path: string }; properties?: Record<string, unknown> }[] };
          assert.ok(
            report.findings.some((f) => f.ruleId.startsWith('models/pickle-') && f.location.path === 'model.pkl' && typeof f.properties?.['commit'] === 'string'),
            JSON.stringify(report.findings.map((f) => [f.ruleId, f.location.path])),
          );
        }
        assert.deepEqual(readdirSync(box.canary), []);
      } finally {
        removeSandbox(box);
      }
    });
  }
});
