// The two health readers GitOps tools apply to Cutover's objects, run for
// real: the Argo CD Lua health scripts in config/argocd/ under a Lua
// interpreter (Debian's lua5.4; Argo CD embeds gopher-lua, Lua 5.1, so the
// scripts stick to the common subset), and kstatus (what Flux reads) through
// the Go checker test/kstatus builds from sigs.k8s.io/cli-utils.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const root = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

export const LUA_BIN = process.env.LUA_BIN ?? 'lua5.4';
export const ARGOCD_DIR = join(root, 'config/argocd');

/** The kinds with a health script, and the file each one lives in. */
export const HEALTH_SCRIPTS = {
  Release: 'release.lua',
  Environment: 'environment.lua',
  BackupPolicy: 'backuppolicy.lua',
  RollbackPolicy: 'rollbackpolicy.lua',
} as const;
export type HealthKind = keyof typeof HEALTH_SCRIPTS;

export type ArgoHealth = 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended' | 'Missing' | 'Unknown';
export interface ArgoVerdict {
  status: ArgoHealth;
  message: string;
}

export type KstatusStatus = 'InProgress' | 'Failed' | 'Current' | 'Terminating' | 'NotFound' | 'Unknown';
export interface KstatusVerdict {
  kind: string;
  namespace?: string;
  name: string;
  status: KstatusStatus;
  message: string;
  error?: string;
}

interface Obj {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * A Lua table constructor for a JSON value, the way Argo CD hands `obj` to a
 * script (null becomes nil). Strings use decimal byte escapes, which Lua 5.1
 * and 5.4 both read, so no character of a message can end the literal.
 */
export function luaLiteral(value: JsonValue): string {
  if (value === null) return 'nil';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`no JSON number is ${value}`);
    return String(value);
  }
  if (typeof value === 'string') return luaString(value);
  if (Array.isArray(value)) return `{${value.map(luaLiteral).join(', ')}}`;
  const fields = Object.entries(value)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `[${luaString(k)}] = ${luaLiteral(v)}`);
  return `{${fields.join(', ')}}`;
}

function luaString(s: string): string {
  let out = '"';
  for (const byte of Buffer.from(s, 'utf8')) {
    const plain = byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c;
    out += plain ? String.fromCharCode(byte) : `\\${String(byte).padStart(3, '0')}`;
  }
  return `${out}"`;
}

/** Runs the kind's health script over `obj` as Argo CD would: `obj` global, the chunk returns hs. */
export async function argoHealth(obj: Obj & object, kind?: HealthKind): Promise<ArgoVerdict> {
  const k = kind ?? (obj.kind as HealthKind | undefined);
  if (!k || !(k in HEALTH_SCRIPTS)) throw new Error(`no Argo CD health script for kind ${String(obj.kind)}`);
  const script = join(ARGOCD_DIR, HEALTH_SCRIPTS[k]);
  // The script path goes in as a Lua string too, so no quoting of it can break the chunk.
  const chunk = [
    `obj = ${luaLiteral(obj as JsonValue)}`,
    `local hs = dofile(${luaString(script)})`,
    `io.write(tostring(hs.status), "\\n", tostring(hs.message))`,
  ].join('\n');
  // On stdin: an object with its history can outgrow one command-line argument.
  const lua = run(LUA_BIN, ['-']);
  lua.child.stdin?.end(chunk);
  const { stdout } = await lua.catch((err: unknown) => {
    const e = err as { stderr?: string; message: string; code?: string };
    if (e.code === 'ENOENT') throw new Error(`${LUA_BIN} not found: apt-get install lua5.4 (or set LUA_BIN)`);
    throw new Error(`${LUA_BIN} failed on ${script}: ${e.stderr?.trim() || e.message}`);
  });
  const nl = stdout.indexOf('\n');
  return { status: stdout.slice(0, nl) as ArgoHealth, message: stdout.slice(nl + 1) };
}

const tools = new Map<string, Promise<string>>();

/**
 * Runs a tool's build script (test/kstatus/build.sh, test/helm/build.sh) once
 * per process and resolves with the binary's path, the script's last line:
 * the first run builds it into the cache, later ones find it there.
 */
export function buildTool(script: string): Promise<string> {
  let bin = tools.get(script);
  if (!bin) {
    bin = run('bash', [join(root, script)], { maxBuffer: 1024 * 1024 }).then(
      ({ stdout }) => stdout.trim().split('\n').at(-1) ?? '',
      (err: unknown) => {
        tools.delete(script);
        const e = err as { stderr?: string; message: string };
        throw new Error(e.stderr?.trim() || e.message);
      },
    );
    tools.set(script, bin);
  }
  return bin;
}

/** The kstatus checker, built from test/kstatus. */
export const buildKstatus = (): Promise<string> => buildTool('test/kstatus/build.sh');

/** kstatus' verdict on each object, in order. */
export async function kstatus(objects: object[]): Promise<KstatusVerdict[]> {
  const bin = await buildKstatus();
  const child = run(bin, [], { maxBuffer: 16 * 1024 * 1024 });
  child.child.stdin?.end(objects.map((o) => JSON.stringify(o)).join('\n'));
  const { stdout } = await child;
  return stdout
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as KstatusVerdict);
}
