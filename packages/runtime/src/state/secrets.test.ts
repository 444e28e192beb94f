import { deriveClusterSecret, deriveContractSecret, KeyDerivationInputError } from '@veil/crypto'
import { describe, expect, it } from 'vitest'
import { StateArgumentError } from './errors.js'
import { ClusterContractSecrets, DevContractSecrets } from './secrets.js'

const master = Uint8Array.from({ length: 32 }, (_, i) => 255 - i)

describe('contract secrets', () => {
  it('DevContractSecrets walks the same tree as the KMS (master → cluster → contract)', () => {
    const dev = new DevContractSecrets({ devMasterSecret: master, clusterId: '3' })
    expect(dev.developmentOnly).toBe(true)
    expect(dev.contractSecret('42')).toEqual(deriveContractSecret(deriveClusterSecret(master, '3'), '42'))
  })

  it('ClusterContractSecrets derives from a provisioned cluster secret', () => {
    const cluster = deriveClusterSecret(master, '3')
    const secrets = new ClusterContractSecrets(cluster)
    expect(secrets.developmentOnly).toBe(false)
    expect(secrets.contractSecret('42')).toEqual(
      new DevContractSecrets({ devMasterSecret: master, clusterId: '3' }).contractSecret('42'),
    )
    // It keeps its own copy of the secret.
    cluster.fill(0)
    expect(secrets.contractSecret('42')).toEqual(deriveContractSecret(deriveClusterSecret(master, '3'), '42'))
  })

  it('rejects malformed secrets and ids, naming them', () => {
    expect(() => new ClusterContractSecrets(new Uint8Array(31))).toThrow(StateArgumentError)
    expect(() => new DevContractSecrets({ devMasterSecret: new Uint8Array(8), clusterId: '1' })).toThrow(
      /masterSecret/,
    )
    expect(() => new DevContractSecrets({ devMasterSecret: master, clusterId: '' })).toThrow(
      KeyDerivationInputError,
    )
    expect(() => new ClusterContractSecrets(master).contractSecret('a/b')).toThrow(/contractId/)
  })
})
