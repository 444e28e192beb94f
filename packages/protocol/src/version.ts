/** The Veil release: the CLI, the runtime and the development worker measurement all report it. */
export const VEIL_VERSION = '0.1.0'
