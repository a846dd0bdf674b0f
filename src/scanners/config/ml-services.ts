/**
 * Ports and images of the services ML teams run, for rules that ask "is an ML service published to the
 * network?" (Compose ports, Kubernetes Services and Ingresses).
 */

export interface MlPort {
  service: string;
  /** Management or code-execution surfaces (notebooks, job APIs, model management) are high; others medium. */
  critical: boolean;
}

export const ML_PORTS: ReadonlyMap<number, MlPort> = new Map([
  [8888, { service: 'Jupyter', critical: true }],
  [8889, { service: 'Jupyter', critical: true }],
  [5000, { service: 'MLflow', critical: true }],
  [8265, { service: 'Ray dashboard / Jobs API', critical: true }],
  [10001, { service: 'Ray client', critical: true }],
  [6379, { service: 'Ray GCS / Redis', critical: true }],
  [8081, { service: 'TorchServe management', critical: true }],
  [8080, { service: 'TorchServe inference', critical: false }],
  [8082, { service: 'TorchServe metrics', critical: false }],
  [7860, { service: 'Gradio', critical: false }],
  [8501, { service: 'Streamlit', critical: false }],
  [6006, { service: 'TensorBoard', critical: false }],
  [11434, { service: 'Ollama', critical: true }],
  [8000, { service: 'model server (vLLM, Triton HTTP, TGI)', critical: false }],
  [8001, { service: 'Triton gRPC', critical: false }],
  [8002, { service: 'Triton metrics', critical: false }],
]);

/** Images whose every published port is an ML service. */
export const ML_IMAGES: readonly { re: RegExp; service: string; critical: boolean }[] = [
  { re: /(?:^|\/)(?:jupyter|quay\.io\/jupyter)\/|jupyterhub|jupyterlab|(?:^|\/)notebook(?::|$)/, service: 'Jupyter', critical: true },
  { re: /mlflow/, service: 'MLflow', critical: true },
  { re: /rayproject\/ray|(?:^|\/)ray(?::|$)/, service: 'Ray', critical: true },
  { re: /torchserve/, service: 'TorchServe', critical: true },
  { re: /ollama/, service: 'Ollama', critical: true },
  { re: /tritonserver|vllm|text-generation-inference|tgi/, service: 'model server', critical: false },
];

export function mlServiceOf(port: number | undefined, image: string | undefined): MlPort | undefined {
  const byImage = image === undefined ? undefined : ML_IMAGES.find((i) => i.re.test(image));
  if (byImage) return { service: byImage.service, critical: byImage.critical };
  return port === undefined ? undefined : ML_PORTS.get(port);
}
