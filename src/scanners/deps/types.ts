/** The facts the deps scanner extracts from one manifest or lockfile; its rules read only these. */

export type Ecosystem = 'pypi' | 'npm' | 'conda';

export type ManifestKind =
  | 'requirements'
  | 'pyproject'
  | 'pipfile'
  | 'pipfile-lock'
  | 'poetry-lock'
  | 'uv-lock'
  | 'pdm-lock'
  | 'conda'
  | 'package-json'
  | 'package-lock'
  | 'pip-conf'
  | 'env-text';

export interface Position {
  line: number;
  column: number;
}

export interface VcsRef {
  /** The repository URL without the ref. */
  url: string;
  /** Branch, tag or commit as written; undefined when no ref is given (the default branch). */
  ref?: string;
}

export interface Dependency {
  ecosystem: Ecosystem;
  /** As written. */
  name: string;
  /** PEP 503 normalised for PyPI (lower case, `-` for runs of `-_.`); lower case for npm. */
  normalized: string;
  /** The version constraint as written (`==1.2`, `^1.2`, `*`, ''), without URL. */
  spec: string;
  /** The exact version when the constraint pins one (`==1.2.3`, `===1.2.3`, `1.2.3` in a lockfile). */
  pinned?: string;
  /** True when the dependency comes from a lockfile (its version is what gets installed). */
  locked: boolean;
  /** Hashes recorded for it (`--hash`, lockfile hashes, `#sha256=` on a URL). */
  hashed: boolean;
  url?: string;
  vcs?: VcsRef;
  /** A local path or editable local project (`-e .`, `file:`, `path =`): nothing is downloaded. */
  local?: boolean;
  /** The dependency names an index of its own (Pipfile `index =`, uv/poetry `source =`/`index =`). */
  pinnedIndex?: string;
  position: Position;
  /** The text of the line, for evidence. */
  text: string;
}

export type SourceKind =
  /** An index used in addition to the default one: pip merges candidates from every index. */
  | 'extra-index'
  /** The index replacing PyPI (`--index-url`, a Pipfile/poetry primary source). */
  | 'index'
  /** `--trusted-host`, `verify_ssl = false`: TLS verification off for a host. */
  | 'trusted-host'
  /** A resolver setting that takes the best match across every index (uv `unsafe-best-match`). */
  | 'unsafe-strategy'
  | 'find-links';

export interface SourceSetting {
  kind: SourceKind;
  value: string;
  position: Position;
  text: string;
}

export interface ManifestProblem {
  message: string;
  position: Position;
}

export interface DepsAnalysis {
  kind: ManifestKind;
  /** Lock status of a manifest that declares dependencies: present, absent, or unknown (a member). */
  lockfile: 'present' | 'absent' | 'unknown' | 'not-applicable';
  /** `--require-hashes`, or a lockfile that records hashes for everything. */
  requireHashes: boolean;
  dependencies: Dependency[];
  sources: SourceSetting[];
  problems: ManifestProblem[];
}
