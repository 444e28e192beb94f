import { type Address, type Hex, keccak256, maxUint256, toHex, zeroAddress, zeroHash } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deployLedger } from './deploy.js'
import { getLedger, type Ledger, WorkerStatus } from './ledger.js'
import { ledgerAssertions, revertEachTest } from './test-assertions.js'
import { startTestLedger, type TestLedger } from './testing.js'

// Roles: dev account 0 owns the registry, 1 is a KMS signer, 2 operates workers, 9 is a stranger.
// Workers are fresh random identities (a worker's address is its TEE-generated key), funded by anvil.
let t: TestLedger
let owner: Ledger
let kms: Ledger
let stranger: Ledger
let ownerAddress: Address
let kmsAddress: Address
let operatorAddress: Address
let strangerAddress: Address

const MEASUREMENT = keccak256(toHex('veil-worker-image-v1'))
const OTHER_MEASUREMENT = keccak256(toHex('veil-worker-image-v2'))
const QUOTE = toHex(new Uint8Array(5 * 1024).fill(0x5a))

beforeAll(async () => {
  t = await startTestLedger()
  owner = t.owner
  kms = t.as(1).ledger
  stranger = t.as(9).ledger
  ownerAddress = t.as(0).account.address
  kmsAddress = t.as(1).account.address
  operatorAddress = t.as(2).account.address
  strangerAddress = t.as(9).account.address
  await mined(owner.registry.write.addKmsSigner([kmsAddress]))
  await mined(owner.registry.write.allowMeasurement([MEASUREMENT]))
})
afterAll(async () => {
  await t?.stop()
})
// Every test starts from the state beforeAll left: registry deployed, one KMS signer, one measurement.
revertEachTest(() => t)

const { mined, expectRevert } = ledgerAssertions(() => t.publicClient)

interface Worker {
  address: Address
  ledger: Ledger
}

/** A new worker identity with gas money, not yet registered. */
async function newWorker(): Promise<Worker> {
  const { account, walletClient } = await t.newAccount()
  return {
    address: account.address,
    ledger: getLedger({ publicClient: t.publicClient, walletClient, addresses: t.addresses }),
  }
}

interface Registration {
  x25519PublicKey: Hex
  endpoint: string
  measurement: Hex
  operator: Address
  quote: Hex
}

function registration(overrides: Partial<Registration> = {}): Registration {
  return {
    x25519PublicKey: keccak256(toHex('x25519')),
    endpoint: 'https://worker-1.example.org:8443',
    measurement: MEASUREMENT,
    operator: operatorAddress,
    quote: QUOTE,
    ...overrides,
  }
}

function register(worker: Worker, overrides: Partial<Registration> = {}) {
  const r = registration(overrides)
  return worker.ledger.registry.write.registerWorker([
    r.x25519PublicKey,
    r.endpoint,
    r.measurement,
    r.operator,
    r.quote,
  ])
}

async function registeredWorker(overrides: Partial<Registration> = {}): Promise<Worker> {
  const worker = await newWorker()
  await mined(register(worker, overrides))
  return worker
}

async function activeWorker(): Promise<Worker> {
  const worker = await registeredWorker()
  await mined(kms.registry.write.approveWorker([worker.address]))
  return worker
}

async function createCluster(): Promise<bigint> {
  const { events } = await mined(owner.registry.write.createCluster())
  const created = events.find((e) => e.eventName === 'ClusterCreated')
  if (created?.eventName !== 'ClusterCreated') throw new Error('createCluster emitted no ClusterCreated')
  return created.args.cluster
}

