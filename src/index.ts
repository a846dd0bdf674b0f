/**
 * Custody's library API. Everything the CLI does is available here; the CLI holds no logic of its own.
 */
export { BufferSource, FileSource, type ByteSource } from './core/byte-source.js';
export { defaultConfig, loadConfig, parseConfig, type Limits, type ResolvedConfig, type RuleSetting } from './core/config.js';
export { CustodyError, ERROR_CODES, isCustodyError, type ErrorCode, type Problem } from './core/errors.js';
export type { Finding, Location } from './core/finding.js';
export { readBaseline, writeBaseline, type Baseline } from './core/baseline.js';
export { defineRule, type AnyRule, type Rule, type RuleMeta, type ReportInput } from './core/rule.js';
export type { ScanContext, ScanTarget, Scanner } from './core/scanner.js';
export { SEVERITIES, type Confidence, type Severity } from './core/severity.js';
export { renderReport, REPORT_FORMATS, type ReportFormat, type ReportOptions } from './report/index.js';
export { runScan, type ScanOptions, type ScanProgress, type ScanResult, type ScanSummary } from './scanners/engine.js';
export { scanSource } from './scanners/file-scan.js';
export { SCANNERS, allRules } from './scanners/index.js';
export * from './integrity/index.js';
export * from './data/index.js';
export * from './audit/index.js';
// The registry: its domain (authorization, the Registry service), storage interfaces, the HTTP server and the clients.
export { ACTIONS, authorize, ROLE_ACTIONS, ROLES, type Action, type Caller, type Decision, type Principal, type Role, type Target } from './registry/authz.js';
export { DEFAULT_SETTINGS, Registry, type RegistrySettings, type RequestContext } from './registry/registry.js';
export { generateToken, isWellFormedToken, TOKEN_PREFIX } from './registry/tokens.js';
export { LocalBlobStore, type BlobStore, type StagedBlob } from './store/blobs.js';
export type { MetadataStore } from './store/metadata.js';
export { KyselyMetadataStore, openSqlite } from './store/kysely-store.js';
export { buildApp, type AppOptions, type RateLimits } from './server/app.js';
export { openDataDir, startServer, type OpenedRegistry, type RunningServer, type ServeOptions } from './server/start.js';
export { pullArtifact, pushArtifact, type PullOptions, type PullResult, type PushOptions, type PushResult } from './client/artifacts.js';
export { RegistryClient } from './client/http.js';
export { checkLog, type LogCheck } from './client/log-check.js';
// Governance: policies, evaluation attestations, VSAs, and the deploy-time pull of a stage (docs/governance.md).
export { DEFAULT_POLICY, parsePolicy, validatePolicy, type Policy, type Requirements } from './registry/policy.js';
export { buildEvaluationStatement, EVALUATION_PREDICATE_TYPE, type EvaluationPredicate } from './registry/evaluation.js';
export { signVsa, verifyVsa, VSA_PREDICATE_TYPE, type VerifiedVsa, type VsaExpectations } from './integrity/vsa.js';
export { pullStage, type StagePullOptions, type StagePullResult } from './client/governance.js';
