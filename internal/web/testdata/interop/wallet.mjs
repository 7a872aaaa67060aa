// Wallet-side helpers shared by the interop scripts: the callbacks the
// oid4vc-ts libraries need, over Node's crypto, and an ES256 device key.
import { createHash, generateKeyPairSync, randomBytes, sign, verify, createPublicKey } from 'node:crypto'
import { setGlobalConfig } from '@openid4vc/oauth2'

// The test server speaks plain http on 127.0.0.1.
setGlobalConfig({ allowInsecureUrls: true })

export const b64u = (b) => Buffer.from(b).toString('base64url')
export const fromB64u = (s) => Buffer.from(s, 'base64url')

export function newDeviceKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' })
  return { privateKey, publicJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } }
}

export function signCompact(header, payload, privateKey) {
  const input = b64u(JSON.stringify(header)) + '.' + b64u(JSON.stringify(payload))
  const sig = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' })
  return input + '.' + b64u(sig)
}

export function verifyCompact(compact, jwk) {
  const [h, p, s] = compact.split('.')
  const key = createPublicKey({ key: jwk, format: 'jwk' })
  return verify('sha256', Buffer.from(h + '.' + p), { key, dsaEncoding: 'ieee-p1363' }, fromB64u(s))
}

export function callbacks(device, extra = {}) {
  return {
    fetch: globalThis.fetch,
    hash: (data, alg) => createHash(alg.replace('-', '').toLowerCase()).update(data).digest(),
    generateRandom: (n) => randomBytes(n),
    signJwt: async (signer, { header, payload }) => ({
      jwt: signCompact(header, payload, device.privateKey),
      signerJwk: device.publicJwk,
    }),
    clientAuthentication: () => {},
    ...extra,
  }
}