describe('registerWorker', () => {
  it('records a pending worker and publishes its quote in the event', async () => {
    const worker = await newWorker()
    const r = registration()
    const { receipt, events } = await mined(register(worker))
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      eventName: 'WorkerRegistered',
      address: t.addresses.registry.toLowerCase(),
      args: {
        worker: worker.address,
        operator: operatorAddress,
        x25519PublicKey: r.x25519PublicKey,
        measurement: MEASUREMENT,
        endpoint: r.endpoint,
        quote: QUOTE,
      },
    })
    expect(await owner.registry.read.getWorker([worker.address])).toEqual({
      operator: operatorAddress,
      registeredAt: receipt.blockNumber,
      cluster: 0n,
      status: WorkerStatus.Pending,
      x25519PublicKey: r.x25519PublicKey,
      measurement: MEASUREMENT,
      quoteHash: keccak256(QUOTE),
      endpoint: r.endpoint,
    })
    expect(await owner.registry.read.isActiveWorker([worker.address])).toBe(false)
    expect(await owner.registry.read.workerCount()).toBe(1n)
  })

  it('accepts a quote of exactly 16 KiB and an endpoint of exactly 256 bytes', async () => {
    expect(await owner.registry.read.MAX_QUOTE_BYTES()).toBe(16_384n)
    expect(await owner.registry.read.MAX_ENDPOINT_BYTES()).toBe(256n)
    const worker = await newWorker()
    const endpoint = `https://${'a'.repeat(256 - 8)}`
    await mined(register(worker, { quote: toHex(new Uint8Array(16_384).fill(1)), endpoint }))
    expect((await owner.registry.read.getWorker([worker.address])).endpoint).toBe(endpoint)
  })

  it('refuses a second registration of the same identity', async () => {
    const worker = await registeredWorker()
    await expectRevert(register(worker), 'WorkerAlreadyRegistered', [worker.address])
  })

  it('validates the key, endpoint, quote and operator', async () => {
    const worker = await newWorker()
    await expectRevert(register(worker, { x25519PublicKey: zeroHash }), 'InvalidPublicKey', [])
    await expectRevert(register(worker, { endpoint: '' }), 'InvalidEndpoint', [0n])
    await expectRevert(register(worker, { endpoint: 'h'.repeat(257) }), 'InvalidEndpoint', [257n])
    // The limit is in UTF-8 bytes, not characters: 86 × '€' is 258 bytes.
    await expectRevert(register(worker, { endpoint: '€'.repeat(86) }), 'InvalidEndpoint', [258n])
    await expectRevert(register(worker, { quote: '0x' }), 'InvalidQuote', [0n])
    await expectRevert(register(worker, { quote: toHex(new Uint8Array(16_385)) }), 'InvalidQuote', [16_385n])
    await expectRevert(register(worker, { operator: zeroAddress }), 'InvalidAddress', [])
    expect((await owner.registry.read.getWorker([worker.address])).status).toBe(WorkerStatus.None)
  })
})

describe('approveWorker', () => {
  it('lets a KMS signer activate a pending worker', async () => {
    const worker = await registeredWorker()
    const { events } = await mined(kms.registry.write.approveWorker([worker.address]))
    expect(events).toMatchObject([
      { eventName: 'WorkerApproved', args: { worker: worker.address, kmsSigner: kmsAddress } },
    ])
    expect((await owner.registry.read.getWorker([worker.address])).status).toBe(WorkerStatus.Active)
    expect(await owner.registry.read.isActiveWorker([worker.address])).toBe(true)
  })

  it('is reserved to KMS signers, not even the registry owner', async () => {
    const worker = await registeredWorker()
    await expectRevert(owner.registry.write.approveWorker([worker.address]), 'NotKmsSigner', [ownerAddress])
    await expectRevert(stranger.registry.write.approveWorker([worker.address]), 'NotKmsSigner', [
      strangerAddress,
    ])
    await expectRevert(worker.ledger.registry.write.approveWorker([worker.address]), 'NotKmsSigner', [
      worker.address,
    ])
  })

  it('only approves pending workers', async () => {
    const unknown = await newWorker()
    await expectRevert(kms.registry.write.approveWorker([unknown.address]), 'WorkerNotPending', [
      unknown.address,
      WorkerStatus.None,
    ])
    const active = await activeWorker()
    await expectRevert(kms.registry.write.approveWorker([active.address]), 'WorkerNotPending', [
      active.address,
      WorkerStatus.Active,
    ])
  })

  it('requires the measurement to be allowed at approval time', async () => {
    const worker = await registeredWorker({ measurement: OTHER_MEASUREMENT })
    await expectRevert(kms.registry.write.approveWorker([worker.address]), 'MeasurementNotAllowed', [
      OTHER_MEASUREMENT,
    ])
    await mined(owner.registry.write.allowMeasurement([OTHER_MEASUREMENT]))
    await mined(kms.registry.write.approveWorker([worker.address]))

    // Disallowing a measurement stops new approvals of workers registered with it.
    const late = await registeredWorker()
    await mined(owner.registry.write.disallowMeasurement([MEASUREMENT]))
    await expectRevert(kms.registry.write.approveWorker([late.address]), 'MeasurementNotAllowed', [
      MEASUREMENT,
    ])
  })
})

