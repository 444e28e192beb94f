import { describe, expect, it } from 'vitest'
import { collateralToJson, parseCollateral } from './collateral.js'
import { DcapError } from './errors.js'
import { loadDcapCases } from './test-fixtures.js'

const [first] = loadDcapCases()
if (first === undefined) throw new Error('no DCAP test case')
const json = first.collateralJson

function errorOf(value: unknown): DcapError {
  try {
    parseCollateral(value)
  } catch (error) {
    if (error instanceof DcapError) return error
    throw error
  }
  throw new Error('parseCollateral accepted it')
}

describe('parseCollateral', () => {
  it('reads collateral.json as an object or as text, and round-trips', () => {
    const fromObject = parseCollateral(json)
    const fromText = parseCollateral(JSON.stringify(json))
    expect(fromText).toEqual(fromObject)
    expect(fromObject.tcbInfoSignature.length).toBe(64)
    expect(fromObject.tcbInfo).toBe(json.tcb_info)
    expect(collateralToJson(fromObject)).toEqual(json)
  })

  it('rejects garbage with COLLATERAL_MALFORMED and says which field is wrong', () => {
    const cases: Array<[unknown, RegExp]> = [
      [null, /expected a JSON object/],
      [42, /expected a JSON object/],
      [[json], /expected a JSON object/],
      ['{not json', /not valid JSON/],
      [{}, /pck_crl_issuer_chain/],
      [{ ...json, root_ca_crl: 'zz' }, /root_ca_crl: expected hex/],
      [{ ...json, pck_crl: 12 }, /pck_crl: expected a non-empty string/],
      [{ ...json, tcb_info: '' }, /tcb_info: expected a non-empty string/],
      [{ ...json, tcb_info_signature: 'abcd' }, /tcb_info_signature: expected 64 bytes/],
      [
        { ...json, qe_identity_signature: `${json.qe_identity_signature}00` },
        /qe_identity_signature: expected 64 bytes/,
      ],
    ]
    for (const [value, details] of cases) {
      const error = errorOf(value)
      expect(error.code).toBe('COLLATERAL_MALFORMED')
      expect(error.details).toMatch(details)
    }
  })

  it('accepts 0x-prefixed hex', () => {
    const collateral = parseCollateral({ ...json, pck_crl: `0x${json.pck_crl}` })
    expect(Buffer.from(collateral.pckCrl).toString('hex')).toBe(json.pck_crl)
  })
})
