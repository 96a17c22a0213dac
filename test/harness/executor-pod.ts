// What a kubelet does before it starts a container, done on this machine:
// resolve the environment, lay ConfigMap and Secret volumes out as files, and
// turn the container's command into one that runs here. Used by executor.ts.
import {
  ApiException,
  type CoreV1Api,
  type V1ConfigMap,
  type V1Container,
  type V1DownwardAPIVolumeFile,
  type V1EnvVarSource,
  type V1KeyToPath,
  type V1Pod,
  type V1Secret,
  type V1Volume,
} from '@kubernetes/client-node';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';

export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';

/**
 * A pod the kubelet would not start either (a missing Secret, a key that is
 * not there) or one this executor cannot imitate; the pod is failed with it.
 */
export class ContainerConfigError extends Error {
  override readonly name = 'ContainerConfigError';
}

export interface PreparedCommand {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Every value read from a Secret: logs must never show one. */
  secrets: string[];
  /** Host file standing in for the container's terminationMessagePath. */
  terminationLog: string;
}

export interface PrepareInput {
  core: CoreV1Api;
  pod: V1Pod;
  container: V1Container;
  /** Private to this pod; volumes and the termination log go in here. */
  workDir: string;
  /** What the image's `cutover` binary becomes on this machine. */
  cliCommand: readonly string[];
  /** Host directory holding one directory per namespace and claim (see ExecutorOptions.claimsDir). */
  claimsDir?: string;
}

export async function prepareCommand(input: PrepareInput): Promise<PreparedCommand> {
  const { pod, container, workDir } = input;
  const namespace = pod.metadata?.namespace ?? 'default';
  const sources = new Sources(input.core, namespace);

  const paths = new Map<string, string>();
  const terminationLog = join(workDir, 'termination-log');
  await writeFile(terminationLog, '');
  paths.set(trimSlash(container.terminationMessagePath ?? DEFAULT_TERMINATION_MESSAGE_PATH), terminationLog);
  const volumes = new Map<string, string>();
  for (const mount of container.volumeMounts ?? []) {
    let dir = volumes.get(mount.name);
    if (dir === undefined) {
      const volume = pod.spec?.volumes?.find((v) => v.name === mount.name);
      if (!volume) throw new ContainerConfigError(`volumeMount ${mount.name}: no volume of that name`);
      const claim = volume.persistentVolumeClaim?.claimName;
      if (claim !== undefined) {
        if (!input.claimsDir)
          throw new ContainerConfigError(`volume ${volume.name}: no directory for claims`);
        dir = join(input.claimsDir, namespace, claim);
        // Non-root containers write here, as they would on a volume with fsGroup.
        await mkdir(dir, { recursive: true, mode: 0o777 });
        await chmod(dir, 0o777);
      } else {
        dir = join(workDir, 'volumes', mount.name);
        await materialise(volume, dir, pod, sources);
      }
      volumes.set(mount.name, dir);
    }
    paths.set(trimSlash(mount.mountPath), mount.subPath ? inside(dir, mount.subPath) : dir);
  }
  const rewrite = pathRewriter(paths);

  const env = new Map<string, string>();
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const cm = await sources.configMap(from.configMapRef.name, from.configMapRef.optional);
      for (const [key, value] of Object.entries(cm?.data ?? {})) env.set(prefix + key, value);
    }
    if (from.secretRef) {
      const secret = await sources.secret(from.secretRef.name, from.secretRef.optional);
      for (const [key, value] of Object.entries(secret?.data ?? {})) {
        env.set(prefix + key, sources.reveal(value));
      }
    }
  }
  for (const variable of container.env ?? []) {
    if (variable.valueFrom) {
      const value = await resolveRef(variable.name, variable.valueFrom, pod, sources);
      if (value !== undefined) env.set(variable.name, value);
    } else {
      env.set(variable.name, rewrite(expand(variable.value ?? '', env)));
    }
  }

  const command = container.command ?? [];
  const [head, ...rest] = [...command, ...(container.args ?? [])].map((arg) => rewrite(expand(arg, env)));
  if (command.length === 0 || head === undefined) {
    throw new ContainerConfigError(
      `container ${container.name} has no command: the image's entrypoint cannot be run outside the image`,
    );
  }
  const [file, ...prefixArgs] =
    head === 'cutover' || basename(head) === 'cutover' ? input.cliCommand : [head];
  if (file === undefined) throw new ContainerConfigError('cliCommand is empty');

  // A workingDir outside every mount is a path in the image, not on this machine.
  const mappedDir = container.workingDir === undefined ? undefined : rewrite(container.workingDir);
  return {
    file,
    args: [...prefixArgs, ...rest],
    cwd: mappedDir !== undefined && mappedDir !== container.workingDir ? mappedDir : workDir,
    env: {
      // Only what a container gets: its own variables and a PATH, not the
      // environment of the test process (KUBECONFIG, PG*, ...).
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: workDir,
      HOSTNAME: pod.metadata?.name ?? '',
      ...Object.fromEntries(env),
      CUTOVER_TERMINATION_LOG: terminationLog,
    },
    secrets: sources.revealed(),
    terminationLog,
  };
}

