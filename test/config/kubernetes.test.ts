import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { runScan } from '../../src/scanners/engine.js';

const dir = mkdtempSync(join(tmpdir(), 'custody-k8s-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

async function scan(files: Record<string, string>): Promise<Finding[]> {
  const root = join(dir, `p${counter++}`);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return (await runScan({ paths: [root], only: ['config'], config: defaultConfig(), jobs: 0 })).findings;
}

const summary = (findings: readonly Finding[]): string[] => findings.map((f) => `${f.ruleId.slice(7)}@${f.location.line}:${f.severity}`).sort();
const yaml = (...lines: string[]): string => lines.join('\n') + '\n';

const RISKY = yaml(
  'apiVersion: v1', //                                         1
  'kind: Namespace',
  'metadata:',
  '  name: ml-training',
  '---', //                                                     5
  'apiVersion: apps/v1',
  'kind: Deployment',
  'metadata: {name: notebook, namespace: ml-training}',
  'spec:',
  '  template:', //                                             10
  '    metadata: {labels: {app: notebook}}',
  '    spec:',
  '      hostNetwork: true',
  '      volumes:',
  '        - name: sock', //                                    15
  '          hostPath: {path: /var/run/docker.sock}',
  '      containers:',
  '        - name: lab',
  '          image: quay.io/jupyter/pytorch-notebook:latest',
  '          args: ["start-notebook.py", "--IdentityProvider.token=", "--ip=0.0.0.0"]', // 20
  '          securityContext:',
  '            privileged: true',
  '            runAsUser: 0',
  '          env:',
  '            - name: WANDB_API_KEY', //                       25
  '              value: 0123456789abcdef0123456789abcdef01234567',
  '            - name: MODEL_DIR',
  '              value: /models',
  '---',
  'apiVersion: v1', //                                          30
  'kind: Service',
  'metadata: {name: notebook, namespace: ml-training}',
  'spec:',
  '  type: LoadBalancer',
  '  selector: {app: notebook}', //                             35
  '  ports:',
  '    - port: 8888',
  '---',
  'apiVersion: networking.k8s.io/v1',
  'kind: Ingress', //                                           40
  'metadata: {name: mlflow, namespace: ml-training}',
  'spec:',
  '  rules:',
  '    - http:',
  '        paths:', //                                          45
  '          - path: /',
  '            pathType: Prefix',
  '            backend:',
  '              service: {name: mlflow, port: {number: 5000}}',
  '---', //                                                     50
  'apiVersion: ray.io/v1',
  'kind: RayCluster',
  'metadata: {name: rc, namespace: ml-training}',
  'spec:',
  '  headGroupSpec:', //                                        55
  '    serviceType: LoadBalancer',
  '    template:',
  '      spec:',
  '        securityContext: {runAsNonRoot: true, runAsUser: 1000}',
  '        containers:', //                                     60
  '          - name: ray-head',
  '            image: rayproject/ray:2.9.0',
  '            resources: {limits: {cpu: "2", memory: 8Gi}}',
);

describe('Kubernetes manifests', () => {
  it('the risky manifests: every planted problem at its line', async () => {
    const findings = await scan({ 'deploy/all.yaml': RISKY });
    assert.deepEqual(summary(findings), [
      'jupyter-no-auth@20:critical',
      'k8s-host-access@13:high',
      'k8s-host-access@16:high',
      'k8s-ml-service-exposed@37:high',
      'k8s-ml-service-exposed@49:high',
      'k8s-ml-service-exposed@56:critical',
      'k8s-no-default-deny@2:medium',
      'k8s-no-resource-limits@18:low',
      'k8s-privileged@22:high',
      'k8s-runs-as-root@23:medium',
      'k8s-secret-env@26:high',
    ]);
    assert.ok(!JSON.stringify(findings).includes('0123456789abcdef0123456789abcdef01234567'));
  });

  it('the fixed twin (with a default-deny policy in a sibling file) is quiet at medium and above', async () => {
    const fixed = yaml(
      'apiVersion: v1',
      'kind: Namespace',
      'metadata: {name: ml-training}',
      '---',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: {name: notebook, namespace: ml-training}',
      'spec:',
      '  template:',
      '    metadata: {labels: {app: notebook}}',
      '    spec:',
      '      securityContext: {runAsNonRoot: true, runAsUser: 1000}',
      '      containers:',
      '        - name: lab',
      '          image: quay.io/jupyter/pytorch-notebook@sha256:' + 'd'.repeat(64),
      '          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}',
      '          resources: {limits: {cpu: "2", memory: 4Gi}}',
      '          env:',
      '            - name: WANDB_API_KEY',
      '              valueFrom: {secretKeyRef: {name: wandb, key: key}}',
      '---',
      'apiVersion: v1',
      'kind: Service',
      'metadata: {name: notebook, namespace: ml-training}',
      'spec:',
      '  selector: {app: notebook}',
      '  ports: [{port: 8888}]',
      '---',
      'apiVersion: networking.k8s.io/v1',
      'kind: Ingress',
      'metadata:',
      '  name: mlflow',
      '  namespace: ml-training',
      '  annotations: {nginx.ingress.kubernetes.io/auth-url: "https://auth.example.com/oauth2/auth"}',
      'spec:',
      '  rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: mlflow, port: {number: 5000}}}}]}}]',
    );
    const policy = yaml('apiVersion: networking.k8s.io/v1', 'kind: NetworkPolicy', 'metadata: {name: default-deny, namespace: ml-training}', 'spec:', '  podSelector: {}', '  policyTypes: [Ingress, Egress]');
    assert.deepEqual(summary(await scan({ 'deploy/all.yaml': fixed, 'deploy/netpol.yaml': policy })), []);
  });

  it('Helm values files beside a Chart.yaml; YAML that is not Kubernetes is ignored; broken manifests are reported', async () => {
    const findings = await scan({
      'chart/Chart.yaml': 'apiVersion: v2\nname: x\nversion: 1.0.0\n',
      'chart/values.yaml': 'service:\n  type: LoadBalancer\n  port: 8265\nsecurityContext:\n  privileged: true\nhostNetwork: true\n',
      'other/values.yaml': 'securityContext:\n  privileged: true\n',
      'conf/settings.yaml': 'privileged: true\n',
      'bad/pod.yaml': 'apiVersion: v1\nkind: Pod\nmetadata: {name: x\n',
    });
    assert.deepEqual(summary(findings), ['k8s-host-access@6:high', 'k8s-ml-service-exposed@2:high', 'k8s-privileged@5:high', 'unreadable@4:medium']);
  });
});
