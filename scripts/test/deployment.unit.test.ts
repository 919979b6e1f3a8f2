import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { readRouterConfig } from '../../router/src/config';
import { readAnalyticsConfig } from '../../subgraphs/analytics/src/config';
import { readCatalogConfig } from '../../subgraphs/catalog/src/config';
import { readInventoryConfig } from '../../subgraphs/inventory/src/config';
import { readOrdersConfig } from '../../subgraphs/orders/src/config';
import { readPaymentsConfig } from '../../subgraphs/payments/src/config';
import { readPortfolioConfig } from '../../subgraphs/portfolio/src/config';
import { readSignalsConfig } from '../../subgraphs/signals/src/config';
import { readTradingConfig } from '../../subgraphs/trading/src/config';
import { readUsersConfig } from '../../subgraphs/users/src/config';
import { processRole, type ProcessRole } from '../../subgraphs/kit/src/role';
import { CONFIG_NAME, MANIFEST_PATH, renderManifests, SECRET_NAME } from '../k8s';
import { compiledEntry, ROOT, SUBGRAPH_PROCESSES } from '../stack';

type Env = Record<string, string | undefined>;

/** Each process's own config reader: it throws a ConfigError naming every missing or invalid variable. */
const READERS: Record<string, (env: Env) => { port: number }> = {
  router: (env) => readRouterConfig(env, ROOT),
  users: readUsersConfig,
  catalog: readCatalogConfig,
  orders: readOrdersConfig,
  payments: readPaymentsConfig,
  inventory: readInventoryConfig,
  trading: readTradingConfig,
  portfolio: readPortfolioConfig,
  signals: readSignalsConfig,
  analytics: readAnalyticsConfig,
};

/** The process whose compiled entry point (what the image runs) is `entry`. */
const processOfEntry = (entry: string | undefined): string | undefined =>
  [{ name: 'router', main: 'router/src/main.ts' }, ...SUBGRAPH_PROCESSES].find((process) => compiledEntry(process.main) === entry)?.name;

const aesKey = () => `k1:${randomBytes(32).toString('base64')}`;
/** Values of the shape each production secret must have. */
const SECRETS: Record<string, string> = {
  JWT_PRIVATE_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  TOTP_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  SMTP_URL: 'smtps://mercado:secret@smtp.internal:465',
  CREDENTIALS_KEYS: aesKey(),
  SIGNALS_SECRETS_KEYS: aesKey(),
  SCREENSHOT_URL_SECRET: randomBytes(32).toString('base64url'),
  REDIS_URL: 'redis://redis.internal:6379',
  ...Object.fromEntries(SUBGRAPH_PROCESSES.map(({ name }) => [`DATABASE_URL_${name.toUpperCase()}`, `postgres://mercado:secret@db.internal:5432/mercado_${name}`])),
};

interface K8sObject {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: any;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: { name: string; key: string } };
}