describe('revokeWorker', () => {
  it('lets the owner revoke a pending worker', async () => {
    const worker = await registeredWorker()
    const { events } = await mined(owner.registry.write.revokeWorker([worker.address]))
    expect(events).toMatchObject([
      { eventName: 'WorkerRevoked', args: { worker: worker.address, by: ownerAddress } },
    ])
    expect((await owner.registry.read.getWorker([worker.address])).status).toBe(WorkerStatus.Revoked)
  })

  it('lets a KMS signer revoke an active member and removes it from its cluster first', async () => {
    const worker = await activeWorker()
    const cluster = await createCluster()
    await mined(owner.registry.write.addClusterMember([cluster, worker.address]))
    expect(await owner.registry.read.isActiveMember([cluster, worker.address])).toBe(true)

    const { events } = await mined(kms.registry.write.revokeWorker([worker.address]))
    expect(events.map((e) => e.eventName)).toEqual(['ClusterMemberRemoved', 'WorkerRevoked'])
    expect(events).toMatchObject([
      { args: { cluster, worker: worker.address } },
      { args: { worker: worker.address, by: kmsAddress } },
    ])
    const stored = await owner.registry.read.getWorker([worker.address])
    expect(stored.status).toBe(WorkerStatus.Revoked)
    expect(stored.cluster).toBe(0n)
    expect(await owner.registry.read.clusterMembers([cluster])).toEqual([])
    expect(await owner.registry.read.isActiveMember([cluster, worker.address])).toBe(false)
    expect(await owner.registry.read.isActiveWorker([worker.address])).toBe(false)
  })

  it('is reserved to the owner and KMS signers', async () => {
    const worker = await activeWorker()
    await expectRevert(stranger.registry.write.revokeWorker([worker.address]), 'NotOwnerOrKmsSigner', [
      strangerAddress,
    ])
    // Not even the worker itself.
    await expectRevert(worker.ledger.registry.write.revokeWorker([worker.address]), 'NotOwnerOrKmsSigner', [
      worker.address,
    ])
  })

  it('refuses unknown workers', async () => {
    const unknown = await newWorker()
    await expectRevert(owner.registry.write.revokeWorker([unknown.address]), 'UnknownWorker', [
      unknown.address,
    ])
  })

  it('is terminal: a revoked identity can do nothing again', async () => {
    const worker = await activeWorker()
    const cluster = await createCluster()
    await mined(owner.registry.write.revokeWorker([worker.address]))
    await expectRevert(kms.registry.write.revokeWorker([worker.address]), 'WorkerIsRevoked', [worker.address])
    await expectRevert(kms.registry.write.approveWorker([worker.address]), 'WorkerNotPending', [
      worker.address,
      WorkerStatus.Revoked,
    ])
    await expectRevert(
      worker.ledger.registry.write.updateEndpoint(['https://new.example.org']),
      'WorkerIsRevoked',
      [worker.address],
    )
    await expectRevert(owner.registry.write.addClusterMember([cluster, worker.address]), 'WorkerIsRevoked', [
      worker.address,
    ])
    await expectRevert(register(worker), 'WorkerAlreadyRegistered', [worker.address])
    expect((await owner.registry.read.getWorker([worker.address])).status).toBe(WorkerStatus.Revoked)
  })
})

