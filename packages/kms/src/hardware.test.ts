/**
 * The KMS against Intel TDX quotes, end to end, on a production-mode ledger (simulated quotes refused):
 * approval, cluster assignment and provisioning of a worker whose hardware quote binds its keys, and
 * every refusal only a hardware quote can reach (collateral validity and age, debug TD, TCB status).
 *
 * Real Intel quotes cannot bind a test worker's keys, so the quotes and collateral are re-signed on the
 * synthetic PKI of @veil/attestation (`dcap/test-pki.ts`), around the real dcapqvl-tdx-v4 quote and its
 * collateral, and the KMS trusts that PKI's root through its test-only `rootCa` option. The KMS's clock
 * reads the collateral's time, shifted by `clock.skewSeconds` for the expiry tests.
 */
import {
  collateralToJson,
  createSimulatedQuote,
  type DcapCollateral,
  quoteMeasurement,
  reportDataFromHash,
} from '@veil/attestation'
import { deriveClusterSecret, generateX25519KeyPair, hpkeOpen } from '@veil/crypto'
import { reportData, WorkerStatus } from '@veil/ledger'
import { type Address, base64urlToBytes, bytesToBase64url, type Clock } from '@veil/protocol'
import { hexToBytes, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DcapCase, loadDcapCases } from '../../attestation/src/dcap/test-fixtures.js'
import { createTestWorld } from '../../attestation/src/dcap/test-pki.js'
import type { KmsStatus } from './app.js'
import { verifyRegisteredWorker } from './attestation.js'
import { PROVISION_AEAD, type ProvisionResponse, provisionInfo } from './provision.js'
import {
  flipByte,
  type KmsTestEnv,
  mined,
  registerWorker,
  startKmsEnv,
  type TestWorker,
  type TestWorkerOptions,
  waitFor,
} from './test-support.js'

const DAY = 86_400
const real = loadDcapCases().find((c) => c.id === 'dcapqvl-tdx-v4') as DcapCase
/** UpToDate TDX platform; collateral issued a day before `world.now`, valid 30 days after it. */
const world = createTestWorld({ quote: real.quote, collateral: real.collateral, now: real.expected.asOf })

// Offsets in a TDX v4 quote's signed region: the 48-byte header, then the TD report 1.0.
const TD_REPORT = 48
const TEE_TCB_SVN = TD_REPORT
const TD_ATTRIBUTES = TD_REPORT + 120
const MR_TD = TD_REPORT + 136
const MR_CONFIG_ID = TD_REPORT + 184
const REPORT_DATA = TD_REPORT + 520

type SignedRegionChange = (signed: Uint8Array) => void
/** TD_ATTRIBUTES.TUD.DEBUG: the host can read the TD's memory. */
const debugTd: SignedRegionChange = (signed) => {
  signed[TD_ATTRIBUTES] = (signed[TD_ATTRIBUTES] ?? 0) | 0x01
}
/** TDX module SVN 2 (TEE_TCB_SVN[0]): an OutOfDate level of this TCB info's TDX_01 identity. */
const outOfDateModule: SignedRegionChange = (signed) => {
  signed[TEE_TCB_SVN] = 2
}
/** Another firmware: another MRTD, so another allowlist measurement. */
const otherBuild: SignedRegionChange = (signed) => {
  signed[MR_TD] = (signed[MR_TD] ?? 0) ^ 1
}

/** A TDX quote on the synthetic PKI carrying `reportData`, with the signed region changed as asked. */
function tdxQuote(reportData: Uint8Array, change?: SignedRegionChange): Uint8Array {
  return world.requote((signed) => {
    signed.set(reportData, REPORT_DATA)
    change?.(signed)
  })
}

const MEASUREMENT = quoteMeasurement(world.quote)
const OTHER_MEASUREMENT = quoteMeasurement(tdxQuote(new Uint8Array(64), otherBuild))

const iso = (unix: number) => new Date(unix * 1000).toISOString().replace('.000Z', 'Z')
/** TCB info whose validity ended a day before `world.now`. */
const expiredCollateral = world.withTcbInfo((info) => {
  info.issueDate = iso(world.now - 31 * DAY)
  info.nextUpdate = iso(world.now - DAY)
})
/** Valid TCB info, but issued 10 days before `world.now`: older than the KMS's 7 days. */
const oldCollateral = world.withTcbInfo((info) => {
  info.issueDate = iso(world.now - 10 * DAY)
})
const MAX_COLLATERAL_AGE = 7 * DAY

