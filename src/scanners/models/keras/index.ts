export { analyzeKerasConfig, isKerasModule, type KerasAnalyzeOptions, type KerasIssue, type KerasIssueKind } from './analyze.js';
export {
  kerasCustomObjectRule,
  kerasDangerousFunctionRule,
  kerasLambdaRule,
  kerasMalformedRule,
  kerasRules,
  kerasTfOpLambdaRule,
  kerasUnsafeModuleRule,
  reportKerasIssues,
} from './rules.js';
export { classifyTfFunction, classifyTfNode, TF_ATTRS_OF_INTEREST, TF_CHECKPOINT_OPS, type TfNodeAttrs, type TfOpCategory, type TfOpInfo } from './tf-ops.js';