describe('updateEndpoint', () => {
  it('lets a pending or active worker announce a new endpoint', async () => {
    const worker = await registeredWorker()
    const { events } = await mined(worker.ledger.registry.write.updateEndpoint(['https://moved.example.org']))
    expect(events).toMatchObject([
      {
        eventName: 'WorkerEndpointUpdated',
        args: { worker: worker.address, endpoint: 'https://moved.example.org' },
      },
    ])
    expect((await owner.registry.read.getWorker([worker.address])).endpoint).toBe('https://moved.example.org')

    await mined(kms.registry.write.approveWorker([worker.address]))
    await mined(worker.ledger.registry.write.updateEndpoint(['http://10.0.0.7:7000']))
    const stored = await owner.registry.read.getWorker([worker.address])
    expect(stored.endpoint).toBe('http://10.0.0.7:7000')
    expect(stored.status).toBe(WorkerStatus.Active)
  })

  it('refuses unregistered callers and invalid endpoints', async () => {
    await expectRevert(stranger.registry.write.updateEndpoint(['https://x.example.org']), 'UnknownWorker', [
      strangerAddress,
    ])
    const worker = await registeredWorker()
    await expectRevert(worker.ledger.registry.write.updateEndpoint(['']), 'InvalidEndpoint', [0n])
    await expectRevert(worker.ledger.registry.write.updateEndpoint(['e'.repeat(257)]), 'InvalidEndpoint', [
      257n,
    ])
  })
})

describe('measurements', () => {
  it('emits only when the allowlist changes', async () => {
    expect(await owner.registry.read.measurementAllowed([OTHER_MEASUREMENT])).toBe(false)
    const allowed = await mined(owner.registry.write.allowMeasurement([OTHER_MEASUREMENT]))
    expect(allowed.events).toMatchObject([
      { eventName: 'MeasurementAllowed', args: { measurement: OTHER_MEASUREMENT } },
    ])
    expect(await owner.registry.read.measurementAllowed([OTHER_MEASUREMENT])).toBe(true)
    expect((await mined(owner.registry.write.allowMeasurement([OTHER_MEASUREMENT]))).events).toEqual([])

    const disallowed = await mined(owner.registry.write.disallowMeasurement([OTHER_MEASUREMENT]))
    expect(disallowed.events).toMatchObject([
      { eventName: 'MeasurementDisallowed', args: { measurement: OTHER_MEASUREMENT } },
    ])
    expect(await owner.registry.read.measurementAllowed([OTHER_MEASUREMENT])).toBe(false)
    expect((await mined(owner.registry.write.disallowMeasurement([OTHER_MEASUREMENT]))).events).toEqual([])
  })

  it('is reserved to the owner', async () => {
    await expectRevert(
      stranger.registry.write.allowMeasurement([OTHER_MEASUREMENT]),
      'OwnableUnauthorizedAccount',
      [strangerAddress],
    )
    await expectRevert(kms.registry.write.disallowMeasurement([MEASUREMENT]), 'OwnableUnauthorizedAccount', [
      kmsAddress,
    ])
    expect(await owner.registry.read.measurementAllowed([MEASUREMENT])).toBe(true)
  })
})

