import { deriveClusterSecret, hpkeOpen } from '@veil/crypto'
import { base64urlToBytes, bytesToBase64url } from '@veil/protocol'
import { type Hex, keccak256, recoverMessageAddress, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_PROVISION_BODY_BYTES } from './app.js'
import { PROVISION_AEAD, type ProvisionResponse, provisionDigest, provisionInfo } from './provision.js'
import {
  flipByte,
  type KmsTestEnv,
  mined,
  registerWorker,
  startKmsEnv,
  type TestWorker,
  WORKER_MEASUREMENT,
  waitFor,
} from './test-support.js'

let env: KmsTestEnv
let member: TestWorker

beforeAll(async () => {
  env = await startKmsEnv({ kms: { assignCluster: 1n } })
  member = await activeMember()
})
afterAll(async () => {
  await env?.stop()
})

/** A worker the KMS approved and put in cluster 1. */
async function activeMember(options: Parameters<typeof registerWorker>[1] = {}): Promise<TestWorker> {
  const worker = await registerWorker(env, options)
  await waitFor('membership', () => env.t.owner.registry.read.isActiveMember([1n, worker.address]))
  return worker
}

async function post(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${env.kms.url}/v1/provision`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { status: response.status, json: (await response.json()) as Record<string, unknown> }
}

const request = (worker: TestWorker, overrides: Record<string, unknown> = {}) => ({
  v: 1,
  worker: worker.address,
  cluster: '1',
  quote: bytesToBase64url(worker.quote),
  collateral: null,
  ...overrides,
})

async function refusal(body: unknown): Promise<{ status: number; code: unknown; message: unknown }> {
  const { status, json } = await post(body)
  const error = json.error as { code?: unknown; message?: unknown } | undefined
  expect(json.ok).toBe(false)
  return { status, code: error?.code, message: error?.message }
}

describe('POST /v1/provision', () => {
  it('seals the cluster secret to the worker and signs it with the KMS identity', async () => {
    const { status, json } = await post(request(member))
    expect(status).toBe(200)
    const answer = json as unknown as ProvisionResponse
    expect(answer).toMatchObject({ v: 1, cluster: '1', kms: env.kms.address })
    const enc = base64urlToBytes(answer.enc)
    const ct = base64urlToBytes(answer.ct)
    const secret = hpkeOpen({
      recipientPrivateKey: member.x25519.privateKey,
      enc,
      ciphertext: ct,
      info: `veil/v1/provision/31337/${env.t.addresses.registry.toLowerCase()}/${member.address.toLowerCase()}/1`,
      aead: 'aes-128-gcm',
    })
    expect(toHex(secret)).toBe(toHex(deriveClusterSecret(env.master, '1')))
    // EIP-191 personal_sign of keccak256(enc ‖ ct), checked with viem, independently of @veil/crypto.
    const digest = keccak256(new Uint8Array([...enc, ...ct]))
    expect(toHex(provisionDigest(enc, ct))).toBe(digest)
    const signer = await recoverMessageAddress({ message: { raw: digest }, signature: answer.signature })
    expect(signer).toBe(env.kms.address)
    expect(await env.t.owner.registry.read.isKmsSigner([signer])).toBe(true)
    // Sealed to this worker, cluster and registry only.
    expect(() =>
      hpkeOpen({
        recipientPrivateKey: member.x25519.privateKey,
        enc,
        ciphertext: ct,
        info: provisionInfo(31337, env.t.addresses.registry, member.address, 2n),
        aead: PROVISION_AEAD,
      }),
    ).toThrow()
  })

  it('refuses a forged quote (QUOTE_INVALID)', async () => {
    const answer = await refusal(request(member, { quote: bytesToBase64url(flipByte(member.quote)) }))
    expect(answer).toMatchObject({ status: 403, code: 'QUOTE_INVALID' })
  })

  it("refuses a quote that does not bind the worker's registered keys (REPORT_DATA_MISMATCH)", async () => {
    // A genuine quote, but of another worker: its report data binds that worker's identity and key.
    const other = await activeMember()
    const answer = await refusal(request(member, { quote: bytesToBase64url(other.quote) }))
    expect(answer).toMatchObject({ status: 403, code: 'REPORT_DATA_MISMATCH' })
  })

  it('refuses a measurement the owner disallowed after approval (MEASUREMENT_NOT_ALLOWED)', async () => {
    const measurement = keccak256(toHex('veil-kms-test/withdrawn-build'))
    await mined(env.t, env.t.owner.registry.write.allowMeasurement([measurement]))
    const worker = await activeMember({ measurement })
    expect((await post(request(worker))).status).toBe(200)
    await mined(env.t, env.t.owner.registry.write.disallowMeasurement([measurement]))
    const answer = await refusal(request(worker))
    expect(answer).toMatchObject({ status: 403, code: 'MEASUREMENT_NOT_ALLOWED' })
  })

  it('refuses a revoked worker at once (WORKER_REVOKED)', async () => {
    const worker = await activeMember()
    expect((await post(request(worker))).status).toBe(200)
    await mined(env.t, env.t.owner.registry.write.revokeWorker([worker.address]))
    expect(await refusal(request(worker))).toMatchObject({ status: 403, code: 'WORKER_REVOKED' })
  })

  it('refuses a member of cluster 1 asking for cluster 2, and a worker taken out of its cluster', async () => {
    expect(await refusal(request(member, { cluster: '2' }))).toMatchObject({
      status: 403,
      code: 'NOT_CLUSTER_MEMBER',
    })
    const worker = await activeMember()
    await mined(env.t, env.t.owner.registry.write.removeClusterMember([1n, worker.address]))
    expect(await refusal(request(worker))).toMatchObject({ status: 403, code: 'NOT_CLUSTER_MEMBER' })
  })

  it('refuses an unregistered worker (WORKER_NOT_REGISTERED)', async () => {
    const stranger = { ...member, address: '0x000000000000000000000000000000000000dEaD' as Hex }
    expect(await refusal(request(stranger))).toMatchObject({ status: 403, code: 'WORKER_NOT_REGISTERED' })
  })

  it('refuses a pending worker (WORKER_NOT_ACTIVE)', async () => {
    // Its registration quote is forged, so the approver leaves it pending; it asks with a good one.
    const pending = await registerWorker(env, { tamper: (quote) => flipByte(quote) })
    await waitFor('the refusal', () =>
      env.kms.status().approver?.refusals.some((r) => r.worker === pending.address),
    )
    const answer = await refusal(request(pending))
    expect(answer).toMatchObject({ status: 403, code: 'WORKER_NOT_ACTIVE' })
  })

  it('answers 400 BAD_REQUEST to malformed bodies', async () => {
    const bad: unknown[] = [
      '{not json',
      '[]',
      'null',
      { ...request(member), v: 2 },
      { ...request(member), worker: '0x1234' },
      { ...request(member), cluster: 1 },
      { ...request(member), cluster: '01' },
      { ...request(member), cluster: '0' },
      { ...request(member), cluster: '18446744073709551616' },
      { ...request(member), quote: '' },
      { ...request(member), quote: 'ab+/' },
      { ...request(member), quote: 'abc=' },
      { ...request(member), quote: 'A' },
      { ...request(member), collateral: {} },
      { ...request(member), collateral: { tcb_info: 'x' } },
      { ...request(member), collateral: 'collateral' },
      { ...request(member), collateral: [] },
    ]
    for (const body of bad) {
      const answer = await refusal(body)
      expect(answer, JSON.stringify(body)).toMatchObject({ status: 400, code: 'BAD_REQUEST' })
    }
  })

  it('answers 413 to bodies above 64 KiB', async () => {
    const answer = await refusal(request(member, { padding: 'x'.repeat(MAX_PROVISION_BODY_BYTES) }))
    expect(answer).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' })
  })

  // Last: turning dev mode off cannot be undone on this ledger.
  it('refuses simulated quotes once the ledger left dev mode (SIMULATED_QUOTE_REFUSED)', async () => {
    expect(member.measurement).toBe(WORKER_MEASUREMENT)
    await mined(env.t, env.t.owner.registry.write.disableDevMode())
    expect(await refusal(request(member))).toMatchObject({ status: 403, code: 'SIMULATED_QUOTE_REFUSED' })
  })
})
