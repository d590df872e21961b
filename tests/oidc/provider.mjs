// A real OpenID provider for Samhand's OIDC login test: the certified
// `oidc-provider` package with one confidential client (Samhand) and its
// development login and consent pages, where any login name is an account whose
// `preferred_username` is that name.
//
//   node tests/oidc/provider.mjs REDIRECT_URI [PORT]
//
// PORT defaults to 0 (a free port). When listening, prints one line of JSON to
// stdout, {"issuer": "...", "client_id": "...", "client_secret": "..."}, and
// serves until its standard input closes (so it ends with the test that started
// it, even if that test is killed) or it gets SIGTERM.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const [redirectUri, portArgument] = process.argv.slice(2);
if (!redirectUri) {
  console.error('usage: node provider.mjs REDIRECT_URI [PORT]');
  process.exit(2);
}
const port = Number(portArgument ?? process.env.PORT ?? 0);

const client = {
  client_id: 'samhand',
  client_secret: randomBytes(24).toString('base64url'),
  redirect_uris: [redirectUri],
  response_types: ['code'],
  grant_types: ['authorization_code'],
  token_endpoint_auth_method: 'client_secret_basic',
};

// A fresh RS256 signing key each run, so the relying party must fetch the JWKS.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', use: 'sig', alg: 'RS256' };

const server = createServer();
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [client],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'name'],
    },
    features: {
      devInteractions: { enabled: true },
    },
    // Explicit lifetimes (seconds), which also keeps the provider's notices quiet.
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      Grant: 3600,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
    },
    async findAccount(ctx, accountId) {
      return {
        accountId,
        async claims() {
          return { sub: accountId, preferred_username: accountId, name: accountId };
        },
      };
    },
  });
  server.on('request', provider.callback());
  process.stdout.write(
    `${JSON.stringify({ issuer, client_id: client.client_id, client_secret: client.client_secret })}\n`,
  );
});

// Open keep-alive connections would hold server.close() up; there is nothing to save.
const stop = () => process.exit(0);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