/** The KMS's clock: `world.now` when the file starts, running in real time, plus `skewSeconds`. */
const CLOCK_OFFSET_MS = world.now * 1000 - Date.now()
const clock: Clock & { skewSeconds: number } = {
  skewSeconds: 0,
  now: (): number => Date.now() + CLOCK_OFFSET_MS + clock.skewSeconds * 1000,
}

/** The KMS's collateral source at approval: `world.collateral` unless set here by quote (null: none). */
const collateralByQuote = new Map<string, DcapCollateral | null>()
const withCollateral = (quote: Uint8Array, collateral: DcapCollateral | null) => {
  collateralByQuote.set(toHex(quote), collateral)
  return quote
}
async function collateralFor(quote: Uint8Array): Promise<DcapCollateral | undefined> {
  const collateral = collateralByQuote.get(toHex(quote))
  return collateral === null ? undefined : (collateral ?? world.collateral)
}

let env: KmsTestEnv
let member: TestWorker

beforeAll(async () => {
  env = await startKmsEnv({
    kms: {
      assignCluster: 1n,
      collateralFor,
      clock,
      maxCollateralAgeSeconds: MAX_COLLATERAL_AGE,
      rootCa: world.rootPem,
    },
  })
  await mined(env.t, env.t.owner.registry.write.disableDevMode())
  await mined(env.t, env.t.owner.registry.write.allowMeasurement([MEASUREMENT]))
  member = await registerHardwareWorker()
  await waitFor('membership', () => env.t.owner.registry.read.isActiveMember([1n, member.address]))
})
afterAll(async () => {
  await env?.stop()
})

/** A worker registered with a TDX quote binding its keys (changed as `options` say). */
const registerHardwareWorker = (options: TestWorkerOptions = {}) =>
  registerWorker(env, { measurement: MEASUREMENT, makeQuote: (data) => tdxQuote(data), ...options })

/** The 64 bytes of report data binding `worker`'s identity to `x25519PublicKey` on the test ledger. */
const bindingOf = (worker: TestWorker, x25519PublicKey: Uint8Array) =>
  reportDataFromHash(hexToBytes(reportData(worker.address, x25519PublicKey, 31337, env.t.addresses.registry)))

const statusOf = async (worker: Address) => (await env.t.owner.registry.read.getWorker([worker])).status

async function httpStatus(): Promise<KmsStatus> {
  const response = await fetch(`${env.kms.url}/v1/status`)
  expect(response.status).toBe(200)
  return (await response.json()) as KmsStatus
}

async function provision(
  worker: TestWorker,
  overrides: { quote?: Uint8Array; collateral?: DcapCollateral | null; cluster?: string } = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const collateral = overrides.collateral === undefined ? world.collateral : overrides.collateral
  const response = await fetch(`${env.kms.url}/v1/provision`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      v: 1,
      worker: worker.address,
      cluster: overrides.cluster ?? '1',
      quote: bytesToBase64url(overrides.quote ?? worker.quote),
      collateral: collateral === null ? null : collateralToJson(collateral),
    }),
  })
  return { status: response.status, json: (await response.json()) as Record<string, unknown> }
}

async function refusal(
  worker: TestWorker,
  overrides: Parameters<typeof provision>[1] = {},
): Promise<{ status: number; code: unknown; message: unknown }> {
  const { status, json } = await provision(worker, overrides)
  const error = json.error as { code?: unknown; message?: unknown } | undefined
  expect(json.ok).toBe(false)
  return { status, code: error?.code, message: error?.message }
}

/** Runs `step` with the KMS's clock `days` ahead. */
async function daysLater<T>(days: number, step: () => Promise<T>): Promise<T> {
  clock.skewSeconds = days * DAY
  try {
    return await step()
  } finally {
    clock.skewSeconds = 0
  }
}

