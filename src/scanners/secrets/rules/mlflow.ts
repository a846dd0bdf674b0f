import { classifyName, mentions } from '../names.js';
import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { judgeValue } from '../score.js';
import { parseUriCredential, safeName, safeUser, uriLead } from '../uri.js';
import { pointsAt, tags } from './kit.js';

export const mlflowCredentialsRule = defineSecretRule({
  id: 'secrets/mlflow-tracking-credentials',
  title: 'MLflow tracking server credentials',
  description:
    'Credentials for an MLflow tracking server: `MLFLOW_TRACKING_PASSWORD`, `MLFLOW_TRACKING_TOKEN`, or a tracking URI with a ' +
    'password (`MLFLOW_TRACKING_URI=https://user:password@mlflow.example.com`, `mlflow.set_tracking_uri("https://u:p@…")`). They read ' +
    'and change experiments, registered models and their stage transitions.',
  severity: 'high',
  confidence: 'high',
  tags: tags('mlflow'),
  remediation: 'Change the password or revoke the token on the tracking server, remove it from the file and from git history, and set `MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD` in the environment at run time.',
  messages: { found: 'MLflow tracking {{what}}.' },
  family: 'mlflow',
  priority: 3,
  detectors: [
    {
      keywords: ['://'],
      find(doc, pos, _keyword, emit) {
        const uri = parseUriCredential(doc, pos);
        if (!uri || (uri.scheme !== 'http' && uri.scheme !== 'https')) return;
        if (!uri.host.toLowerCase().includes('mlflow') && !uriLead(doc, uri).includes('mlflow')) return;
        if (judgeValue(uri.password, 'password') === undefined) return;
        emit({
          start: uri.passwordStart,
          end: uri.passwordEnd,
          secret: uri.password,
          message: 'found',
          data: { what: 'URI with a password' },
          evidence: `${uri.scheme}://${safeUser(uri.user)}:${uri.password}@${uri.host}`,
        });
      },
    },
  ],
  assignment: (a, _doc, mode) => {
    if (mode === 'name' && !mentions(a.words, ['mlflow'])) return undefined;
    const cls = classifyName(a.words);
    if (cls !== 'password' && cls !== 'token') return undefined;
    const confidence = judgeValue(a.value, cls, a.prose ? 'document' : 'strong');
    if (confidence === undefined || !pointsAt(a, ['mlflow'], ['mlflow'], mode)) return undefined;
    return { message: 'found', data: { what: cls }, evidence: `${safeName(a.name)}=${a.value}`, ...(confidence === 'low' ? { confidence: 'medium' as const } : {}) };
  },
  patterns: [],
  examples: () => {
    const f = new Fake(2929);
    return {
      positive: [
        { text: `MLFLOW_TRACKING_USERNAME=ml\nMLFLOW_TRACKING_PASSWORD=${f.alnum(18)}`, file: '.env' },
        { text: `mlflow.set_tracking_uri("https://ci:${f.alnum(16)}@mlflow.corp.internal")`, file: 'train.py' },
        { text: `os.environ["MLFLOW_TRACKING_TOKEN"] = "${f.alnum(32)}"`, file: 'train.py' },
      ],
      negative: [
        { text: 'MLFLOW_TRACKING_PASSWORD=${{ secrets.MLFLOW_PASSWORD }}', file: 'ci.yml' },
        { text: 'mlflow.set_tracking_uri("http://localhost:5000")', file: 'train.py' },
        { text: 'MLFLOW_TRACKING_URI=https://mlflow.corp.internal', file: '.env' },
      ],
    };
  },
});
