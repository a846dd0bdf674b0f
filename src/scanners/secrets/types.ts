import type { Rule, RuleMeta } from '../../core/rule.js';
import type { Confidence, Severity } from '../../core/severity.js';
import type { TextIndex } from './text-index.js';

/**
 * How text is read. The kind decides which assignment syntaxes the generic detector accepts and
 * whether an unquoted value is a literal (config formats, shell) or an expression (code).
 */
export type TextKind = 'code' | 'shell' | 'dockerfile' | 'env' | 'yaml' | 'json' | 'ini' | 'toml' | 'netrc' | 'text';

/** A document the detectors read: a window of a file, or a decoded notebook field. */
export interface SecretDoc {
  readonly text: string;
  readonly kind: TextKind;
  /** Lowercase base name of the file (`kaggle.json`, `.netrc`), for format hints. */
  readonly baseName: string;
  /** Lowercase display path (`src/locales/de.json`, `image.tar!etc/app.env`), when known: for path hints such as translation files. */
  readonly path?: string;
}

/** A document as detectors see it: with memoised searches, so that the work at each keyword hit stays bounded. */
export interface ScanDoc extends SecretDoc {
  readonly index: TextIndex;
}

/** A secret found in a document by one rule's detector, before overlap resolution and reporting. */
export interface RawCandidate {
  /** Offsets of the secret value in the document text. */
  readonly start: number;
  readonly end: number;
  /** The raw value: handed to the engine's `report({ secret })`, which redacts and hashes it. */
  readonly secret: string;
  readonly message: string;
  readonly data?: Readonly<Record<string, string | number>>;
  readonly severity?: Severity;
  readonly confidence?: Confidence;
  /** Shown to the user; may contain `secret` (the engine redacts it) but no other sensitive text. */
  readonly evidence?: string;
  /** Extra safe facts (never values). */
  readonly properties?: Readonly<Record<string, unknown>>;
}

export interface Candidate extends RawCandidate {
  readonly rule: SecretRule;
}

/**
 * The construct a value was read from: `assign` (`NAME = value`, `name: value`, `"name": "value"`), `flag`
 * (`--password value`), `call` (`setPassword("…")`, `define('PASSWORD', '…')`, `curl_easy_setopt(c, CURLOPT_PASSWORD, "…")`),
 * `default` (the fallback literal of an environment lookup: `getenv("X", "…")`, `… or "…"`), `compare`
 * (`password == "…"`), `sql` (`IDENTIFIED BY '…'`, `PASSWORD '…'`), `element` (`<password>…</password>`),
 * `query` (`?token=…&`), `define` (`#define PASSWORD "…"`), `header` (`Authorization: Bearer …`).
 */
export type AssignmentSyntax = 'assign' | 'flag' | 'call' | 'default' | 'compare' | 'sql' | 'element' | 'query' | 'define' | 'header';

/** Where a candidate value came from in an assignment-like construct. */
export interface Assignment {
  /** The name as written (`WANDB_API_KEY`, `db.password`, `--hf-token`). */
  readonly name: string;
  /** Lowercase words of the name (`['wandb', 'api', 'key']`). */
  readonly words: readonly string[];
  readonly value: string;
  readonly valueStart: number;
  readonly valueEnd: number;
  /** The value was a string literal (quoted), as opposed to an unquoted config/shell value. */
  readonly quoted: boolean;
  /**
   * The assignment sits in prose: a comment, a string of text in code, a word-style field in a plain-text or
   * Markdown file (`Password: …`, `id:admin pw:…`), or a translation file. Values there must look like
   * credentials by themselves.
   */
  readonly prose: boolean;
  readonly syntax: AssignmentSyntax;
  /**
   * Lowercase text that says which provider this belongs to: the callee (`wandb.login`), netrc machine, file name.
   * Computed on first use (it reads up to 2 KiB around the name).
   */
  readonly context: string;
}

/** What a detector reports through: it builds candidates for its own rules. */
export type Emit = (candidate: RawCandidate) => void;

/**
 * A keyword-anchored detector. The prefilter finds every keyword in one pass over the text and calls
 * `find` at each hit; `find` reads only a bounded window around `pos`.
 */
export interface KeywordDetector {
  /** Literal keywords; matched case-sensitively unless `ignoreCase`. */
  readonly keywords: readonly string[];
  readonly ignoreCase?: boolean;
  find(doc: ScanDoc, pos: number, keyword: string, emit: Emit): void;
}

/**
 * How strongly an assignment must point at a provider: by its own name (`WANDB_API_KEY`), or by its
 * surroundings (`wandb.login(key=…)`, `machine api.wandb.ai`). Classifiers are asked by name first.
 */
export type AssignmentMode = 'name' | 'context';

/** A classifier for assignments (`NAME = "value"`): returns a candidate when the value is this rule's secret. */
export type AssignmentClassifier = (assignment: Assignment, doc: ScanDoc, mode: AssignmentMode) => Omit<RawCandidate, 'start' | 'end' | 'secret'> | undefined;

/** A rule's own true and false positives, generated at run time so no committed file holds a realistic secret. */
export interface RuleExamples {
  /** Each text must produce a finding of this rule. */
  readonly positive: readonly ExampleText[];
  /** Each text must produce no finding of this rule. */
  readonly negative: readonly ExampleText[];
}

export interface ExampleText {
  readonly text: string;
  /** File name to scan the text as (decides the text kind); default `example.txt`. */
  readonly file?: string;
}

export interface SecretRuleExtras {
  /** The provider family (one rule file per family): `github`, `aws`, `generic`… */
  readonly family: string;
  /** Higher wins when two candidates overlap (provider-specific over generic). */
  readonly priority: number;
  readonly detectors?: readonly KeywordDetector[];
  readonly assignment?: AssignmentClassifier;
  /** Every regular expression the rule runs, for the linear-time test. */
  readonly patterns: readonly RegExp[];
  /** Built lazily from a seeded generator (see fake.ts). */
  readonly examples: () => RuleExamples;
}

/** The context a secrets rule's `check` receives: one resolved candidate. */
export interface SecretCheck {
  readonly candidate: Candidate;
  readonly line?: number;
  readonly column?: number;
  readonly offset?: number;
  readonly properties?: Record<string, unknown>;
}

export type SecretRule = Rule<string, SecretCheck> & SecretRuleExtras;

export type SecretRuleDefinition<M extends string> = RuleMeta<M> & SecretRuleExtras;