describe('hardware (TDX) workers on a production-mode ledger', () => {
  it('approves a worker whose TDX quote binds its keys, adds it to the cluster, and provisions it', async () => {
    expect(await env.t.owner.registry.read.devMode()).toBe(false)
    const record = await env.t.owner.registry.read.getWorker([member.address])
    expect(record.status).toBe(WorkerStatus.Active)
    expect(record.cluster).toBe(1n)
    expect(record.measurement).toBe(MEASUREMENT)

    const { status, json } = await provision(member)
    expect(status).toBe(200)
    const answer = json as unknown as ProvisionResponse
    expect(answer).toMatchObject({ v: 1, cluster: '1', kms: env.kms.address })
    const secret = hpkeOpen({
      recipientPrivateKey: member.x25519.privateKey,
      enc: base64urlToBytes(answer.enc),
      ciphertext: base64urlToBytes(answer.ct),
      info: provisionInfo(31337, env.t.addresses.registry, member.address, 1n),
      aead: PROVISION_AEAD,
    })
    expect(toHex(secret)).toBe(toHex(deriveClusterSecret(env.master, '1')))
  })

  it('trusts the synthetic PKI only through the test root: with Intel’s root the same quote is refused', async () => {
    const check = {
      worker: {
        address: member.address,
        x25519PublicKey: toHex(member.x25519.publicKey),
        measurement: MEASUREMENT,
      },
      quote: member.quote,
      collateral: world.collateral,
      chainId: 31337,
      registry: env.t.addresses.registry,
      devMode: false,
      isMeasurementAllowed: async () => true,
      now: world.now,
    }
    await expect(
      verifyRegisteredWorker({ ...check, policy: { rootCa: world.rootPem } }),
    ).resolves.toMatchObject({
      tee: 'tdx',
      status: 'UpToDate',
      measurement: MEASUREMENT,
    })
    await expect(verifyRegisteredWorker({ ...check, policy: {} })).rejects.toMatchObject({
      code: 'QUOTE_INVALID',
    })
  })
})

describe('approval of hardware workers', () => {
  const otherKey = generateX25519KeyPair().publicKey
  const cases: [what: string, code: string, options: () => TestWorkerOptions, message?: RegExp][] = [
    [
      'a forged byte in the quote',
      'QUOTE_INVALID',
      () => ({ tamper: (quote) => flipByte(quote, MR_CONFIG_ID) }),
      /signature/i,
    ],
    [
      'report data that does not bind its registered keys',
      'REPORT_DATA_MISMATCH',
      () => ({ quotedX25519: otherKey }),
    ],
    [
      'a measurement outside the allowlist',
      'MEASUREMENT_NOT_ALLOWED',
      () => ({ measurement: OTHER_MEASUREMENT, makeQuote: (data) => tdxQuote(data, otherBuild) }),
    ],
    ['a debug TD', 'DEBUG_REFUSED', () => ({ makeQuote: (data) => tdxQuote(data, debugTd) })],
    [
      'an OutOfDate TCB',
      'TCB_STATUS_REFUSED',
      () => ({ makeQuote: (data) => tdxQuote(data, outOfDateModule) }),
      /OutOfDate/,
    ],
    [
      'expired collateral',
      'QUOTE_INVALID',
      () => ({ makeQuote: (data) => withCollateral(tdxQuote(data), expiredCollateral) }),
      /TCB info is not valid .*expired/,
    ],
    [
      'collateral older than maxCollateralAgeSeconds',
      'COLLATERAL_TOO_OLD',
      () => ({ makeQuote: (data) => withCollateral(tdxQuote(data), oldCollateral) }),
    ],
    [
      'no collateral from its source',
      'COLLATERAL_MISSING',
      () => ({ makeQuote: (data) => withCollateral(tdxQuote(data), null) }),
    ],
    [
      'a simulated quote',
      'SIMULATED_QUOTE_REFUSED',
      () => ({ makeQuote: (data) => createSimulatedQuote(hexToBytes(MEASUREMENT), data) }),
    ],
  ]
  const refused: { worker: Address; code: string }[] = []

  it.each(cases)('leaves a worker with %s pending (%s)', async (_what, code, options, message) => {
    const worker = await registerHardwareWorker(options())
    const found = await waitFor(`a refusal of ${worker.address}`, () =>
      env.kms.status().approver?.refusals.find((r) => r.worker === worker.address),
    )
    expect(found.code).toBe(code)
    if (message) expect(found.message).toMatch(message)
    expect(await statusOf(worker.address)).toBe(WorkerStatus.Pending)
    refused.push({ worker: worker.address, code })
  })

  it('lists every refused worker with its reason on /v1/status, still pending', async () => {
    expect(refused).toHaveLength(cases.length)
    const { approver } = await httpStatus()
    expect(approver?.approved).toBe(1) // the member only
    for (const { worker, code } of refused) {
      expect(approver?.refusals.find((r) => r.worker === worker)).toMatchObject({ worker, code })
      expect(await statusOf(worker)).toBe(WorkerStatus.Pending)
    }
  })
})

