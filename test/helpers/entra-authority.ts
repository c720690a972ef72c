// A stand-in for Microsoft Entra ID on 127.0.0.1 (HTTPS, self-signed): the OpenID metadata and the
// token endpoint of the client-credentials flow with certificate assertions, as the real service
// answers them (documented AADSTS errors included). It checks each client assertion like Entra does:
// the certificate named by its thumbprint must be registered for the app, the signature must verify
// with it, the audience must be the token endpoint. The tokens it issues are JWTs with the claims a
// storage token has (Azurite in OAuth mode checks issuer, audience and lifetime).
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { constants, createHash, generateKeyPairSync, randomBytes, randomUUID, sign as cryptoSign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';

/** A TLS certificate for 127.0.0.1 (and localhost), self-signed; trust it with NODE_EXTRA_CA_CERTS=certPath. */
export function writeLoopbackTls(dir: string): { certPath: string; keyPath: string; cert: string; key: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = '01' + randomBytes(8).toString('hex');
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ shortName: 'CN', value: '127.0.0.1' }]);
  cert.setIssuer([{ shortName: 'CN', value: '127.0.0.1' }]);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
  ]);
  cert.sign(key, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  const certPath = join(dir, 'loopback-tls.pem');
  const keyPath = join(dir, 'loopback-tls-key.pem');
  writeFileSync(certPath, certPem);
  writeFileSync(keyPath, keyPem, { mode: 0o600 });
  return { certPath, keyPath, cert: certPem, key: keyPem };
}

/** One request the authority received. */
export interface AuthorityRequest { method: string; path: string; clientId?: string; outcome: string }

export interface EntraAuthority {
  /** https://127.0.0.1:<port> — what AZURE_AUTHORITY_HOST is set to. */
  host: string;
  tenantId: string;
  requests: AuthorityRequest[];
  /** Registers an app (client ID) with the certificates (DER or PEM) allowed to sign its assertions. */
  registerApp(clientId: string, ...certificates: (Buffer | string)[]): void;
  close(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function jwt(claims: Record<string, unknown>, key: KeyObject): string {
  const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'loopback' }));
  const body = b64url(JSON.stringify(claims));
  return `${head}.${body}.${b64url(cryptoSign('sha256', Buffer.from(`${head}.${body}`), key))}`;
}

