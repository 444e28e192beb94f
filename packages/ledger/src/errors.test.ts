import { BaseError, ContractFunctionRevertedError, encodeErrorResult } from 'viem'
import { describe, expect, it } from 'vitest'
import { Contracts, Registry } from './artifacts/index.js'
import { explainLedgerError, LedgerError } from './errors.js'

const SIGNER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'

describe('explainLedgerError', () => {
  it('names a custom-error revert with its arguments and a hint', () => {
    const reverted = new ContractFunctionRevertedError({
      abi: Registry.abi,
      data: encodeErrorResult({ abi: Registry.abi, errorName: 'NotKmsSigner', args: [SIGNER] }),
      functionName: 'approveWorker',
    })
    const error = explainLedgerError(
      new BaseError('call failed', { cause: reverted }),
      'approving the worker',
    )
    expect(error).toBeInstanceOf(LedgerError)
    expect(error.code).toBe('LEDGER_REVERT')
    expect(error.errorName).toBe('NotKmsSigner')
    expect(error.errorArgs).toEqual([SIGNER])
    expect(error.shortMessage).toBe(`approving the worker reverted: NotKmsSigner(${SIGNER})`)
    expect(error.hint).toContain('addKmsSigner')
    expect(error.cause).toBeInstanceOf(BaseError)
  })

  it('renders bigint arguments', () => {
    const reverted = new ContractFunctionRevertedError({
      abi: Contracts.abi,
      data: encodeErrorResult({ abi: Contracts.abi, errorName: 'CodeTooLarge', args: [524_289n, 524_288n] }),
      functionName: 'uploadCode',
    })
    const error = explainLedgerError(reverted)
    expect(error.shortMessage).toBe('ledger call reverted: CodeTooLarge(524289, 524288)')
    expect(error.hint).toContain('512 KiB')
  })

  it('wraps failures that are not reverts', () => {
    const transport = explainLedgerError(new BaseError('HTTP request failed'), 'reading the registry')
    expect(transport.code).toBe('LEDGER_CALL_FAILED')
    expect(transport.errorName).toBeUndefined()
    expect(transport.shortMessage).toBe('reading the registry failed: HTTP request failed')
    expect(explainLedgerError(new Error('boom')).shortMessage).toBe('ledger call failed: boom')
    expect(explainLedgerError('text').shortMessage).toBe('ledger call failed: text')
  })

  it('passes a LedgerError through unchanged', () => {
    const original = new LedgerError('already explained', { code: 'LEDGER_REVERT', errorName: 'EmptyCode' })
    expect(explainLedgerError(original)).toBe(original)
  })
})
