import { fileURLToPath } from 'node:url'
import { createContext, runInContext } from 'node:vm'
import { buildContract } from '@veil/contract/build'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient } from './node.js'
import { CLIENT_ACCOUNT, CONTRACTS, startSdkCluster, type TestCluster } from './test-support/cluster.js'

const SDK_DIR = fileURLToPath(new URL('..', import.meta.url))

/** Bundles `@veil/sdk` the way a web app's bundler would: platform browser, the package's browser entry. */
async function bundleForBrowser() {
  return build({
    stdin: {
      contents: "export * from '@veil/sdk'",
      resolveDir: SDK_DIR,
      loader: 'ts',
    },
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'VeilSDK',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  })
}

/**
 * WebCrypto for a `vm` context. A browser page has one realm; a vm context has its own intrinsics while
 * the web globals we hand it come from Node's realm, and Node's WebCrypto refuses ArrayBuffers created
 * in another realm ("not instance of ArrayBuffer"). This hands SubtleCrypto views over the same bytes
 * instead; it changes nothing else.
 */
function realmBridgedCrypto(): Crypto {
  const { subtle } = globalThis.crypto
  const isForeignBuffer = (value: unknown) =>
    Object.prototype.toString.call(value) === '[object ArrayBuffer]' && !(value instanceof ArrayBuffer)
  // Buffers appear as arguments and as members of algorithm dictionaries ({ name, iv, salt, info, … }).
  const bridge = (value: unknown): unknown => {
    if (isForeignBuffer(value)) return new Uint8Array(value as ArrayBuffer)
    if (
      typeof value === 'object' &&
      value !== null &&
      Object.getPrototypeOf(value)?.constructor?.name === 'Object'
    ) {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, isForeignBuffer(v) ? new Uint8Array(v as ArrayBuffer) : v]),
      )
    }
    return value
  }
  const bridgedSubtle = new Proxy(subtle, {
    get(target, property) {
      const member: unknown = Reflect.get(target, property, target)
      return typeof member === 'function'
        ? (...args: unknown[]) => (member as (...a: unknown[]) => unknown).apply(target, args.map(bridge))
        : member
    },
  })
  return {
    subtle: bridgedSubtle,
    getRandomValues: globalThis.crypto.getRandomValues.bind(globalThis.crypto),
    randomUUID: globalThis.crypto.randomUUID.bind(globalThis.crypto),
  }
}

describe('the SDK in a browser', () => {
  let cluster: TestCluster
  let contractId: bigint

  beforeAll(async () => {
    cluster = await startSdkCluster(1)
    const client = createClient({ network: cluster.network, account: CLIENT_ACCOUNT })
    const bundle = await buildContract({ entry: CONTRACTS.counter })
    contractId = (await client.deploy(bundle.code, { init: { start: 41 } })).contractId
    await client.contract(contractId).send('add', [1])
  }, 120_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('bundles for platform browser without Node modules', async () => {
    const result = await bundleForBrowser()
    const inputs = Object.keys(result.metafile.inputs)
    expect(inputs.some((path) => path.endsWith('packages/sdk/src/index.ts'))).toBe(true)
    expect(inputs.some((path) => path.endsWith('packages/sdk/src/node.ts'))).toBe(false)
    for (const path of inputs) {
      expect(path).not.toMatch(/^node:|\/node_modules\/ws\/|anvil\.ts$|hpke-node\.ts$/)
    }
    const text = result.outputFiles[0]?.text ?? ''
    expect(text).not.toMatch(/\brequire\(["']/)
  })

  it('runs a real, signed query from a context that has only web globals', async () => {
    const result = await bundleForBrowser()
    const code = result.outputFiles[0]?.text ?? ''
    // Only what a browser page offers: no process, Buffer, require, or Node's crypto module.
    const context = createContext({
      fetch,
      Headers,
      Request,
      Response,
      crypto: realmBridgedCrypto(),
      WebSocket,
      TextEncoder,
      TextDecoder,
      URL,
      setTimeout,
      clearTimeout,
      AbortController,
      AbortSignal,
    })
    // Same realm bridging for TextEncoder: a browser's returns its own realm's Uint8Array.
    runInContext(
      `{
        const OuterTextEncoder = TextEncoder
        globalThis.TextEncoder = class TextEncoder {
          get encoding() { return 'utf-8' }
          encode(input = '') { return Uint8Array.from(new OuterTextEncoder().encode(input)) }
        }
      }`,
      context,
    )
    runInContext(code, context, { filename: 'veil-sdk.browser.js' })
    const answer = (await runInContext(
      `(async () => {
        if (typeof process !== 'undefined' || typeof require !== 'undefined' || typeof Buffer !== 'undefined') {
          throw new Error('Node globals leaked into the browser context')
        }
        const client = VeilSDK.createClient({ network: ${JSON.stringify(cluster.network)} })
        const answer = await client.query({ contractId: ${contractId}n, method: 'get' })
        return { ok: answer.ok, result: answer.result, signatureValid: answer.signatureValid, block: String(answer.block), worker: answer.worker.address }
      })()`,
      context,
    )) as { ok: boolean; result: unknown; signatureValid: boolean; block: string; worker: string }
    expect(answer).toMatchObject({ ok: true, result: 42, signatureValid: true })
    expect(answer.worker).toBe(cluster.workers[0]?.worker.address)
    expect(BigInt(answer.block)).toBeGreaterThan(0n)
  })
})