/**
 * Kubernetes' $(VAR) expansion: a defined variable is substituted, an
 * undefined one is left as written, and $$ escapes a dollar.
 */
export function expand(input: string, vars: ReadonlyMap<string, string>): string {
  let out = '';
  for (let i = 0; i < input.length; i += 1) {
    const c = input.charAt(i);
    const next = input.charAt(i + 1);
    if (c !== '$' || next === '') {
      out += c;
    } else if (next === '$') {
      out += '$';
      i += 1;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) return out + input.slice(i);
      const name = input.slice(i + 2, close);
      out += vars.get(name) ?? input.slice(i, close + 1);
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

const BEFORE = `(?<=^|[\\s'"\`=:,;(|&<>])`;
const AFTER = `(?=$|[/\\s'"\`,;)|&<>])`;

/**
 * Replaces container paths (mount points, the termination message file) by
 * their host stand-ins wherever they appear as a path of their own in an
 * argument: `--dir=/migrations`, `cat /migrations/a.sql > x`, but not
 * `/migrations2`. One pass, longest path first, so a host path that was just
 * written in is never rewritten again.
 */
export function pathRewriter(paths: ReadonlyMap<string, string>): (text: string) => string {
  const keys = [...paths.keys()].filter((k) => k !== '').sort((a, b) => b.length - a.length);
  if (keys.length === 0) return (text) => text;
  const pattern = new RegExp(`${BEFORE}(${keys.map(escapeRegExp).join('|')})${AFTER}`, 'g');
  return (text) => text.replace(pattern, (match) => paths.get(match) ?? match);
}

async function resolveRef(
  name: string,
  ref: V1EnvVarSource,
  pod: V1Pod,
  sources: Sources,
): Promise<string | undefined> {
  if (ref.secretKeyRef) {
    const { name: secretName, key, optional } = ref.secretKeyRef;
    const secret = await sources.secret(secretName, optional);
    const value = secret?.data?.[key];
    if (value === undefined) {
      if (optional || !secret) return undefined;
      throw new ContainerConfigError(`couldn't find key ${key} in Secret ${sources.namespace}/${secretName}`);
    }
    return sources.reveal(value);
  }
  if (ref.configMapKeyRef) {
    const { name: cmName, key, optional } = ref.configMapKeyRef;
    const cm = await sources.configMap(cmName, optional);
    const value = cm?.data?.[key];
    if (value === undefined) {
      if (optional || !cm) return undefined;
      throw new ContainerConfigError(`couldn't find key ${key} in ConfigMap ${sources.namespace}/${cmName}`);
    }
    return value;
  }
  if (ref.fieldRef) return podField(pod, ref.fieldRef.fieldPath);
  throw new ContainerConfigError(
    `env ${name}: only secretKeyRef, configMapKeyRef and fieldRef can be resolved`,
  );
}

function podField(pod: V1Pod, path: string): string {
  const labelOrAnnotation = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (labelOrAnnotation) {
    const map = labelOrAnnotation[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[labelOrAnnotation[2] ?? ''] ?? '';
  }
  const fields: Record<string, string | undefined> = {
    'metadata.name': pod.metadata?.name,
    'metadata.namespace': pod.metadata?.namespace,
    'metadata.uid': pod.metadata?.uid,
    'spec.nodeName': pod.spec?.nodeName,
    'spec.serviceAccountName': pod.spec?.serviceAccountName,
    'status.hostIP': pod.status?.hostIP,
    'status.podIP': pod.status?.podIP,
  };
  if (!(path in fields)) throw new ContainerConfigError(`fieldRef ${path} is not supported here`);
  return fields[path] ?? '';
}

async function materialise(volume: V1Volume, dir: string, pod: V1Pod, sources: Sources): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (volume.configMap) {
    await projectConfigMap(dir, volume.configMap, volume.configMap.defaultMode, sources);
  } else if (volume.secret) {
    const { secretName, items, optional, defaultMode } = volume.secret;
    await projectSecret(dir, { name: secretName, items, optional }, defaultMode, sources);
  } else if (volume.downwardAPI) {
    await projectFields(dir, volume.downwardAPI.items ?? [], volume.downwardAPI.defaultMode, pod);
  } else if (volume.projected) {
    // The service account volume every pod gets is one of these.
    const mode = volume.projected.defaultMode;
    for (const source of volume.projected.sources ?? []) {
      if (source.configMap) await projectConfigMap(dir, source.configMap, mode, sources);
      else if (source.secret) await projectSecret(dir, source.secret, mode, sources);
      else if (source.downwardAPI) await projectFields(dir, source.downwardAPI.items ?? [], mode, pod);
      else if (source.serviceAccountToken) {
        const { path, audience, expirationSeconds } = source.serviceAccountToken;
        const token = await sources.token(pod, audience, expirationSeconds);
        await writeProjected(dir, path, Buffer.from(token, 'utf8'), mode);
      } else {
        throw new ContainerConfigError(
          `volume ${volume.name}: a projected source of this kind cannot be laid out here`,
        );
      }
    }
  } else if (volume.emptyDir) {
    // As the kubelet makes them: writable by whatever user the container (or a
    // server it starts, like verify's throwaway PostgreSQL) runs as.
    await chmod(dir, 0o777);
  } else {
    throw new ContainerConfigError(
      `volume ${volume.name}: only configMap, secret, downwardAPI, projected and emptyDir volumes can be laid out here`,
    );
  }
}

interface KeyProjection {
  name?: string | undefined;
  items?: V1KeyToPath[] | undefined;
  optional?: boolean | undefined;
}

async function projectConfigMap(
  dir: string,
  ref: KeyProjection,
  mode: number | undefined,
  sources: Sources,
): Promise<void> {
  const cm = await sources.configMap(ref.name, ref.optional);
  if (!cm) return;
  const files = new Map<string, Buffer>();
  for (const [key, value] of Object.entries(cm.data ?? {})) files.set(key, Buffer.from(value, 'utf8'));
  for (const [key, value] of Object.entries(cm.binaryData ?? {}))
    files.set(key, Buffer.from(value, 'base64'));
  await projectKeys(dir, files, ref, mode, `ConfigMap ${sources.namespace}/${ref.name ?? ''}`);
}

async function projectSecret(
  dir: string,
  ref: KeyProjection,
  mode: number | undefined,
  sources: Sources,
): Promise<void> {
  const secret = await sources.secret(ref.name, ref.optional);
  if (!secret) return;
  const files = new Map<string, Buffer>();
  for (const [key, value] of Object.entries(secret.data ?? {})) {
    files.set(key, Buffer.from(sources.reveal(value), 'utf8'));
  }
  await projectKeys(dir, files, ref, mode, `Secret ${sources.namespace}/${ref.name ?? ''}`);
}

async function projectKeys(
  dir: string,
  files: ReadonlyMap<string, Buffer>,
  ref: KeyProjection,
  mode: number | undefined,
  what: string,
): Promise<void> {
  const wanted = ref.items ?? [...files.keys()].map((key) => ({ key, path: key, mode: undefined }));
  for (const item of wanted) {
    const content = files.get(item.key);
    if (content === undefined) {
      if (ref.optional) continue;
      throw new ContainerConfigError(`${what} has no key ${item.key}`);
    }
    await writeProjected(dir, item.path, content, item.mode ?? mode);
  }
}

async function projectFields(
  dir: string,
  items: readonly V1DownwardAPIVolumeFile[],
  mode: number | undefined,
  pod: V1Pod,
): Promise<void> {
  for (const item of items) {
    if (!item.fieldRef)
      throw new ContainerConfigError(`downwardAPI ${item.path}: only fieldRef is supported here`);
    await writeProjected(
      dir,
      item.path,
      Buffer.from(podField(pod, item.fieldRef.fieldPath), 'utf8'),
      item.mode ?? mode,
    );
  }
}

async function writeProjected(dir: string, path: string, content: Buffer, mode = 0o644): Promise<void> {
  const target = inside(dir, path);
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, content);
  await chmod(target, mode);
}

/** Reads each Secret and ConfigMap once per pod, and remembers what was secret. */
class Sources {
  readonly #secrets = new Map<string, Promise<V1Secret | undefined>>();
  readonly #configMaps = new Map<string, Promise<V1ConfigMap | undefined>>();
  readonly #revealed = new Set<string>();

  constructor(
    private readonly core: CoreV1Api,
    readonly namespace: string,
  ) {}

  secret(ref: string | undefined, optional: boolean | undefined): Promise<V1Secret | undefined> {
    const name = ref ?? '';
    let found = this.#secrets.get(name);
    if (!found) {
      found = this.#read('Secret', name, () =>
        this.core.readNamespacedSecret({ name, namespace: this.namespace }),
      );
      this.#secrets.set(name, found);
    }
    return found.then((s) => this.#required(s, optional, 'secret', name));
  }

  configMap(ref: string | undefined, optional: boolean | undefined): Promise<V1ConfigMap | undefined> {
    const name = ref ?? '';
    let found = this.#configMaps.get(name);
    if (!found) {
      found = this.#read('ConfigMap', name, () =>
        this.core.readNamespacedConfigMap({ name, namespace: this.namespace }),
      );
      this.#configMaps.set(name, found);
    }
    return found.then((c) => this.#required(c, optional, 'configmap', name));
  }

  /** A token bound to the pod, as the kubelet requests for the service account volume. */
  async token(
    pod: V1Pod,
    audience: string | undefined,
    expirationSeconds: number | undefined,
  ): Promise<string> {
    const serviceAccount = pod.spec?.serviceAccountName ?? 'default';
    const request = await this.core.createNamespacedServiceAccountToken({
      name: serviceAccount,
      namespace: this.namespace,
      body: {
        spec: {
          audiences: audience ? [audience] : [],
          expirationSeconds: expirationSeconds ?? 3607,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name, uid: pod.metadata?.uid },
        },
      },
    });
    const token = request.status?.token ?? '';
    if (token !== '') this.#revealed.add(token);
    return token;
  }

  /** Decodes a Secret value and records it, so logs can mask it. */
  reveal(base64: string): string {
    const value = Buffer.from(base64, 'base64').toString('utf8');
    if (value !== '') this.#revealed.add(value);
    return value;
  }

  revealed(): string[] {
    return [...this.#revealed];
  }

  async #read<T>(kind: string, name: string, read: () => Promise<T>): Promise<T | undefined> {
    try {
      return await read();
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return undefined;
      throw new Error(
        `reading ${kind} ${this.namespace}/${name}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  #required<T>(
    found: T | undefined,
    optional: boolean | undefined,
    kind: string,
    name: string,
  ): T | undefined {
    // The kubelet's own wording, so a test sees what a real cluster would say.
    if (!found && !optional) throw new ContainerConfigError(`${kind} "${name}" not found`);
    return found;
  }
}

function inside(dir: string, path: string): string {
  const target = resolve(dir, path);
  const rel = relative(dir, target);
  if (rel === '..' || rel.startsWith('../') || isAbsolute(rel)) {
    throw new ContainerConfigError(`path ${path} leaves its volume`);
  }
  return target;
}

function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