describe('Kubernetes manifests (deploy/k8s)', () => {
  const objects = parseAllDocuments(readFileSync(MANIFEST_PATH, 'utf8')).map((document) => document.toJS() as K8sObject);
  const ofKind = (kind: string) => objects.filter((object) => object.kind === kind);
  const kustomization = parse(readFileSync(path.join(ROOT, 'deploy/k8s/kustomization.yaml'), 'utf8')) as {
    resources: string[];
    configMapGenerator: { name: string; literals: string[] }[];
  };
  const configMap = Object.fromEntries(
    kustomization.configMapGenerator.find((generator) => generator.name === CONFIG_NAME)!.literals.map((literal) => {
      const at = literal.indexOf('=');
      return [literal.slice(0, at), literal.slice(at + 1)];
    }),
  );

  /** What the container's environment holds once the ConfigMap and the Secret are applied. */
  function environmentOf(deployment: K8sObject): Env {
    const container = deployment.spec.template.spec.containers[0];
    const env: Env = { ...configMap };
    for (const variable of container.env as EnvVar[]) {
      const secret = variable.valueFrom?.secretKeyRef;
      const config = variable.valueFrom?.configMapKeyRef;
      if (secret) {
        expect(secret.name).toBe(SECRET_NAME);
        if (!(secret.key in SECRETS) && !secret.optional) throw new Error(`${deployment.metadata.name} needs Secret key ${secret.key}, which is not documented`);
        env[variable.name] = SECRETS[secret.key];
      } else if (config) {
        expect(config.name).toBe(CONFIG_NAME);
        if (!(config.key in configMap)) throw new Error(`${deployment.metadata.name} reads ConfigMap key ${config.key}, which kustomization.yaml does not set`);
        env[variable.name] = configMap[config.key];
      } else {
        env[variable.name] = variable.value;
      }
    }
    return env;
  }

  it('are what scripts/k8s.ts generates (run npm run k8s after changing it), and kustomization.yaml lists every Secret key they read', () => {
    expect(readFileSync(MANIFEST_PATH, 'utf8')).toBe(renderManifests());
    expect(kustomization.resources).toEqual(['mercado.yaml']);
    const documented = readFileSync(path.join(ROOT, 'deploy/k8s/kustomization.yaml'), 'utf8');
    const keys = ofKind('Deployment').flatMap((deployment) =>
      (deployment.spec.template.spec.containers[0].env as EnvVar[]).flatMap((variable) => (variable.valueFrom?.secretKeyRef ? [variable.valueFrom.secretKeyRef.key] : [])),
    );
    for (const key of new Set(keys)) expect(documented).toMatch(new RegExp(`\\b${key}\\b`));
  });

  /** The process a Deployment runs, by its entry point. */
  const processOf = (deployment: K8sObject): string => {
    const [main] = deployment.spec.template.spec.containers[0].args as string[];
    return processOfEntry(main)!;
  };

  it('run every process, and each process\'s config loads in production from what the manifests give it', () => {
    const deployments = ofKind('Deployment');
    expect([...new Set(deployments.map(processOf))].sort()).toEqual(Object.keys(READERS).sort());
    for (const deployment of deployments) {
      const container = deployment.spec.template.spec.containers[0];
      const env = environmentOf(deployment);
      expect(env.NODE_ENV).toBe('production');
      const config = READERS[processOf(deployment)]!(env);
      expect(config.port).toBe(container.ports[0].containerPort);
      expect([container.startupProbe.httpGet.path, container.livenessProbe.httpGet.path, container.readinessProbe.httpGet.path]).toEqual(['/health', '/health', '/ready']);
    }
  });

  /** The role a Deployment's arguments give its process, as the process reads them. */
  const roleOf = (deployment: K8sObject): ProcessRole => processRole((deployment.spec.template.spec.containers[0].args as string[]).slice(1));

  it('run the workers of busy subgraphs in Deployments of their own, outside the Services, and Chromium only there', () => {
    const deployments = ofKind('Deployment');
    const roles = Object.fromEntries(deployments.map((deployment) => [deployment.metadata.name, roleOf(deployment)]));
    const split = ['orders', 'payments', 'inventory', 'trading', 'portfolio', 'signals', 'analytics'];
    expect(roles).toEqual({
      router: 'all',
      users: 'all',
      catalog: 'all',
      ...Object.fromEntries(split.flatMap((name) => [[name, 'api'], [`${name}-workers`, 'workers']])),
    });
    for (const name of split) expect(processOf(deployments.find((deployment) => deployment.metadata.name === `${name}-workers`)!)).toBe(name);
    const services = ofKind('Service').map((service) => service.metadata.name);
    expect(services.sort()).toEqual(deployments.filter((deployment) => roleOf(deployment) !== 'workers').map((deployment) => deployment.metadata.name).sort());

    const mounts = (name: string) =>
      deployments.find((deployment) => deployment.metadata.name === name)!.spec.template.spec.containers[0].volumeMounts.map((volume: { mountPath: string }) => volume.mountPath);
    const chromium = deployments.filter((deployment) => mounts(deployment.metadata.name).includes('/dev/shm')).map((deployment) => deployment.metadata.name);
    expect(chromium).toEqual(['signals-workers']);
    expect(readSignalsConfig(environmentOf(deployments.find((deployment) => deployment.metadata.name === 'signals-workers')!)).screenshots.workers).toBe(true);
    // The workers write the PNGs that the API pods serve.
    expect(mounts('signals-workers')).toContain('/data/screenshots');
    expect(mounts('signals')).toContain('/data/screenshots');
  });

  it('wire the router to every subgraph\'s Service, and each Service, autoscaler and budget to its Deployment', () => {
    const deployments = new Map(ofKind('Deployment').map((deployment) => [deployment.metadata.name, deployment]));
    const services = new Map(ofKind('Service').map((service) => [service.metadata.name, service]));
    const router = readRouterConfig(environmentOf(deployments.get('router')!), ROOT);
    for (const { name } of SUBGRAPH_PROCESSES) {
      const url = new URL(router.subgraphUrls[name]!);
      const service = services.get(url.hostname);
      expect(service?.spec.ports[0].port).toBe(Number(url.port));
    }
    for (const [name, service] of services) {
      const pod = deployments.get(name)!.spec.template;
      // A Service selects one Deployment's pods only (workers stay out of their API's Service).
      for (const [other, deployment] of deployments) if (other !== name) expect(deployment.spec.template.metadata.labels).not.toMatchObject(service.spec.selector);
      expect(pod.metadata.labels).toMatchObject(service.spec.selector);
      expect(pod.spec.containers[0].ports.map((port: { name: string }) => port.name)).toContain(service.spec.ports[0].targetPort);
    }
    for (const autoscaler of ofKind('HorizontalPodAutoscaler')) {
      expect(deployments.has(autoscaler.spec.scaleTargetRef.name)).toBe(true);
      expect(autoscaler.spec.minReplicas).toBeGreaterThanOrEqual(2);
    }
    for (const budget of ofKind('PodDisruptionBudget')) {
      expect(deployments.get(budget.metadata.name)!.spec.template.metadata.labels).toMatchObject(budget.spec.selector.matchLabels);
    }
    expect(ofKind('HorizontalPodAutoscaler')).toHaveLength(deployments.size);
    expect(ofKind('PodDisruptionBudget')).toHaveLength(deployments.size);
  });

  it('expose only GraphQL, the Stripe webhook, TradingView webhooks and signed screenshots', () => {
    const [ingress] = ofKind('Ingress');
    const routes = ingress!.spec.rules[0].http.paths.map((route: { path: string; backend: { service: { name: string } } }) => `${route.path} ${route.backend.service.name}`);
    expect(routes.sort()).toEqual(['/graphql router', '/screenshots/ signals', '/webhook/u/ signals', '/webhooks/stripe payments']);
    // Signals stores screenshots where every replica can serve them.
    const claim = ofKind('PersistentVolumeClaim').find((object) => object.metadata.name === 'signals-screenshots');
    expect(claim?.spec.accessModes).toEqual(['ReadWriteMany']);
    const signals = ofKind('Deployment').find((deployment) => deployment.metadata.name === 'signals')!;
    const mount = signals.spec.template.spec.containers[0].volumeMounts.find((volume: { name: string }) => volume.name === 'screenshots');
    expect(mount.mountPath).toBe(readSignalsConfig(environmentOf(signals)).screenshots.dir);
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { build?: unknown; command?: string[]; environment?: Record<string, string> }>;
  };
  /** Compose's interpolation: `${NAME:?message}` needs the variable; `${NAME:-default}` falls back. */
  const interpolate = (value: string, variables: Env): string =>
    value.replace(/\$\{([A-Z0-9_]+)(?::([?-])([^}]*))?\}/g, (_, name: string, mode: string | undefined, rest: string) => {
      const given = variables[name];
      if (given !== undefined && given !== '') return given;
      if (mode === '?') throw new Error(`docker compose stops: ${name} ${rest}`);
      return mode === '-' ? rest : '';
    });

  it('gives each process what its config needs in production, with the secrets the README lists', () => {
    // Mercado's own processes are the services built from deploy/Dockerfile.
    const processes = Object.entries(compose.services).filter(([, service]) => service.build);
    expect(processes.map(([name]) => name).sort()).toEqual(Object.keys(READERS).sort());
    for (const [name, service] of processes) {
      expect(processOfEntry(service.command?.[0])).toBe(name);
      const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([variable, value]) => [variable, interpolate(String(value), SECRETS)]));
      expect(env.NODE_ENV).toBe('production');
      expect(READERS[name]!(env).port).toBe(Number(env.PORT));
    }
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const required = [...readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8').matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((match) => match[1]!);
    for (const variable of new Set(required)) expect(readme).toContain(`\`${variable}\``);
  });
});

