// A strict real relying party: panva's openid-client v6, driven one phase at a time by the
// Python interop tests (tests/interop/test_openid_client.py).
//
//   node rp.mjs start   < request.json   discovery, PKCE + state + nonce, the authorization URL
//   node rp.mjs finish  < request.json   code exchange, userinfo, refresh, reuse, end-session URL
//   node rp.mjs refresh < request.json   one refresh token grant (to see it refused)
//
// The request is one JSON object on standard input; the answer is one JSON object on standard
// output: {"ok": true, ...} or {"ok": false, "step": ..., "error": {...}} with what the client
// rejected. The browser part (the sign-in pages) is done by the Python test between the phases.
//
// The client's checks are never loosened: discovery checks the issuer equals the URL it was
// given, enableNonRepudiationChecks verifies every ID token's signature against the JWKS, the
// authorization response's state and RFC 9207 iss are checked, the ID token's nonce, iss, aud,
// azp, exp/iat, auth_time (against max_age) and algorithm, and the UserInfo sub. The only
// concession is allowInsecureRequests: the provider under test serves http on 127.0.0.1.

import { readFileSync, writeFileSync } from 'node:fs'
import * as client from 'openid-client'

function readRequest() {
  return JSON.parse(readFileSync(0, 'utf8'))
}

function authentication(request) {
  switch (request.auth) {
    case 'client_secret_basic':
      return client.ClientSecretBasic(request.client_secret)
    case 'client_secret_post':
      return client.ClientSecretPost(request.client_secret)
    case 'none':
      return client.None()
    default:
      throw new TypeError(`unknown client authentication ${request.auth}`)
  }
}

async function discover(request) {
  const metadata = { id_token_signed_response_alg: request.id_token_alg ?? 'RS256' }
  if (request.client_secret) {
    metadata.client_secret = request.client_secret
  }
  return client.discovery(
    new URL(request.issuer),
    request.client_id,
    metadata,
    authentication(request),
    {
      execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
      algorithm: request.discovery ?? 'oidc',
    },
  )
}

function describe(error) {
  const described = { name: error?.name, message: error?.message, code: error?.code }
  for (const field of ['error', 'error_description', 'status']) {
    if (error?.[field] !== undefined) {
      described[field] = error[field]
    }
  }
  const cause = error?.cause
  if (cause !== undefined) {
    described.cause =
      cause instanceof Error
        ? { name: cause.name, message: cause.message, code: cause.code, cause: plain(cause.cause) }
        : plain(cause)
  }
  return described
}

function plain(value) {
  if (value === undefined) {
    return undefined
  }
  try {
    return JSON.parse(JSON.stringify(value, (_key, item) =>
      item instanceof Headers ? Object.fromEntries(item.entries()) : item))
  } catch {
    return String(value)
  }
}

async function step(name, steps, work) {
  try {
    return await work()
  } catch (error) {
    const failure = new Error(name)
    failure.step = name
    failure.original = error
    failure.steps = steps
    throw failure
  }
}

async function start(request) {
  const steps = []
  const config = await step('discovery', steps, () => discover(request))
  steps.push('discovery')
  const server = config.serverMetadata()
  const codeVerifier = client.randomPKCECodeVerifier()
  const parameters = {
    redirect_uri: request.redirect_uri,
    scope: request.scope ?? 'openid profile email',
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state: client.randomState(),
    nonce: client.randomNonce(),
    ...(request.parameters ?? {}),
  }
  const url = client.buildAuthorizationUrl(config, parameters)
  const saved = {
    request,
    code_verifier: codeVerifier,
    state: parameters.state,
    nonce: parameters.nonce,
    max_age: parameters.max_age === undefined ? undefined : Number(parameters.max_age),
  }
  writeFileSync(request.state_file, JSON.stringify(saved), { mode: 0o600 })
  return {
    ok: true,
    steps,
    issuer: server.issuer,
    supports_pkce: server.supportsPKCE(),
    authorization_url: url.href,
    state: parameters.state,
    nonce: parameters.nonce,
  }
}

async function finish(finishing) {
  const saved = JSON.parse(readFileSync(finishing.state_file, 'utf8'))
  const request = saved.request
  const steps = []
  const config = await step('discovery', steps, () => discover(request))
  steps.push('discovery')
  const checks = {
    pkceCodeVerifier: saved.code_verifier,
    expectedState: saved.state,
    expectedNonce: saved.nonce,
    idTokenExpected: true,
  }
  if (saved.max_age !== undefined && saved.max_age !== null) {
    checks.maxAge = saved.max_age
  }
  const tokens = await step('authorization_code_grant', steps, () =>
    client.authorizationCodeGrant(config, new URL(finishing.callback_url), checks))
  steps.push('authorization_code_grant')
  const claims = tokens.claims()
  const userinfo = await step('userinfo', steps, () =>
    client.fetchUserInfo(config, tokens.access_token, claims.sub))
  steps.push('userinfo')
  const result = { ok: true, steps, tokens: { ...tokens }, claims, userinfo }
  if (finishing.refresh && tokens.refresh_token) {
    const refreshed = await step('refresh_token_grant', steps, () =>
      client.refreshTokenGrant(config, tokens.refresh_token))
    steps.push('refresh_token_grant')
    result.refreshed = { tokens: { ...refreshed }, claims: refreshed.claims() }
    result.refreshed_userinfo = await step('userinfo_after_refresh', steps, () =>
      client.fetchUserInfo(config, refreshed.access_token, claims.sub))
    steps.push('userinfo_after_refresh')
    // Rotation: the first refresh token was spent; presenting it again must be refused.
    try {
      await client.refreshTokenGrant(config, tokens.refresh_token)
      result.reused = { refused: false }
    } catch (error) {
      result.reused = { refused: true, error: describe(error) }
    }
    steps.push('refresh_token_reuse')
  }
  if (finishing.post_logout_redirect_uri !== undefined) {
    result.end_session_url = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: finishing.post_logout_redirect_uri,
      state: finishing.logout_state,
    }).href
    steps.push('end_session_url')
  }
  return result
}

async function refresh(request) {
  const steps = []
  const config = await step('discovery', steps, () => discover(request))
  steps.push('discovery')
  const refreshed = await step('refresh_token_grant', steps, () =>
    client.refreshTokenGrant(config, request.refresh_token))
  steps.push('refresh_token_grant')
  return { ok: true, steps, tokens: { ...refreshed }, claims: refreshed.claims() }
}

const phases = { start, finish, refresh }

async function main() {
  const phase = phases[process.argv[2]]
  if (phase === undefined) {
    process.stderr.write(`usage: node rp.mjs ${Object.keys(phases).join('|')} < request.json\n`)
    process.exit(2)
  }
  try {
    process.stdout.write(JSON.stringify(await phase(readRequest())) + '\n')
  } catch (failure) {
    const error = failure.original ?? failure
    process.stdout.write(JSON.stringify({
      ok: false,
      step: failure.step ?? 'unknown',
      steps: failure.steps ?? [],
      error: describe(error),
    }) + '\n')
    process.exitCode = 1
  }
}

await main()
