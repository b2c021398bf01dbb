// node-oidc-provider as bench/compare.py's peer: the same security posture as Nidan's
// benchmark configuration (RS256 JWT access tokens, refresh rotation on every use, a
// confidential client authenticating with client_secret_basic), in-memory storage, on
// loopback only. The library's own quick-start memory adapter keeps only the last 1,000
// entries (an LRU), so a benchmark's refresh pool and tokens would be evicted; the adapter
// below is a plain Map with expiry, the cheapest storage the peer can have.
//
//   node server.mjs PORT SECRET REDIRECT_URI
//
// Clients: "rp" (authorization_code, refresh_token, client_credentials) gets JWT access
// tokens for the resource "urn:bench:api"; "rp-opaque" gets the library's opaque access
// tokens, the only kind its userinfo and introspection endpoints accept.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const [port, secret, redirectUri] = process.argv.slice(2);
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa = { ...privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig', kid: 'bench-rs256' };
const RESOURCE = 'urn:bench:api';
const grants = ['authorization_code', 'refresh_token', 'client_credentials'];

const entries = new Map(); // "Model:id" -> { payload, expiresAt }
const index = new Map(); // "uid:..." / "grant:..." -> keys
class MapAdapter {
  constructor(model) { this.model = model; }
  key(id) { return `${this.model}:${id}`; }
  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    entries.set(key, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
    if (payload.uid) index.set(`uid:${payload.uid}`, key);
    if (payload.grantId) {
      const members = index.get(`grant:${payload.grantId}`) ?? new Set();
      members.add(key);
      index.set(`grant:${payload.grantId}`, members);
    }
  }
  async find(id) { return live(this.key(id)); }
  async findByUid(uid) { const key = index.get(`uid:${uid}`); return key ? live(key) : undefined; }
  async findByUserCode() { return undefined; }
  async consume(id) { const entry = entries.get(this.key(id)); if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000); }
  async destroy(id) { entries.delete(this.key(id)); }
  async revokeByGrantId(grantId) {
    for (const key of index.get(`grant:${grantId}`) ?? []) entries.delete(key);
    index.delete(`grant:${grantId}`);
  }
}
function live(key) {
  const entry = entries.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt <= Date.now()) { entries.delete(key); return undefined; }
  return entry.payload;
}

const configuration = {
  adapter: MapAdapter,
  clients: [
    { client_id: 'rp', client_secret: secret, redirect_uris: [redirectUri], grant_types: grants,
      token_endpoint_auth_method: 'client_secret_basic', response_types: ['code'] },
    { client_id: 'rp-opaque', client_secret: secret, redirect_uris: [redirectUri],
      grant_types: grants, token_endpoint_auth_method: 'client_secret_basic',
      response_types: ['code'] },
  ],
  jwks: { keys: [rsa] },
  cookies: { keys: ['bench-cookie-key-0123456789abcdef'] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  scopes: ['openid', 'offline_access', 'email', 'profile', 'api'],
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, email: `${sub}@example.com`, email_verified: true, name: sub }),
  }),
  pkce: { required: () => true },
  // Rotate on every use, as Nidan does (RFC 9700 4.14.2).
  rotateRefreshToken: () => true,
  issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token'),
  ttl: { AccessToken: 600, ClientCredentials: 600, IdToken: 600, AuthorizationCode: 600,
         RefreshToken: 30 * 24 * 3600, Interaction: 3600, Session: 24 * 3600, Grant: 30 * 24 * 3600 },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client) => (client.clientId === 'rp' ? RESOURCE : undefined),
      useGrantedResource: async () => true,
      getResourceServerInfo: async () => ({
        scope: 'api', audience: RESOURCE, accessTokenTTL: 600,
        accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
};

const provider = new Provider(`http://127.0.0.1:${port}`, configuration);
provider.on('server_error', (ctx, err) => { console.error('server_error', err); });
// A cheap readiness probe, outside the provider's routes.
provider.use(async (ctx, next) => {
  if (ctx.path === '/healthz') { ctx.body = 'ok'; return; }
  await next();
});
provider.listen(Number(port), '127.0.0.1');
