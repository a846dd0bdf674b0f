// Public API of src/data: fingerprint, profile and check training-data versions with DuckDB
// (CSV, JSON Lines, Parquet). Findings use the one Finding model; see docs/data.md.
export type { CategoricalComparison, CheckAnalysis, ExampleSet, NumericComparison, OutlierComparison, RowDiff, TriggerToken } from './analysis.js';
export { buildDataCheckAttestation, type DataCheckAttestationInput } from './attest.js';
export { checkDataset, jsDistance, kolmogorovPValue, runRules, type CheckOptions, type DataCheckResult, type DataCheckSummary } from './check.js';
export { DEFAULT_THRESHOLDS, defaultContract, loadContract, parseContract, type DataContract, type ThresholdName, type Thresholds } from './contract.js';
export { checkMemoryLimit, DataEngine, DEFAULT_MEMORY_LIMIT, DEFAULT_QUERY_TIMEOUT_MS, withEngine, type EngineOptions } from './engine.js';
export { CONTENT_HASH_ALGORITHM, fingerprintDataset, fingerprintToJson, type ContentHash, type DataFingerprint, type FingerprintOptions, type PartFingerprint } from './fingerprint.js';
export { parseProfile, profileDataset, PROFILE_VERSION, readProfile, type ColumnProfile, type DataProfile, type ProfileOptions, type SemanticType } from './profile.js';
export { dataRules } from './rules.js';
export { DATA_FORMATS, resolveDataSource, type DataFormat, type DataSource } from './source.js';
