import packageJson from '../package.json' with { type: 'json' }

/** The CLI's version, from its package.json (inlined when the CLI is bundled). */
export const version: string = packageJson.version
