/**
 * Test support: state stores in a fresh temporary directory per test, closed and deleted after it.
 * Registers vitest hooks, so call it at the top of a test file (not from the crash test's child process).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach } from 'vitest'
import { StateStore, type StateStoreOptions } from './store.js'
import { testSecrets } from './testing.js'

export interface TempStores {
  /** This test's directory. */
  readonly dir: string
  /** Opens a store in `dir` (dev test secrets unless given), closed after the test. */
  open(options?: Partial<StateStoreOptions>): StateStore
  /** Closes `store` after the test too. */
  track(store: StateStore): StateStore
  /** Closes `store` now and stops tracking it. */
  close(store: StateStore): Promise<void>
  /** Closes `store` and opens `dir` again. */
  reopen(store: StateStore, options?: Partial<StateStoreOptions>): Promise<StateStore>
}

export function useTempStores(prefix = 'veil-state-'): TempStores {
  let dir = ''
  let opened: StateStore[] = []
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix))
  })
  afterEach(async () => {
    await Promise.all(opened.map((store) => store.close()))
    opened = []
    rmSync(dir, { recursive: true, force: true })
  })
  const stores: TempStores = {
    get dir() {
      return dir
    },
    open: (options = {}) => stores.track(StateStore.open({ path: dir, secrets: testSecrets(), ...options })),
    track: (store) => {
      opened.push(store)
      return store
    },
    close: async (store) => {
      opened = opened.filter((s) => s !== store)
      await store.close()
    },
    reopen: async (store, options = {}) => {
      await stores.close(store)
      return stores.open(options)
    },
  }
  return stores
}