export async function startEntraAuthority(tls: { cert: string; key: string }, tenantId = randomUUID()): Promise<EntraAuthority> {
  const apps = new Map<string, X509Certificate[]>();
  const requests: AuthorityRequest[] = [];
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  let host = '';

  const fail = (res: import('node:http').ServerResponse, status: number, error: string, code: number, text: string) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error, error_description: `AADSTS${code}: ${text}\r\nTrace ID: ${randomUUID()}\r\nTimestamp: ${new Date().toISOString()}`, error_codes: [code], timestamp: new Date().toISOString(), trace_id: randomUUID(), correlation_id: randomUUID() }));
  };

  function checkAssertion(assertion: string, clientId: string, audience: string): string | undefined {
    const [h, b, s] = assertion.split('.');
    if (!h || !b || !s) return 'Client assertion is not a JWT.';
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { alg?: string; x5t?: string; 'x5t#S256'?: string };
    const claims = JSON.parse(Buffer.from(b, 'base64url').toString('utf8')) as { aud?: string; iss?: string; sub?: string; exp?: number };
    const certs = apps.get(clientId) ?? [];
    const cert = certs.find((c) => (header['x5t#S256'] && b64url(createHash('sha256').update(c.raw).digest()) === header['x5t#S256'])
      || (header.x5t && b64url(createHash('sha1').update(c.raw).digest()) === header.x5t));
    const shown = header['x5t#S256'] ?? header.x5t ?? 'none';
    if (!cert) return `Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '${shown}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${clientId}'.]`;
    const data = Buffer.from(`${h}.${b}`);
    const signature = Buffer.from(s, 'base64url');
    const ok = header.alg === 'PS256' ? verify('sha256', data, { key: cert.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature)
      : header.alg === 'RS256' ? verify('sha256', data, cert.publicKey, signature) : false;
    if (!ok) return `Client assertion contains an invalid signature. [Reason - The signature is invalid.]`;
    if (claims.aud !== audience) return `Client assertion audience claim does not match Realm issuer. Review the documentation at https://aka.ms/certCredentials.`;
    if (claims.iss !== clientId || claims.sub !== clientId) return `Client assertion issuer and subject must be the client ID.`;
    if (!claims.exp || claims.exp * 1000 < Date.now()) return 'Client assertion has expired.';
    return undefined;
  }

  const server: Server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const url = new URL(req.url ?? '/', host);
    const parts = url.pathname.split('/').filter(Boolean);
    const record: AuthorityRequest = { method: req.method ?? '', path: url.pathname, outcome: '' };
    requests.push(record);
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => {
      if (parts[0] !== tenantId) {
        record.outcome = 'unknown tenant';
        fail(res, 400, 'invalid_tenant', 90002, `Tenant '${parts[0]}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
        return;
      }
      const base = `${host}/${tenantId}`;
      if (req.method === 'GET' && url.pathname.endsWith('/.well-known/openid-configuration')) {
        record.outcome = 'metadata';
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({
          token_endpoint: `${base}/oauth2/v2.0/token`, authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
          end_session_endpoint: `${base}/oauth2/v2.0/logout`, device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
          jwks_uri: `${base}/discovery/v2.0/keys`, issuer: `${base}/v2.0`, response_types_supported: ['code', 'id_token', 'token'],
          token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'], tenant_region_scope: 'WW',
        }));
        return;
      }
      if (req.method === 'POST' && url.pathname === `/${tenantId}/oauth2/v2.0/token`) {
        const form = new URLSearchParams(body);
        const clientId = form.get('client_id') ?? '';
        record.clientId = clientId;
        if (!apps.has(clientId)) {
          record.outcome = 'unknown app';
          fail(res, 400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`);
          return;
        }
        if (form.get('grant_type') !== 'client_credentials' || form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
          record.outcome = 'bad grant';
          fail(res, 400, 'invalid_request', 900144, 'The request body must contain the following parameter: client_assertion.');
          return;
        }
        const problem = checkAssertion(form.get('client_assertion') ?? '', clientId, `${base}/oauth2/v2.0/token`);
        if (problem) {
          record.outcome = 'assertion refused';
          fail(res, 401, 'invalid_client', 700027, problem);
          return;
        }
        const scope = form.get('scope') ?? '';
        const now = Math.floor(Date.now() / 1000);
        record.outcome = `token for ${scope}`;
        const token = jwt({ aud: scope.replace(/\/\.default$/, ''), iss: `https://sts.windows.net/${tenantId}/`, iat: now, nbf: now - 60, exp: now + 3600, appid: clientId, oid: randomUUID(), sub: randomUUID(), tid: tenantId }, signingKey);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token }));
        return;
      }
      record.outcome = 'not found';
      res.writeHead(404);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host, tenantId, requests,
    registerApp(clientId, ...certificates) { apps.set(clientId, certificates.map((c) => new X509Certificate(c))); },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** A managed-identity token endpoint as App Service provides it (IDENTITY_ENDPOINT + IDENTITY_HEADER), on 127.0.0.1. */
export interface ManagedIdentityEndpoint { endpoint: string; header: string; requests: { resource: string; headerOk: boolean }[]; close(): Promise<void> }

export async function startManagedIdentityEndpoint(tenantId = randomUUID()): Promise<ManagedIdentityEndpoint> {
  const header = randomBytes(16).toString('hex');
  const requests: ManagedIdentityEndpoint['requests'] = [];
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const { createServer: createHttpServer } = await import('node:http');
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const resource = url.searchParams.get('resource') ?? '';
    const headerOk = req.headers['x-identity-header'] === header;
    requests.push({ resource, headerOk });
    if (!headerOk) { res.writeHead(401); res.end(); return; }
    const now = Math.floor(Date.now() / 1000);
    const token = jwt({ aud: resource, iss: `https://sts.windows.net/${tenantId}/`, iat: now, nbf: now - 60, exp: now + 3600, oid: randomUUID(), tid: tenantId }, signingKey);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ access_token: token, expires_on: String(now + 3600), resource, token_type: 'Bearer', client_id: randomUUID() }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/msi/token`, header, requests,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