describe('KMS signers', () => {
  it('adds and removes signers, emitting only on change', async () => {
    const signer = t.as(3).account.address
    const added = await mined(owner.registry.write.addKmsSigner([signer]))
    expect(added.events).toMatchObject([{ eventName: 'KmsSignerAdded', args: { signer } }])
    expect(await owner.registry.read.isKmsSigner([signer])).toBe(true)
    expect(await owner.registry.read.kmsSigners()).toEqual([kmsAddress, signer])
    expect((await mined(owner.registry.write.addKmsSigner([signer]))).events).toEqual([])

    const worker = await registeredWorker()
    await mined(t.as(3).ledger.registry.write.approveWorker([worker.address]))

    const removed = await mined(owner.registry.write.removeKmsSigner([signer]))
    expect(removed.events).toMatchObject([{ eventName: 'KmsSignerRemoved', args: { signer } }])
    expect(await owner.registry.read.isKmsSigner([signer])).toBe(false)
    expect(await owner.registry.read.kmsSigners()).toEqual([kmsAddress])
    expect((await mined(owner.registry.write.removeKmsSigner([signer]))).events).toEqual([])

    const next = await registeredWorker()
    await expectRevert(t.as(3).ledger.registry.write.approveWorker([next.address]), 'NotKmsSigner', [signer])
  })

  it('refuses the zero address and non-owners', async () => {
    await expectRevert(owner.registry.write.addKmsSigner([zeroAddress]), 'InvalidAddress', [])
    await expectRevert(
      stranger.registry.write.addKmsSigner([strangerAddress]),
      'OwnableUnauthorizedAccount',
      [strangerAddress],
    )
    // A KMS signer cannot manage the signer set either.
    await expectRevert(kms.registry.write.removeKmsSigner([kmsAddress]), 'OwnableUnauthorizedAccount', [
      kmsAddress,
    ])
    expect(await owner.registry.read.kmsSigners()).toEqual([kmsAddress])
  })
})