describe('.env.example files', () => {
  /** Read by the kit's shared subgraph config, but without effect here: these subgraphs apply no events in batches, or publish none. */
  const UNUSED: Record<string, string[]> = {
    catalog: ['EVENTS_BATCH_SIZE'],
    payments: ['EVENTS_BATCH_SIZE'],
    trading: ['EVENTS_BATCH_SIZE'],
    portfolio: ['EVENTS_POLL_MS'],
    analytics: ['EVENTS_POLL_MS'],
  };
  /** Settings that make a reader look at more variables (production's secrets, the ccxt feed). */
  const SETTINGS: Env[] = [{}, { NODE_ENV: 'production' }, { MARKET_FEED: 'ccxt' }];

  it('list every variable each process reads, next to the process', () => {
    for (const [name, read] of Object.entries(READERS)) {
      const seen = new Set<string>();
      for (const settings of SETTINGS) {
        const env = new Proxy<Env>(settings, {
          get: (target, variable) => {
            if (typeof variable === 'string' && !(variable in settings)) seen.add(variable);
            return typeof variable === 'string' ? target[variable] : undefined;
          },
        });
        try {
          read(env);
        } catch {
          // Production without its secrets is refused; the variables it asked for are what counts here.
        }
      }
      const file = readFileSync(path.join(ROOT, name === 'router' ? 'router' : `subgraphs/${name}`, '.env.example'), 'utf8');
      const listed = new Set([...file.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]!));
      const missing = [...seen].filter((variable) => !listed.has(variable) && !(UNUSED[name] ?? []).includes(variable));
      expect({ process: name, missing }).toEqual({ process: name, missing: [] });
    }
  });
});
