import type { DataContract } from './contract.js';
import type { DataProfile } from './profile.js';
import type { RejectedRow } from './table.js';

/**
 * What `custody data check` measured, handed to the data rules (src/data/rules.ts), which compare it
 * with the contract's thresholds and report. Every example is a row id: the key's value when there is
 * a key, otherwise `part row N`.
 */

export interface NumericComparison {
  column: string;
  psi: number;
  ks: number;
  /** Wasserstein-1 over the quantile functions, divided by the baseline's standard deviation (or range). */
  wasserstein: number;
  /** Candidate mean and the baseline's, for messages. */
  baselineMean: number;
  candidateMean: number;
  candidateCount: number;
  /** KS p-value, computed for small samples only (fewer than 1000 effective rows). */
  pValue?: number;
  /** Candidate counts in the baseline's bins (for plots). */
  baselineBins: number[];
  candidateBins: number[];
  edges: number[];
}

export interface CategoricalComparison {
  column: string;
  /** Largest change of one value's share, and that value. */
  linf: number;
  linfValue: string;
  baselineShare: number;
  candidateShare: number;
  js: number;
  /** Share of candidate values absent from the baseline (when the baseline lists every value). */
  unseen?: number;
  unseenValues?: { value: string; count: number }[];
}

export interface ExampleSet {
  count: number;
  /** At most 100 row ids. */
  examples: string[];
}

export interface TriggerToken {
  column: string;
  token: string;
  rows: number;
  label: string;
  labelRows: number;
  /** Rows expected from the baseline's frequency (at most the vocabulary cutoff when it was not listed). */
  expected: number;
  surge: number;
  purity: number;
  /** The label's overall share among candidate rows. */
  labelShare: number;
  examples: string[];
}

export interface OutlierComparison {
  column: string;
  label: string;
  baselineRate: number;
  candidateRate: number;
  candidateRows: number;
  outliers: number;
  examples: string[];
}

export interface RowDiff {
  key: string;
  added: number;
  removed: number;
  modified: number;
  unchanged: number;
  /** Changed values per column among modified rows. */
  changedByColumn: Record<string, number>;
  addedExamples: string[];
  removedExamples: string[];
  modifiedExamples: string[];
  /** Keys whose label differs between versions. */
  labelFlips?: ExampleSet & { shared: number; byTransition: Record<string, number> };
  /** Values of frozen columns changed for existing keys. */
  frozenChanges: { column: string; count: number; examples: string[] }[];
}

export interface CheckAnalysis {
  /** Display path of the candidate (finding locations). */
  path: string;
  baseline: DataProfile;
  candidate: DataProfile;
  contract: DataContract;
  unreadable: { count: number; examples: RejectedRow[] };
  numeric: NumericComparison[];
  categorical: CategoricalComparison[];
  duplicates: { exact: ExampleSet; canonical: ExampleSet };
  conflicts: ExampleSet & { groups: number };
  duplicateKeys?: ExampleSet;
  triggers: TriggerToken[];
  outliers: OutlierComparison[];
  nearDuplicates?: { rows: number; clusters: number; population: number; baselineRate: number; examples: string[]; among: 'added rows' | 'all rows' };
  rowDiff?: RowDiff;
  /** Content hashes when the contract freezes content. */
  content?: { baseline: string; candidate: string };
}