describe('clusters', () => {
  it('creates numbered clusters', async () => {
    expect(await owner.registry.read.clusterCount()).toBe(0n)
    const { result } = await owner.registry.simulate.createCluster({ account: ownerAddress })
    expect(result).toBe(1n)
    const { events } = await mined(owner.registry.write.createCluster())
    expect(events).toMatchObject([{ eventName: 'ClusterCreated', args: { cluster: 1n } }])
    expect(await createCluster()).toBe(2n)
    expect(await owner.registry.read.clusterCount()).toBe(2n)
    expect(await owner.registry.read.clusterExists([0n])).toBe(false)
    expect(await owner.registry.read.clusterExists([2n])).toBe(true)
    expect(await owner.registry.read.clusterExists([3n])).toBe(false)
  })

  it('adds and removes members', async () => {
    const cluster = await createCluster()
    const a = await activeWorker()
    const b = await registeredWorker()
    const added = await mined(owner.registry.write.addClusterMember([cluster, a.address]))
    expect(added.events).toMatchObject([
      { eventName: 'ClusterMemberAdded', args: { cluster, worker: a.address } },
    ])
    // A pending worker may join; it only counts as an active member once approved.
    await mined(owner.registry.write.addClusterMember([cluster, b.address]))
    expect(await owner.registry.read.clusterMembers([cluster])).toEqual([a.address, b.address])
    expect((await owner.registry.read.getWorker([a.address])).cluster).toBe(cluster)
    expect(await owner.registry.read.isActiveMember([cluster, a.address])).toBe(true)
    expect(await owner.registry.read.isActiveMember([cluster, b.address])).toBe(false)
    await mined(kms.registry.write.approveWorker([b.address]))
    expect(await owner.registry.read.isActiveMember([cluster, b.address])).toBe(true)

    const removed = await mined(owner.registry.write.removeClusterMember([cluster, a.address]))
    expect(removed.events).toMatchObject([
      { eventName: 'ClusterMemberRemoved', args: { cluster, worker: a.address } },
    ])
    expect(await owner.registry.read.clusterMembers([cluster])).toEqual([b.address])
    expect((await owner.registry.read.getWorker([a.address])).cluster).toBe(0n)
    expect(await owner.registry.read.isActiveMember([cluster, a.address])).toBe(false)

    // Once out, it may join another cluster; a KMS signer may assign it too, nobody else.
    const other = await createCluster()
    await expectRevert(a.ledger.registry.write.addClusterMember([other, a.address]), 'NotOwnerOrKmsSigner', [
      a.address,
    ])
    await mined(kms.registry.write.addClusterMember([other, a.address]))
    expect(await owner.registry.read.isActiveMember([other, a.address])).toBe(true)
  })

  it('keeps a worker in one cluster at a time', async () => {
    const first = await createCluster()
    const second = await createCluster()
    const worker = await activeWorker()
    await mined(owner.registry.write.addClusterMember([first, worker.address]))
    await expectRevert(owner.registry.write.addClusterMember([second, worker.address]), 'WorkerInCluster', [
      worker.address,
      first,
    ])
    await expectRevert(owner.registry.write.addClusterMember([first, worker.address]), 'WorkerInCluster', [
      worker.address,
      first,
    ])
    await expectRevert(
      owner.registry.write.removeClusterMember([second, worker.address]),
      'NotClusterMember',
      [second, worker.address],
    )
    expect(await owner.registry.read.clusterMembers([first])).toEqual([worker.address])
  })

  it('refuses unknown clusters, unknown and revoked workers, and non-members', async () => {
    const cluster = await createCluster()
    const worker = await activeWorker()
    await expectRevert(owner.registry.write.addClusterMember([0n, worker.address]), 'UnknownCluster', [0n])
    await expectRevert(owner.registry.write.addClusterMember([2n, worker.address]), 'UnknownCluster', [2n])
    const unknown = await newWorker()
    await expectRevert(owner.registry.write.addClusterMember([cluster, unknown.address]), 'UnknownWorker', [
      unknown.address,
    ])
    await mined(owner.registry.write.revokeWorker([worker.address]))
    await expectRevert(owner.registry.write.addClusterMember([cluster, worker.address]), 'WorkerIsRevoked', [
      worker.address,
    ])
    await expectRevert(
      owner.registry.write.removeClusterMember([cluster, unknown.address]),
      'NotClusterMember',
      [cluster, unknown.address],
    )
  })

  it('is reserved to the owner (membership: to the owner and KMS signers)', async () => {
    const cluster = await createCluster()
    const worker = await activeWorker()
    await expectRevert(stranger.registry.write.createCluster(), 'OwnableUnauthorizedAccount', [
      strangerAddress,
    ])
    await expectRevert(kms.registry.write.createCluster(), 'OwnableUnauthorizedAccount', [kmsAddress])
    await expectRevert(
      stranger.registry.write.addClusterMember([cluster, worker.address]),
      'NotOwnerOrKmsSigner',
      [strangerAddress],
    )
    await mined(owner.registry.write.addClusterMember([cluster, worker.address]))
    await expectRevert(
      worker.ledger.registry.write.removeClusterMember([cluster, worker.address]),
      'OwnableUnauthorizedAccount',
      [worker.address],
    )
    expect(await owner.registry.read.clusterMembers([cluster])).toEqual([worker.address])
  })

  it('isActiveMember never matches cluster 0', async () => {
    const worker = await activeWorker()
    // Not in a cluster, so its stored cluster is 0; that must not read as membership of "cluster 0".
    expect((await owner.registry.read.getWorker([worker.address])).cluster).toBe(0n)
    expect(await owner.registry.read.isActiveMember([0n, worker.address])).toBe(false)
  })
})

