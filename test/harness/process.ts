import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

/** A numeric identity to run a child as; PostgreSQL will not run as root. */
export interface RunAs {
  uid: number;
  gid: number;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

export interface ServerProcess {
  readonly child: ChildProcess;
  /** Resolves once, when the process has gone; never rejects. */
  readonly exited: Promise<ExitStatus>;
  /** Aborted when the process exits, so waits on it can stop early. */
  readonly exitSignal: AbortSignal;
  readonly logPath: string;
  logTail(maxBytes?: number): Promise<string>;
  /** Sends `signal`, escalates to SIGKILL after `graceMs`, resolves on exit. */
  terminate(signal: NodeJS.Signals, graceMs: number): Promise<ExitStatus>;
}

export interface SpawnServerOptions {
  logPath: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  runAs?: RunAs | undefined;
}

/**
 * Starts a long-running server with stdout and stderr appended to a file, so
 * a failed start can be explained from the server's own words without
 * buffering unbounded output in memory.
 */
export function spawnServer(command: string, args: string[], options: SpawnServerOptions): ServerProcess {
  const fd = openSync(options.logPath, 'a', 0o644);
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', fd, fd],
      ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
    });
  } finally {
    closeSync(fd);
  }

  const exitController = new AbortController();
  const exited = new Promise<ExitStatus>((resolve) => {
    const done = (status: ExitStatus): void => {
      exitController.abort(new Error(describeExit(command, status)));
      resolve(status);
    };
    child.once('exit', (code, signal) => done({ code, signal }));
    // 'error' without 'exit' means the process never started (ENOENT, EACCES).
    child.once('error', (error) => {
      if (child.pid === undefined) done({ code: null, signal: null, error });
    });
  });

  let status: ExitStatus | undefined;
  void exited.then((s) => (status = s));

  return {
    child,
    exited,
    exitSignal: exitController.signal,
    logPath: options.logPath,
    logTail: (maxBytes = 4096) => readTail(options.logPath, maxBytes),
    async terminate(signal, graceMs) {
      if (status) return status;
      child.kill(signal);
      const timer = new AbortController();
      const inTime = await Promise.race([
        exited.then(() => true),
        delay(graceMs, false, { signal: timer.signal }).catch(() => true),
      ]);
      timer.abort();
      if (!inTime) child.kill('SIGKILL');
      return exited;
    },
  };
}

export function describeExit(command: string, status: ExitStatus): string {
  if (status.error) return `${command} could not be started: ${status.error.message}`;
  if (status.signal) return `${command} was killed by ${status.signal}`;
  return `${command} exited with code ${String(status.code)}`;
}

async function readTail(path: string, maxBytes: number): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}
