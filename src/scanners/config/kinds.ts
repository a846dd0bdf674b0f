import type { ConfigKind } from './types.js';
import { get, parseYamlDocuments, str, type YamlDocument } from './yaml.js';

/**
 * Decides what kind of configuration a file is. Names decide where they can (a Dockerfile, a GitHub
 * workflow, `.gitlab-ci.yml`, `config.properties`); other YAML and JSON files are recognised by content
 * (Kubernetes objects carry `apiVersion` and `kind`, CloudFormation templates `AWS::` resource types, IAM
 * policy documents a `Statement`). Content checks start with a cheap substring test so that a repository
 * full of unrelated YAML is not parsed twice.
 */
export interface Classified {
  kind: ConfigKind;
  yaml?: YamlDocument[];
}

export function classifyByName(memberOrPath: string): ConfigKind | 'yaml' | 'json' | undefined {
  // A member of nested containers is `outer.tar!inner/Dockerfile`: the innermost path decides.
  const path = memberOrPath.slice(memberOrPath.lastIndexOf('!') + 1);
  const base = path.slice(path.lastIndexOf('/') + 1);
  const lower = base.toLowerCase();
  if (/^(?:dockerfile|containerfile)(?:[._-].*)?$/.test(lower) || lower.endsWith('.dockerfile')) return 'dockerfile';
  if (/(?:^|\/)\.github\/workflows\/[^/]+\.ya?ml$/.test(path) || /(?:^|\/)action\.ya?ml$/.test(path)) return 'github-actions';
  if (lower === '.gitlab-ci.yml' || lower === '.gitlab-ci.yaml' || /(?:^|\/)\.gitlab\/ci\/[^/]+\.ya?ml$/.test(path)) return 'gitlab-ci';
  if (/^(?:docker-)?compose(?:[._-][\w.-]*)?\.ya?ml$/.test(lower)) return 'compose';
  if (lower.endsWith('.tf')) return 'terraform';
  if (/^jupyter_(?:server|notebook|lab)_config\.(?:py|json)$/.test(lower)) return 'jupyter-config';
  if (lower === 'config.properties' || /torchserve.*\.properties$/.test(lower)) return 'torchserve-properties';
  if (lower === 'config.toml' && /(?:^|\/)\.streamlit\/config\.toml$/.test(path)) return 'streamlit-config';
  if (lower === 'basic_auth.ini' || /mlflow.*auth.*\.ini$/.test(lower)) return 'mlflow-auth';
  if (/\.(?:sh|bash|zsh)$/.test(lower) || lower === 'makefile' || lower === 'procfile' || lower === 'entrypoint' || lower === 'supervisord.conf') return 'shell';
  if (/\.ya?ml$/.test(lower)) return 'yaml';
  if (lower.endsWith('.json') || lower.endsWith('.template')) return 'json';
  return undefined;
}

/** YAML that is not named for what it is: Kubernetes objects, Helm values, CloudFormation, IAM policies. */
export function classifyYaml(path: string, text: string, isChartValues: boolean): Classified | undefined {
  const k8sLike = /^\s*apiVersion\s*:/m.test(text) && /^\s*kind\s*:/m.test(text);
  const cfnLike = /AWSTemplateFormatVersion|\bAWS::[A-Za-z0-9]+::/.test(text);
  const iamLike = /["']?Statement["']?\s*:/.test(text) && /["']?(?:Action|NotAction)["']?\s*:/.test(text);
  const values = isChartValues && /(?:^|\/)values[\w.-]*\.ya?ml$/i.test(path);
  if (!k8sLike && !cfnLike && !iamLike && !values) return undefined;
  const yaml = parseYamlDocuments(text);
  if (cfnLike && yaml.some((d) => get(d.root, 'Resources') !== undefined || get(d.root, 'AWSTemplateFormatVersion') !== undefined)) return { kind: 'cloudformation', yaml };
  if (k8sLike && yaml.some((d) => str(get(d.root, 'apiVersion')) !== undefined && str(get(d.root, 'kind')) !== undefined)) return { kind: 'kubernetes', yaml };
  if (iamLike && yaml.some((d) => get(d.root, 'Statement') !== undefined)) return { kind: 'iam-policy', yaml };
  if (values) return { kind: 'helm-values', yaml };
  return undefined;
}

/** JSON files: CloudFormation templates, IAM policy documents, Kubernetes objects written as JSON. */
export function classifyJson(text: string): Classified | undefined {
  if (!/AWSTemplateFormatVersion|\bAWS::|"Statement"|"apiVersion"/.test(text)) return undefined;
  // JSON is YAML 1.2: one parser, positions included.
  const yaml = parseYamlDocuments(text);
  const root = yaml[0]?.root;
  if (get(root, 'Resources') !== undefined || get(root, 'AWSTemplateFormatVersion') !== undefined) return { kind: 'cloudformation', yaml };
  if (get(root, 'Statement') !== undefined && get(root, 'Version') !== undefined) return { kind: 'iam-policy', yaml };
  if (str(get(root, 'apiVersion')) !== undefined && str(get(root, 'kind')) !== undefined) return { kind: 'kubernetes', yaml };
  return undefined;
}