describe('workers()', () => {
  it('pages through workers in registration order', async () => {
    const registered: Address[] = []
    for (let i = 0; i < 5; i++) registered.push((await registeredWorker()).address)
    expect(await owner.registry.read.workerCount()).toBe(5n)
    expect(await owner.registry.read.workers([0n, 2n])).toEqual(registered.slice(0, 2))
    expect(await owner.registry.read.workers([2n, 2n])).toEqual(registered.slice(2, 4))
    expect(await owner.registry.read.workers([4n, 2n])).toEqual(registered.slice(4))
    expect(await owner.registry.read.workers([5n, 2n])).toEqual([])
    expect(await owner.registry.read.workers([0n, 0n])).toEqual([])
    expect(await owner.registry.read.workers([0n, 100n])).toEqual(registered)
    // "Everything from here on" must not overflow offset + limit.
    expect(await owner.registry.read.workers([1n, maxUint256])).toEqual(registered.slice(1))
    expect(await owner.registry.read.workers([maxUint256, maxUint256])).toEqual([])
  })

  it('keeps revoked workers listed, with their status', async () => {
    const worker = await registeredWorker()
    await mined(owner.registry.write.revokeWorker([worker.address]))
    expect(await owner.registry.read.workers([0n, 10n])).toEqual([worker.address])
  })
})

describe('dev mode', () => {
  it('can be turned off once, by the owner only', async () => {
    expect(await owner.registry.read.devMode()).toBe(true)
    await expectRevert(stranger.registry.write.disableDevMode(), 'OwnableUnauthorizedAccount', [
      strangerAddress,
    ])
    const { events } = await mined(owner.registry.write.disableDevMode())
    expect(events).toMatchObject([{ eventName: 'DevModeDisabled', args: {} }])
    expect(await owner.registry.read.devMode()).toBe(false)
    await expectRevert(owner.registry.write.disableDevMode(), 'DevModeAlreadyDisabled', [])
  })

  it('is off for good on a production deployment', async () => {
    const { walletClient } = t.as(0)
    const production = await deployLedger({ publicClient: t.publicClient, walletClient, devMode: false })
    const ledger = getLedger({ publicClient: t.publicClient, walletClient, addresses: production.addresses })
    expect(await ledger.registry.read.devMode()).toBe(false)
    await expectRevert(ledger.registry.write.disableDevMode(), 'DevModeAlreadyDisabled', [])
  })
})

describe('registry ownership', () => {
  it('moves in two steps', async () => {
    const next = t.as(4)
    const started = await mined(owner.registry.write.transferOwnership([next.account.address]))
    expect(started.events).toMatchObject([
      {
        eventName: 'OwnershipTransferStarted',
        args: { previousOwner: ownerAddress, newOwner: next.account.address },
      },
    ])
    expect(await owner.registry.read.owner()).toBe(ownerAddress)
    expect(await owner.registry.read.pendingOwner()).toBe(next.account.address)
    await expectRevert(stranger.registry.write.acceptOwnership(), 'OwnableUnauthorizedAccount', [
      strangerAddress,
    ])

    const accepted = await mined(next.ledger.registry.write.acceptOwnership())
    expect(accepted.events).toMatchObject([
      {
        eventName: 'OwnershipTransferred',
        args: { previousOwner: ownerAddress, newOwner: next.account.address },
      },
    ])
    expect(await owner.registry.read.owner()).toBe(next.account.address)
    await mined(next.ledger.registry.write.createCluster())
    await expectRevert(owner.registry.write.createCluster(), 'OwnableUnauthorizedAccount', [ownerAddress])
  })

  it('is reserved to the owner', async () => {
    await expectRevert(
      stranger.registry.write.transferOwnership([strangerAddress]),
      'OwnableUnauthorizedAccount',
      [strangerAddress],
    )
    await expectRevert(
      stranger.registry.read.renounceOwnership({ account: strangerAddress }),
      'OwnableUnauthorizedAccount',
      [strangerAddress],
    )
  })

  it('cannot be renounced, which would freeze every owner-only setting', async () => {
    await expectRevert(
      owner.registry.read.renounceOwnership({ account: ownerAddress }),
      'RenounceDisabled',
      [],
    )
    expect(await owner.registry.read.owner()).toBe(ownerAddress)
  })
})
