import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { prefixToken } from '../tokens.js';
import { tags } from './kit.js';

const TOKEN = /dapi[0-9a-f]{32}(?:-[0-9])?(?![A-Za-z0-9_])/y;

export const databricksTokenRule = defineSecretRule({
  id: 'secrets/databricks-token',
  title: 'Databricks personal access token',
  description:
    'A Databricks personal access token (`dapi` followed by 32 hex characters, optionally `-N`). It reaches the workspace, its ' +
    'clusters, the MLflow registry and Unity Catalog data with the owner\u2019s rights.',
  severity: 'high',
  confidence: 'high',
  tags: tags('databricks'),
  remediation: 'Revoke the token in the workspace (User Settings → Developer → Access tokens), remove it from the file and from git history, and use OAuth or a secret scope instead.',
  messages: { found: 'Databricks personal access token.' },
  family: 'databricks',
  priority: 3,
  detectors: [prefixToken({ keywords: ['dapi'], pattern: TOKEN, prefixLength: 4, message: 'found' })],
  patterns: [TOKEN],
  examples: () => {
    const f = new Fake(1111);
    return {
      positive: [
        { text: `DATABRICKS_TOKEN=dapi${f.hex(32)}`, file: '.env' },
        { text: `host = "https://adb-1.azuredatabricks.net"\ntoken = "dapi${f.hex(32)}-2"`, file: 'cfg.toml' },
      ],
      negative: [
        { text: `DATABRICKS_TOKEN=dapi${f.hex(31)}`, file: '.env' },
        { text: 'DATABRICKS_TOKEN=dapi00000000000000000000000000000000', file: '.env' },
        { text: `DATABRICKS_TOKEN=dapi${f.alnum(32).toUpperCase()}`, file: '.env' },
      ],
    };
  },
});