describe('provisioning of a hardware worker', () => {
  it('refuses a forged byte in the quote (QUOTE_INVALID)', async () => {
    const answer = await refusal(member, { quote: flipByte(member.quote, MR_CONFIG_ID) })
    expect(answer).toMatchObject({ status: 403, code: 'QUOTE_INVALID' })
    expect(answer.message).toMatch(/signature/i)
  })

  it("refuses a genuine quote whose report data does not bind the worker's registered keys (REPORT_DATA_MISMATCH)", async () => {
    const quote = tdxQuote(bindingOf(member, generateX25519KeyPair().publicKey))
    expect(await refusal(member, { quote })).toMatchObject({ status: 403, code: 'REPORT_DATA_MISMATCH' })
  })

  it('refuses a quote of another build than the registered one (MEASUREMENT_NOT_ALLOWED)', async () => {
    const quote = tdxQuote(bindingOf(member, member.x25519.publicKey), otherBuild)
    expect(await refusal(member, { quote })).toMatchObject({ status: 403, code: 'MEASUREMENT_NOT_ALLOWED' })
  })

  it('refuses a debug TD (DEBUG_REFUSED)', async () => {
    const quote = tdxQuote(bindingOf(member, member.x25519.publicKey), debugTd)
    expect(await refusal(member, { quote })).toMatchObject({ status: 403, code: 'DEBUG_REFUSED' })
  })

  it('refuses an OutOfDate TCB with the default minStatus (TCB_STATUS_REFUSED)', async () => {
    const quote = tdxQuote(bindingOf(member, member.x25519.publicKey), outOfDateModule)
    const answer = await refusal(member, { quote })
    expect(answer).toMatchObject({ status: 403, code: 'TCB_STATUS_REFUSED' })
    expect(answer.message).toMatch(/OutOfDate/)
  })

  it('refuses a hardware quote without collateral (COLLATERAL_MISSING)', async () => {
    expect(await refusal(member, { collateral: null })).toMatchObject({
      status: 403,
      code: 'COLLATERAL_MISSING',
    })
  })

  it('refuses collateral older than maxCollateralAgeSeconds, though still valid (COLLATERAL_TOO_OLD)', async () => {
    expect(await refusal(member, { collateral: oldCollateral })).toMatchObject({
      status: 403,
      code: 'COLLATERAL_TOO_OLD',
    })
    // The same collateral ages on the KMS's clock: fine today, too old 10 days later.
    expect((await provision(member)).status).toBe(200)
    const later = await daysLater(10, () => refusal(member))
    expect(later).toMatchObject({ status: 403, code: 'COLLATERAL_TOO_OLD' })
  })

  it('refuses expired collateral once the KMS clock passes its nextUpdate (QUOTE_INVALID)', async () => {
    const later = await daysLater(31, () => refusal(member))
    expect(later).toMatchObject({ status: 403, code: 'QUOTE_INVALID' })
    expect(later.message).toMatch(/expired/)
    expect(await refusal(member, { collateral: expiredCollateral })).toMatchObject({
      status: 403,
      code: 'QUOTE_INVALID',
    })
  })

  it('refuses a simulated quote binding its keys on the production ledger (SIMULATED_QUOTE_REFUSED)', async () => {
    const simulated = createSimulatedQuote(
      hexToBytes(MEASUREMENT),
      bindingOf(member, member.x25519.publicKey),
    )
    expect(await refusal(member, { quote: simulated, collateral: null })).toMatchObject({
      status: 403,
      code: 'SIMULATED_QUOTE_REFUSED',
    })
  })

  it('refuses a member of cluster 1 asking for cluster 2 (NOT_CLUSTER_MEMBER)', async () => {
    expect(await refusal(member, { cluster: '2' })).toMatchObject({ status: 403, code: 'NOT_CLUSTER_MEMBER' })
  })

  // Last: revocation is for good.
  it('refuses the worker once revoked (WORKER_REVOKED)', async () => {
    expect((await provision(member)).status).toBe(200)
    await mined(env.t, env.t.owner.registry.write.revokeWorker([member.address]))
    expect(await refusal(member)).toMatchObject({ status: 403, code: 'WORKER_REVOKED' })
  })
})
