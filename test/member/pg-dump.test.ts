// A real database dump from a member: PostgreSQL 15 in a temporary folder (as the postgres user, its
// unix socket in that folder, no TCP listener) on the loopback member, pg_dump run there over ssh by
// `backup --member`, the restored dump loaded into a new database and the query results compared. A
// pg_dump that fails (no such database) writes no point.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyError, resultOf } from '../helpers/engine.js';
import { freePort, requireRoot, startSshd, type Sshd } from '../helpers/mounts.js';
import { registeredServer, type VaultFixture } from '../helpers/vault-fixture.js';

const PG_BIN = '/usr/lib/postgresql/15/bin';

describe('pg_dump on a member over ssh', () => {
  let root: string;
  let pg: string;
  let port: string;
  let sshd: Sshd;
  let fx: VaultFixture;
  const psql = (db: string, args: string[]) => execFileSync(`${PG_BIN}/psql`, ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', pg, '-p', port, '-U', 'postgres', '-d', db, ...args], { encoding: 'utf8' }).trim();
  const summary = (db: string) => psql(db, ['-c', "select count(*) || ' ' || md5(string_agg(id || ':' || note, ',' order by id)) from orders"]);

  beforeAll(async () => {
    requireRoot();
    if (!existsSync(`${PG_BIN}/initdb`)) throw new Error(`PostgreSQL 15 is not installed (${PG_BIN}/initdb): tools/setup.sh installs it (package postgresql-15).`);
    root = mkdtempSync(join(tmpdir(), 'azb-member-pg-'));
    chmodSync(root, 0o755); // the cluster's folder must be reachable by postgres
    pg = join(root, 'pg');
    mkdirSync(pg);
    execFileSync('chown', ['postgres:postgres', pg]);
    port = String(await freePort());
    execFileSync('runuser', ['-u', 'postgres', '--', `${PG_BIN}/initdb`, '-D', `${pg}/data`, '-A', 'trust', '-U', 'postgres', '--no-sync'], { stdio: 'pipe' });
    execFileSync('runuser', ['-u', 'postgres', '--', `${PG_BIN}/pg_ctl`, '-D', `${pg}/data`, '-l', `${pg}/server.log`, '-w', '-o', `-k ${pg} -p ${port} -c listen_addresses=''`, 'start'], { stdio: 'pipe' });
    psql('postgres', ['-c', 'create database shop']);
    psql('shop', ['-c', "create table orders (id int primary key, note text); insert into orders select g, 'order ' || g || ' ''quoted'' $x; ✓' from generate_series(1, 20000) g"]);
    sshd = await startSshd(join(root, 'sshd'));
    fx = await registeredServer({ hostname: 'protect-pg' });
    const fp = /(SHA256:[A-Za-z0-9+/]{43})/.exec(execFileSync('ssh-keygen', ['-lf', `${sshd.hostKey}.pub`], { encoding: 'utf8' }))![1]!;
    const added = await fx.az(['member', 'add', 'pg01', '--host', '127.0.0.1', '--port', String(sshd.port), '--user', 'root', '--identity-file', sshd.clientKey, '--host-key-fingerprint', fp]);
    expect(added.code, added.stdout).toBe(0);
  }, 180_000);

  afterAll(() => {
    try { execFileSync('runuser', ['-u', 'postgres', '--', `${PG_BIN}/pg_ctl`, '-D', `${pg}/data`, '-m', 'immediate', 'stop'], { stdio: 'pipe' }); } catch { /* not started */ }
    sshd?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
    if (fx) rmSync(fx.root, { recursive: true, force: true });
  });

  // As the README's recipe: the member's account is root, runuser makes pg_dump the postgres user.
  const dumpArgs = (db: string) => ['--remote-command', '/usr/sbin/runuser', '--remote-arg=-u', '--remote-arg', 'postgres', '--remote-arg=--', '--remote-arg', `${PG_BIN}/pg_dump`,
    '--remote-arg=--host', '--remote-arg', pg, '--remote-arg=--port', '--remote-arg', port, '--remote-arg', db];

  it('backs up the dump; loaded from the restore into a new database it gives the same query results', async () => {
    const b = await fx.az(['backup', '--member', 'pg01', ...dumpArgs('shop'), '--stdin-name', 'shop.sql']);
    expect(b.code, b.stdout).toBe(0);
    resultOf(b, 'RecoveryPoint');
    const target = join(root, 'restored');
    const r = await fx.az(['restore', 'latest', '--target', target]);
    expect(r.code, r.stdout).toBe(0);
    psql('postgres', ['-c', 'create database shop_restored']);
    psql('shop_restored', ['-f', join(target, 'shop.sql')]);
    const original = summary('shop');
    expect(original.startsWith('20000 ')).toBe(true);
    expect(summary('shop_restored')).toBe(original);
  });

  it('fails with AZB_MEMBER_COMMAND_FAILED and pg_dump\'s own words when the dump fails, and writes no point', async () => {
    const before = (await fx.az(['points'])).events.filter((e) => e.type === 'item').length;
    const b = await fx.az(['backup', '--member', 'pg01', ...dumpArgs('nosuchdb'), '--stdin-name', 'nosuchdb.sql']);
    expect(b.code).toBe(1);
    const e = onlyError(b);
    expect(e.code).toBe('AZB_MEMBER_COMMAND_FAILED');
    expect(e.message).toContain('pg01');
    expect(e.message).toContain('database "nosuchdb" does not exist');
    expect((await fx.az(['points'])).events.filter((e2) => e2.type === 'item').length).toBe(before);
  });
});
