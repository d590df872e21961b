// A real OpenID provider for Samhand's OIDC login test: the certified
// `oidc-provider` package with one confidential client (Samhand) and its
// development login and consent pages, where any login name is an account whose
// `preferred_username` is that name.
//
// With --private-key-jwt the client authenticates at the token endpoint as HelseID
// requires, with a JWT signed by its own key (RFC 7523): the provider makes the
// key pair, registers the public key with the client, and prints the private key
// as a JWK (`client_jwk`) instead of a client secret.
//
// With --idporten it behaves as ID-porten does for the patient portal: the client
// is `samhand-portal`, no consent page is shown, the ID token carries `pid` (the
// login name, which the test makes a fødselsnummer) and `acr`, the level of
// assurance, chosen in the login page's password field: `high` gives
// idporten-loa-high, `low` idporten-loa-low, anything else idporten-loa-substantial.
//
//   node tests/oidc/provider.mjs REDIRECT_URI [PORT] [--idporten]
//
// PORT defaults to 0 (a free port). When listening, prints one line of JSON to
// stdout, {"issuer": "...", "client_id": "...", "client_secret": "..."}, and
// serves until its standard input closes (so it ends with the test that started
// it, even if that test is killed) or it gets SIGTERM.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const idporten = process.argv.includes('--idporten');
const privateKeyJwt = process.argv.includes('--private-key-jwt');
const [redirectUri, portArgument] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (!redirectUri) {
  console.error('usage: node provider.mjs REDIRECT_URI [PORT]');
  process.exit(2);
}
const port = Number(portArgument ?? process.env.PORT ?? 0);

const LEVELS = { high: 'idporten-loa-high', low: 'idporten-loa-low' };
const SUBSTANTIAL = 'idporten-loa-substantial';

const client = {
  client_id: idporten ? 'samhand-portal' : 'samhand',
  client_secret: randomBytes(24).toString('base64url'),
  redirect_uris: [redirectUri],
  response_types: ['code'],
  grant_types: ['authorization_code'],
  token_endpoint_auth_method: 'client_secret_basic',
};
// The client's own key pair, for private_key_jwt.
let clientJwk;
if (privateKeyJwt) {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  clientJwk = { ...pair.privateKey.export({ format: 'jwk' }), kid: 'samhand-client', alg: 'RS256', use: 'sig' };
  const { d, p, q, dp, dq, qi, ...publicJwk } = clientJwk;
  delete client.client_secret;
  client.token_endpoint_auth_method = 'private_key_jwt';
  client.token_endpoint_auth_signing_alg = 'RS256';
  client.jwks = { keys: [publicJwk] };
}

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
    claims: idporten
      ? { openid: ['sub', 'pid'], profile: ['name'] }
      : { openid: ['sub'], profile: ['preferred_username', 'name'] },
    // ID-porten puts `pid` in the ID token itself.
    conformIdTokenClaims: !idporten,
    acrValues: idporten ? ['idporten-loa-low', SUBSTANTIAL, 'idporten-loa-high'] : [],
    // ID-porten asks no consent: a grant is made at once for the portal's client.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      if (!idporten) return undefined;
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid profile');
      await grant.save();
      return grant;
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
          return idporten
            ? { sub: `pairwise-${accountId}`, pid: accountId, name: accountId }
            : { sub: accountId, preferred_username: accountId, name: accountId };
        },
      };
    },
  });
  const callback = provider.callback();
  server.on('request', async (req, res) => {
    // In ID-porten mode the login form's submission is answered here, so that the
    // login carries its level of assurance (the development login sets none).
    if (idporten && req.method === 'POST' && /^\/interaction\/[^/?]+$/.test(req.url)) {
      try {
        let body = '';
        for await (const chunk of req) body += chunk;
        const form = new URLSearchParams(body);
        const acr = LEVELS[form.get('password')] ?? SUBSTANTIAL;
        await provider.interactionFinished(
          req,
          res,
          { login: { accountId: form.get('login'), acr } },
          { mergeWithLastSubmission: false },
        );
      } catch (error) {
        res.statusCode = 500;
        res.end(String(error));
      }
      return;
    }
    callback(req, res);
  });
  process.stdout.write(
    `${JSON.stringify({ issuer, client_id: client.client_id, client_secret: client.client_secret ?? '', client_jwk: clientJwk ?? null })}\n`,
  );
});

// Open keep-alive connections would hold server.close() up; there is nothing to save.
const stop = () => process.exit(0);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
