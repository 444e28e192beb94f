/** The heartbeat/score schedule against a scripted chain (the contracts themselves are tested in @veil/ledger). */
import { silentLogger } from '@veil/protocol'
import { describe, expect, it } from 'vitest'
import { type MiningChain, MiningService } from './mining.js'

function scriptedChain() {
  const calls: string[] = []
  let epoch = 5n
  let last: bigint | undefined
  let refuseHeartbeats = 0
  const chain: MiningChain = {
    epochSeconds: async () => 1,
    currentEpoch: async () => epoch,
    lastHeartbeat: async () => last,
    heartbeat: async () => {
      if (refuseHeartbeats > 0) {
        refuseHeartbeats--
        throw new Error('execution reverted: NotBound')
      }
      calls.push(`heartbeat ${epoch}`)
      last = epoch
      return '0x01'
    },
    submitScore: async (score) => {
      calls.push(`score ${score}`)
      return '0x02'
    },
  }
  return {
    chain,
    calls,
    advance: () => {
      epoch++
    },
    refuse: (n: number) => {
      refuseHeartbeats = n
    },
  }
}

const benchmark = async () => ({ score: 900, roundsPerSecond: 300, fuelPerRound: 1, digest: 'x', ms: 1 })
const until = async (check: () => boolean) => {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 20))
}

describe('MiningService', () => {
  it('scores once, then heartbeats once per epoch, and rescores after rescoreEpochs', async () => {
    const script = scriptedChain()
    const service = new MiningService({
      chain: script.chain,
      benchmark,
      logger: silentLogger,
      rescoreEpochs: 2,
    })
    await service.start()
    await until(() => script.calls.length >= 2)
    expect(script.calls).toEqual(['score 900', 'heartbeat 5'])
    await new Promise((resolve) => setTimeout(resolve, 600)) // more looks in the same epoch: nothing sent
    expect(script.calls).toHaveLength(2)
    script.advance()
    await until(() => script.calls.length >= 3)
    script.advance()
    await until(() => script.calls.length >= 5)
    await service.stop()
    expect(script.calls).toEqual(['score 900', 'heartbeat 5', 'heartbeat 6', 'score 900', 'heartbeat 7'])
    expect(service.score).toBe(900)
  })

  it('starts even when the chain cannot be read (an outage is not the worker’s failure)', async () => {
    const script = scriptedChain()
    const chain: MiningChain = {
      ...script.chain,
      epochSeconds: async () => {
        throw new Error('connect ECONNREFUSED')
      },
      currentEpoch: async () => {
        throw new Error('connect ECONNREFUSED')
      },
    }
    const service = new MiningService({ chain, benchmark, logger: silentLogger })
    await service.start()
    await service.stop()
    expect(script.calls).toEqual([])
  })

  it('keeps going when a heartbeat is refused, and never throws out of the loop', async () => {
    const script = scriptedChain()
    script.refuse(2)
    const infos: string[] = []
    const logger = {
      ...silentLogger,
      info: (message: string) => infos.push(message),
      forComponent: () => logger,
    }
    const service = new MiningService({ chain: script.chain, benchmark, logger })
    await service.start()
    await until(() => script.calls.includes('heartbeat 5'))
    await service.stop()
    expect(script.calls).toEqual(['score 900', 'heartbeat 5'])
    expect(infos.filter((m) => m.includes('refused'))).toEqual([
      'mining: heartbeat refused (retrying; logged once per epoch)',
    ])
  })
})
