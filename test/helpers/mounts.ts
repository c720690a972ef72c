// Real mounts for the source tests: file systems on loop files, tmpfs, read-only mounts, and a network
// file system through sshfs to an sshd on loopback. They need root (CI runs as root); without it a
// test fails with the reason, as every test that needs a real part does.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error('these tests mount file systems and need root (CI runs as root)');
}

/** Mounts made by one test file, all undone by cleanup() (unmount first, then the files). */
export class Mounts {
  readonly base: string;
  private readonly points: string[] = [];
  private readonly closers: (() => void)[] = [];

  constructor() {
    requireRoot();
    this.base = mkdtempSync(join(tmpdir(), 'azb-mounts-'));
  }

  folder(name: string): string {
    const dir = join(this.base, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** A new file system of `type` on a sparse loop file, mounted at `at` (made when missing). */
  loop(type: 'ext4' | 'xfs' | 'btrfs', at: string, o: { readOnly?: boolean } = {}): string {
    const image = join(this.base, `${type}-${this.points.length}.img`);
    // xfs wants 300 MiB at least; the files are sparse, so the size costs nothing.
    writeFileSync(image, '');
    run('truncate', ['-s', type === 'ext4' ? '64M' : '320M', image]);
    if (type === 'ext4') run('mkfs.ext4', ['-q', '-F', image]);
    else if (type === 'xfs') run('mkfs.xfs', ['-q', '-f', image]);
    else run('mkfs.btrfs', ['-q', '-f', image]);
    mkdirSync(at, { recursive: true });
    run('mount', ['-o', `loop${o.readOnly ? ',ro' : ''}`, image, at]);
    this.points.push(at);
    return at;
  }

  tmpfs(at: string): string {
    mkdirSync(at, { recursive: true });
    run('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'azb-test-tmpfs', at]);
    this.points.push(at);
    return at;
  }

  /** Makes a mounted file system read-only (or writable again). */
  remount(at: string, mode: 'ro' | 'rw'): void {
    run('mount', ['-o', `remount,${mode}`, at]);
  }

  unmount(at: string): void {
    run('umount', [at]);
    this.points.splice(this.points.indexOf(at), 1);
  }

  /** sshfs of `remote` (a local folder, served by the sshd on loopback) at `at`. */
  sshfs(sshd: Sshd, remote: string, at: string): string {
    mkdirSync(at, { recursive: true });
    run('sshfs', ['-o', `IdentityFile=${sshd.clientKey},StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,BatchMode=yes,port=${sshd.port}`, `root@127.0.0.1:${remote}`, at]);
    this.points.push(at);
    return at;
  }

  onCleanup(close: () => void): void {
    this.closers.push(close);
  }

  cleanup(): void {
    for (const at of [...this.points].reverse()) {
      try { run('umount', [at]); } catch { try { run('umount', ['-l', at]); } catch { /* already gone */ } }
    }
    this.points.length = 0;
    for (const close of this.closers.splice(0)) close();
    rmSync(this.base, { recursive: true, force: true });
  }
}

export interface Sshd {
  port: number; clientKey: string; hostKey: string; process: ChildProcess; stop(): void;
  /** Settles when the listening sshd has exited (after stop(), before its port is used again). */
  stopped: Promise<void>;
}

/** A TCP port on 127.0.0.1 that nothing listens on now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); });
    socket.on('error', () => resolve(false));
  });
}

/**
 * Debian's sshd on 127.0.0.1, root login with a key made here, sftp for sshfs. Started again on the
 * same folder it keeps its keys; `o.port` reuses a port (a member whose sshd restarted), and
 * `o.newHostKey` makes a new host key first (a reinstalled member, or a man in the middle).
 */
export async function startSshd(dir: string, o: { port?: number; newHostKey?: boolean; config?: string[] } = {}): Promise<Sshd> {
  const sshdPath = ['/usr/sbin/sshd', '/usr/bin/sshd'].find((p) => existsSync(p));
  if (!sshdPath) throw new Error('sshd not installed (tools/setup.sh installs openssh-server as root)');
  mkdirSync(dir, { recursive: true });
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // its privilege-separation folder
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  if (o.newHostKey) { rmSync(hostKey, { force: true }); rmSync(`${hostKey}.pub`, { force: true }); }
  if (!existsSync(hostKey)) run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  if (!existsSync(clientKey)) run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${clientKey}.pub`), { mode: 0o600 });
  const port = o.port ?? await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(config, [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${hostKey}`, `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'PermitRootLogin prohibit-password', 'PasswordAuthentication no',
    'KbdInteractiveAuthentication no', 'StrictModes no', 'UsePAM no', 'Subsystem sftp internal-sftp', ...(o.config ?? []), '',
  ].join('\n'));
  const child = spawn(sshdPath, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  for (let i = 0; i < 100 && !(await accepting(port)); i++) {
    if (child.exitCode !== null) throw new Error(`sshd ended: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!(await accepting(port))) throw new Error(`sshd does not accept on ${port}: ${stderr}`);
  const stopped = new Promise<void>((resolve) => { if (child.exitCode !== null) resolve(); else child.on('exit', () => resolve()); });
  return { port, clientKey, hostKey, process: child, stop: () => { child.kill('SIGTERM'); }, stopped };
}

/** The pid of the sshfs process serving a mount point (to stop it: a server that no longer answers). */
export function sshfsPid(at: string): number {
  const out = run('pgrep', ['-f', `sshfs .* ${at}$`]).trim().split('\n')[0];
  if (!out) throw new Error(`no sshfs process for ${at}`);
  return Number(out);
}
