// node-oidc-provider configured for FAPI 2.0 as its documentation describes, for bench/tokens.py's comparison:
// ES256, JWT access tokens (RFC 9068, via a resource indicator), private_key_jwt client authentication,
// mTLS certificate-bound access tokens (RFC 8705) from Node's own TLS server, the in-memory adapter.
// Usage: node server.mjs CONFIG.json  (written by the bench: port, issuer, TLS files, the client's public JWKS,
// workers). Prints "listening" once every worker serves.
import cluster from 'node:cluster';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const RESOURCE = 'https://api.bench.example';

function signingKey() {
  // A fresh key per run, created by the primary and shared with the workers: nothing secret on disk.
  if (process.env.BENCH_SIGNING_JWK) return JSON.parse(process.env.BENCH_SIGNING_JWK);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid: 'bench-es256', alg: 'ES256', use: 'sig' };
}

function serve(jwk) {
  const provider = new Provider(config.issuer, {
    clients: [{
      client_id: config.client_id,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'accounts payments',
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      id_token_signed_response_alg: 'ES256', // FAPI 2.0 refuses RS256 even where no ID token is issued
      tls_client_certificate_bound_access_tokens: true,
      jwks: config.client_jwks,
    }],
    jwks: { keys: [jwk] },
    scopes: ['accounts', 'payments'],
    clientAuthMethods: ['private_key_jwt'],
    enabledJWA: { clientAuthSigningAlgValues: ['ES256'] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      fapi: { enabled: true, profile: '2.0' },
      mTLS: {
        enabled: true,
        certificateBoundAccessTokens: true,
        // The certificate Node's TLS server verified against the bench CA on this connection, if any.
        getCertificate(ctx) {
          return ctx.socket.authorized ? ctx.socket.getPeerX509Certificate() : undefined;
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'accounts payments',
          audience: RESOURCE,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
  });
  provider.on('server_error', (_ctx, error) => console.error('server_error', error.message));
  const server = https.createServer({
    cert: readFileSync(config.cert_file),
    key: readFileSync(config.key_file),
    ca: readFileSync(config.ca_file),
    requestCert: true,
    rejectUnauthorized: false, // optional client certificate, as obank's server (CERT_OPTIONAL)
    keepAliveTimeout: 60_000,
  }, provider.callback());
  server.listen(config.port, '127.0.0.1', () => process.send?.('listening') ?? console.log('listening'));
}

if (config.workers > 1 && cluster.isPrimary) {
  const jwk = signingKey();
  let serving = 0;
  for (let i = 0; i < config.workers; i += 1) {
    const worker = cluster.fork({ BENCH_SIGNING_JWK: JSON.stringify(jwk) });
    worker.on('message', (message) => {
      serving += message === 'listening' ? 1 : 0;
      if (serving === config.workers) console.log('listening');
    });
  }
} else {
  serve(signingKey());
}
